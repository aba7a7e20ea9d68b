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

import { gfDiv, gfMul } from './gf16.js';
import type { Par2RecoverySlice } from './read.js';
import { invertMatrix, recoveryCoefficient } from './rs-matrix.js';

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
