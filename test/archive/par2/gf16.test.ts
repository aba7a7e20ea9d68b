import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GF16_EXP, GF16_LOG, gfDiv, gfInv, gfMul, gfMul2, gfPow } from '../../../src/archive/par2/math/gf16.js';

const elem = fc.integer({ min: 0, max: 0xffff });
const nonZero = fc.integer({ min: 1, max: 0xffff });

/** Carry-less multiply then reduce by 0x1100B: the definition, with no tables. */
function slowMul(a: number, b: number): number {
  let r = 0;
  for (let bit = 0; bit < 16; bit++) if ((b >> bit) & 1) r ^= a << bit;
  for (let bit = 31; bit >= 16; bit--) if ((r >>> bit) & 1) r ^= 0x1100b << (bit - 16);
  return r;
}

describe('GF(2^16) with generator 0x1100B', () => {
  it('known answers', () => {
    expect(gfMul(2, 0x8000)).toBe(0x100b); // x^16 reduces to x^12 + x^3 + x + 1
    expect(gfMul(3, 3)).toBe(5); // (x+1)^2 = x^2 + 1
    expect(gfMul(0x100, 0x100)).toBe(0x100b);
    expect(GF16_EXP[0]).toBe(1);
    expect(GF16_EXP[16]).toBe(0x100b);
    expect(GF16_LOG[0x100b]).toBe(16);
    expect(gfMul(0x1234, 0)).toBe(0);
    expect(gfMul(0x1234, 1)).toBe(0x1234);
    expect(gfInv(1)).toBe(1);
    expect(gfMul(0x8000, gfInv(0x8000))).toBe(1);
    expect(gfPow(2, 65535)).toBe(1); // 2 generates the whole group
    expect(gfPow(0, 0)).toBe(1);
  });

  it('table multiply equals the polynomial definition', () => {
    fc.assert(fc.property(elem, elem, (a, b) => gfMul(a, b) === slowMul(a, b)), { numRuns: 2000 });
  });

  it('is a field: commutative, distributive, invertible', () => {
    fc.assert(
      fc.property(elem, elem, elem, nonZero, (a, b, c, d) => {
        expect(gfMul(a, b)).toBe(gfMul(b, a));
        expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
        expect(gfMul(gfDiv(a, d), d)).toBe(a);
        expect(gfMul2(a)).toBe(gfMul(a, 2));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses division by zero', () => {
    expect(() => gfDiv(5, 0)).toThrow(RangeError);
  });
});
