import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gfMul, gfPow } from '../../../src/archive/par2/math/gf16.js';
import { invertMatrix, MAX_SOURCE_BLOCKS, recoveryCoefficient, sourceConstantLogs } from '../../../src/archive/par2/math/rs-matrix.js';

describe('PAR 2.0 Reed-Solomon constants', () => {
  it('uses the powers of 2 whose exponent shares no factor with 65535', () => {
    expect([...sourceConstantLogs(12)]).toEqual([1, 2, 4, 7, 8, 11, 13, 14, 16, 19, 22, 23]);
    const all = sourceConstantLogs(MAX_SOURCE_BLOCKS);
    expect(all.length).toBe(32768);
    expect(all.every((k) => k % 3 !== 0 && k % 5 !== 0 && k % 17 !== 0 && k % 257 !== 0)).toBe(true);
    expect(new Set(all).size).toBe(32768);
    expect(() => sourceConstantLogs(MAX_SOURCE_BLOCKS + 1)).toThrow(RangeError);
  });

  it('coefficient of source i in recovery e is c_i^e', () => {
    const logs = sourceConstantLogs(5);
    for (let i = 0; i < 5; i++) {
      const c = gfPow(2, logs[i]!);
      for (const e of [0, 1, 2, 7, 300]) expect(recoveryCoefficient(logs[i]!, e)).toBe(gfPow(c, e));
    }
  });
});

describe('invertMatrix', () => {
  const multiply = (a: Uint16Array, b: Uint16Array, n: number): Uint16Array => {
    const out = new Uint16Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc ^= gfMul(a[i * n + k]!, b[k * n + j]!);
        out[i * n + j] = acc;
      }
    return out;
  };

  it('inverts the PAR 2.0 matrix for any lost slices and recovery exponents', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 199 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 50 }),
        (lost, firstExponent) => {
          const n = lost.length;
          const logs = sourceConstantLogs(200);
          const a = new Uint16Array(n * n);
          for (let r = 0; r < n; r++)
            for (let k = 0; k < n; k++) a[r * n + k] = recoveryCoefficient(logs[lost[k]!]!, firstExponent + r);
          const inv = invertMatrix(a, n);
          expect(inv).toBeDefined();
          const id = multiply(a, inv!, n);
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(id[i * n + j]).toBe(i === j ? 1 : 0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reports a singular matrix', () => {
    expect(invertMatrix(Uint16Array.from([1, 2, 1, 2]), 2)).toBeUndefined();
  });
});
