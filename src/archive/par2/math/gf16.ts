/**
 * Arithmetic in GF(2^16), the field PAR 2.0 computes its Reed-Solomon code in.
 *
 * The spec fixes the field by its generator polynomial
 * x^16 + x^12 + x^3 + x + 1 (0x1100B), with 2 as the primitive element, so
 * every value other than 0 is 2^k for exactly one k in [0, 65535). Log and
 * antilog tables turn multiplication into an addition of exponents; they are
 * built once at import (2 × 128 KiB) and shared by every caller.
 *
 * Addition and subtraction in GF(2^n) are both XOR, so no function exists for
 * them: callers write `a ^ b`.
 */

/** The generator polynomial named by the PAR 2.0 spec, bit 16 included. */
export const GF16_POLYNOMIAL = 0x1100b;
/** Number of non-zero elements: exponents are taken modulo this. */
export const GF16_ORDER = 65535;

/** LOG[v] = k such that 2^k = v, for v != 0. LOG[0] is unused. */
export const GF16_LOG = new Uint16Array(65536);
/**
 * EXP[k] = 2^k. Twice the needed length so that EXP[LOG[a] + LOG[b]] needs no
 * modulo in the hot path of `gfMul`.
 */
export const GF16_EXP = new Uint16Array(2 * GF16_ORDER);

(function buildTables(): void {
  let v = 1;
  for (let k = 0; k < GF16_ORDER; k++) {
    GF16_EXP[k] = v;
    GF16_EXP[k + GF16_ORDER] = v;
    GF16_LOG[v] = k;
    v <<= 1;
    if (v & 0x10000) v ^= GF16_POLYNOMIAL;
  }
  // 2 is primitive, so the walk must come back to 1 after exactly 65535 steps.
  if (v !== 1) throw new Error('GF(2^16) tables: 2 is not primitive for 0x1100B');
})();

/** Product of two field elements (integers in [0, 65535]). */
export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return GF16_EXP[GF16_LOG[a]! + GF16_LOG[b]!]!;
}

/** Quotient a / b. Throws on division by zero, which would mean a bug in the caller's matrix. */
export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('GF(2^16) division by zero');
  if (a === 0) return 0;
  return GF16_EXP[GF16_LOG[a]! + GF16_ORDER - GF16_LOG[b]!]!;
}

/** Multiplicative inverse of a non-zero element. */
export function gfInv(a: number): number {
  return gfDiv(1, a);
}

/** a^e for a non-negative integer exponent e (0^0 = 1, as a matrix of powers needs). */
export function gfPow(a: number, e: number): number {
  if (e === 0) return 1;
  if (a === 0) return 0;
  return GF16_EXP[(GF16_LOG[a]! * e) % GF16_ORDER]!;
}

/** 2^k for any integer k >= 0 (reduced modulo the group order). */
export function gfExp2(k: number): number {
  return GF16_EXP[k % GF16_ORDER]!;
}

/**
 * Multiplication by 2 without tables: shift left and reduce by the
 * polynomial. Used to build per-coefficient lookup tables quickly.
 */
export function gfMul2(a: number): number {
  const v = a << 1;
  return v & 0x10000 ? v ^ GF16_POLYNOMIAL : v;
}
