/**
 * The reference multiply-accumulate: out ^= c · in over GF(2^16), one word
 * at a time through `gfMul`. Slow and obviously right; the fast kernels are
 * tested against it.
 *
 * Buffers hold little-endian 16-bit words, as PAR 2.0 reads block data.
 */

import { gfMul } from './gf16.js';

/** out[w] ^= c · in[w] for every 16-bit word of `input` (its length must be even and ≤ out's). */
export function mulAddReference(out: Uint8Array, input: Uint8Array, c: number): void {
  for (let i = 0; i + 1 < input.length; i += 2) {
    const x = input[i]! | (input[i + 1]! << 8);
    const y = gfMul(c, x);
    out[i] = out[i]! ^ (y & 0xff);
    out[i + 1] = out[i + 1]! ^ (y >>> 8);
  }
}
