/**
 * Chooses which recovery slices a repair uses and solves for the lost slices.
 *
 * Any m recovery slices give m equations in the m lost slices, with matrix
 * A[r][k] = c_{D_k}^e_r. For exponents 0..m-1 this is a Vandermonde matrix of
 * distinct constants, always invertible; with gaps in the exponents (some
 * recovery slices lost) it can, rarely, be singular. So the first m slices
 * are tried, and if that fails slices are picked greedily, keeping each one
 * whose row is independent of those already kept.
 */

import { GF16_EXP, GF16_LOG, GF16_ORDER, gfDiv, gfMul } from './math/gf16.js';
import type { Par2RecoverySlice } from './read.js';
import { invertMatrix, recoveryCoefficient } from './math/rs-matrix.js';

export interface RecoverySolution {
  slices: Par2RecoverySlice[];
  /** A⁻¹, m×m row-major: lost slice k = Σ_r inverse[k·m + r] · (equation r). */
  inverse: Uint16Array;
}

function row(missingLogs: number[], exponent: number): Uint16Array {
  return Uint16Array.from(missingLogs, (log) => recoveryCoefficient(log, exponent));
}

/** Returns undefined when the available slices cannot determine the lost ones. */
export function chooseRecoverySlices(missingLogs: number[], available: Par2RecoverySlice[]): RecoverySolution | undefined {
  const m = missingLogs.length;
  if (available.length < m) return undefined;
  const first = available.slice(0, m);
  const inverse = invertFor(missingLogs, first);
  if (inverse !== undefined) return { slices: first, inverse };

  // Greedy: reduce each candidate row against the kept ones (echelon form).
  const kept: Par2RecoverySlice[] = [];
  const basis: { pivot: number; row: Uint16Array }[] = [];
  for (const slice of available) {
    const v = row(missingLogs, slice.exponent);
    for (const b of basis) {
      const f = v[b.pivot]!;
      if (f !== 0) for (let c = 0; c < m; c++) v[c] = v[c]! ^ gfMul(f, b.row[c]!);
    }
    const pivot = v.findIndex((x) => x !== 0);
    if (pivot < 0) continue;
    const scale = gfDiv(1, v[pivot]!);
    for (let c = 0; c < m; c++) v[c] = gfMul(v[c]!, scale);
    basis.push({ pivot, row: v });
    kept.push(slice);
    if (kept.length === m) {
      const inv = invertFor(missingLogs, kept);
      return inv === undefined ? undefined : { slices: kept, inverse: inv };
    }
  }
  return undefined;
}

function invertFor(missingLogs: number[], slices: Par2RecoverySlice[]): Uint16Array | undefined {
  const m = missingLogs.length;
  const a = new Uint16Array(m * m);
  slices.forEach((s, r) => a.set(row(missingLogs, s.exponent), r * m));
  return invertMatrix(a, m);
}

/**
 * Coefficients of the engine job that rebuilds the lost slices. Inputs are
 * the S surviving source slices (by their constants' logs) followed by the m
 * chosen recovery slices; output k is lost slice k:
 *
 *     C[k][i]     = Σ_r A⁻¹[k][r] · c_i^e_r     (surviving slice i)
 *     C[k][S + r] = A⁻¹[k][r]                   (recovery slice r)
 *
 * The sum runs in the log domain (one table lookup per term) since it costs
 * S·m² operations: tens of millions for a large repair.
 */
export function repairCoefficients(
  solution: RecoverySolution,
  survivorLogs: ArrayLike<number>,
): (first: number, count: number, dest: Uint16Array) => void {
  const m = solution.slices.length;
  const S = survivorLogs.length;
  const exponents = solution.slices.map((s) => s.exponent);
  const invLog = new Int32Array(m * m);
  for (let k = 0; k < m * m; k++) invLog[k] = solution.inverse[k] === 0 ? -1 : GF16_LOG[solution.inverse[k]!]!;
  const colLog = new Int32Array(m);
  return (first, count, dest) => {
    for (let t = 0; t < count; t++) {
      const input = first + t;
      if (input < S) {
        const log = survivorLogs[input]!;
        for (let r = 0; r < m; r++) colLog[r] = (log * exponents[r]!) % GF16_ORDER;
        for (let k = 0; k < m; k++) {
          let acc = 0;
          const row = k * m;
          for (let r = 0; r < m; r++) {
            const a = invLog[row + r]!;
            if (a >= 0) acc ^= GF16_EXP[a + colLog[r]!]!;
          }
          dest[k * count + t] = acc;
        }
      } else {
        for (let k = 0; k < m; k++) dest[k * count + t] = solution.inverse[k * m + (input - S)]!;
      }
    }
  };
}
