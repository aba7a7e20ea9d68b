import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gfMul } from '../../../src/archive/par2/math/gf16.js';
import type { Par2RecoverySlice } from '../../../src/archive/par2/read.js';
import { recoveryCoefficient, sourceConstantLogs } from '../../../src/archive/par2/math/rs-matrix.js';
import { chooseRecoverySlices, repairCoefficients } from '../../../src/archive/par2/solve.js';

const slice = (exponent: number): Par2RecoverySlice => ({ exponent, path: 'x', dataOffset: 0 });

describe('chooseRecoverySlices', () => {
  it('takes the first slices when they determine the lost ones', () => {
    const logs = sourceConstantLogs(10);
    const s = chooseRecoverySlices([logs[2]!, logs[7]!], [slice(0), slice(1), slice(2)])!;
    expect(s.slices.map((x) => x.exponent)).toEqual([0, 1]);
  });

  it('skips a slice whose equation repeats another (exponent 65535 ≡ 0)', () => {
    // c^65535 = 1 = c^0 for every constant: those two rows are equal, so the system is singular.
    const logs = sourceConstantLogs(10);
    const s = chooseRecoverySlices([logs[0]!, logs[1]!], [slice(0), slice(65535), slice(1)])!;
    expect(s.slices.map((x) => x.exponent)).toEqual([0, 1]);
    expect(chooseRecoverySlices([logs[0]!, logs[1]!], [slice(0), slice(65535)])).toBeUndefined();
    expect(chooseRecoverySlices([logs[0]!, logs[1]!], [slice(0)])).toBeUndefined();
  });
});

describe('repairCoefficients', () => {
  it('equals A⁻¹ times the recovery rows, computed plainly', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { minLength: 6, maxLength: 10 }),
        (lost, exponents) => {
          const logs = sourceConstantLogs(40);
          const solution = chooseRecoverySlices(lost.map((i) => logs[i]!), exponents.map(slice))!;
          const m = lost.length;
          const survivors = [...Array(40).keys()].filter((i) => !lost.includes(i));
          const fill = repairCoefficients(solution, survivors.map((i) => logs[i]!));
          const total = survivors.length + m;
          const dest = new Uint16Array(m * total);
          fill(0, total, dest);
          for (let k = 0; k < m; k++) {
            survivors.forEach((i, t) => {
              let want = 0;
              solution.slices.forEach((s, r) => (want ^= gfMul(solution.inverse[k * m + r]!, recoveryCoefficient(logs[i]!, s.exponent))));
              expect(dest[k * total + t]).toBe(want);
            });
            for (let r = 0; r < m; r++) expect(dest[k * total + survivors.length + r]).toBe(solution.inverse[k * m + r]);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});
