/**
 * The Reed-Solomon code of PAR 2.0, as the spec and par2cmdline define it.
 *
 * Source block i is given a constant c_i = 2^(k_i) where k_i walks the
 * integers 1, 2, 4, 7, 8, ... that share no factor with 65535 = 3·5·17·257
 * (so each c_i generates the whole multiplicative group and the matrix below
 * stays invertible in the cases PAR 2.0 relies on). Recovery block with
 * exponent e is
 *
 *     R_e = Σ_i c_i^e · D_i       (each block read as little-endian 16-bit words)
 *
 * There are exactly φ(65535) = 32768 such constants, which is why a PAR 2.0
 * set has at most 32768 source blocks.
 */

import { GF16_EXP, GF16_ORDER, gfDiv, gfMul } from './gf16.js';

/** Most source blocks a PAR 2.0 recovery set can have. */
export const MAX_SOURCE_BLOCKS = 32768;
/** Recovery exponents are 16-bit in practice (par2cmdline caps them below 65536). */
export const MAX_RECOVERY_EXPONENT = 65535;

function coprimeWith65535(k: number): boolean {
  return k % 3 !== 0 && k % 5 !== 0 && k % 17 !== 0 && k % 257 !== 0;
}

/**
 * The logarithms k_i of the source constants for blocks 0..count-1, in order.
 * Throws a RangeError past 32768 blocks.
 */
export function sourceConstantLogs(count: number): Uint16Array {
  if (count > MAX_SOURCE_BLOCKS) throw new RangeError(`too many source blocks: ${count}`);
  const logs = new Uint16Array(count);
  let k = 0;
  for (let i = 0; i < count; i++) {
    do k++;
    while (!coprimeWith65535(k));
    logs[i] = k;
  }
  return logs;
}

/** The coefficient c_i^e of source block i (given by its log k_i) in recovery block e. */
export function recoveryCoefficient(sourceLog: number, exponent: number): number {
  return GF16_EXP[(sourceLog * exponent) % GF16_ORDER]!;
}

/**
 * Inverts a square matrix over GF(2^16) (row-major, n×n) by Gauss-Jordan
 * elimination. Returns undefined when it is singular. Used only on the small
 * system of damaged blocks, so a plain O(n^3) loop is enough.
 */
export function invertMatrix(matrix: Uint16Array, n: number): Uint16Array | undefined {
  const a = Uint16Array.from(matrix);
  const inv = new Uint16Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let pivot = -1;
    for (let r = col; r < n; r++) {
      if (a[r * n + col] !== 0) {
        pivot = r;
        break;
      }
    }
    if (pivot < 0) return undefined;
    if (pivot !== col) {
      swapRows(a, n, pivot, col);
      swapRows(inv, n, pivot, col);
    }
    const scale = gfDiv(1, a[col * n + col]!);
    scaleRow(a, n, col, scale);
    scaleRow(inv, n, col, scale);
    for (let r = 0; r < n; r++) {
      const f = r === col ? 0 : a[r * n + col]!;
      if (f === 0) continue;
      addScaledRow(a, n, r, col, f);
      addScaledRow(inv, n, r, col, f);
    }
  }
  return inv;
}

function swapRows(m: Uint16Array, n: number, r1: number, r2: number): void {
  for (let c = 0; c < n; c++) {
    const t = m[r1 * n + c]!;
    m[r1 * n + c] = m[r2 * n + c]!;
    m[r2 * n + c] = t;
  }
}

function scaleRow(m: Uint16Array, n: number, r: number, f: number): void {
  for (let c = 0; c < n; c++) m[r * n + c] = gfMul(m[r * n + c]!, f);
}

/** row[dst] += f · row[src] (addition is XOR). */
function addScaledRow(m: Uint16Array, n: number, dst: number, src: number, f: number): void {
  for (let c = 0; c < n; c++) m[dst * n + c] = m[dst * n + c]! ^ gfMul(m[src * n + c]!, f);
}
