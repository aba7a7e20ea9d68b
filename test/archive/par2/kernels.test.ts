import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gfMul } from '../../../src/archive/par2/gf16.js';
import { createJsKernel, mulAddJs } from '../../../src/archive/par2/kernel-js.js';
import { mulAddReference } from '../../../src/archive/par2/kernel-ref.js';
import {
  hasWasmSimd,
  instantiateKernel,
  kernelModuleBytes,
  NIBBLE_TABLE_BYTES,
  writeNibbleTables,
} from '../../../src/archive/par2/kernel-wasm.js';
import { wasmApi } from '../../../src/archive/par2/wasm-api.js';

const coefficient = fc.integer({ min: 0, max: 0xffff });
/** Byte lengths in units of the wasm kernel's 32-byte stride. */
const data = fc.integer({ min: 1, max: 64 }).chain((units) => fc.uint8Array({ minLength: units * 32, maxLength: units * 32 }));

function reference(out: Uint8Array, input: Uint8Array, c: number): Uint8Array {
  const r = Uint8Array.from(out);
  mulAddReference(r, input, c);
  return r;
}

describe('multiply-accumulate kernels', () => {
  it('reference kernel multiplies little-endian words', () => {
    const out = new Uint8Array(4);
    mulAddReference(out, Uint8Array.from([0x00, 0x80, 0x03, 0x00]), 2);
    expect([...out]).toEqual([0x0b, 0x10, 0x06, 0x00]); // 2·0x8000 = 0x100B, 2·3 = 6
  });

  it('nibble tables hold c·(v << 4p), split in low and high bytes', () => {
    fc.assert(
      fc.property(coefficient, (c) => {
        const t = new Uint8Array(NIBBLE_TABLE_BYTES);
        writeNibbleTables(t, 0, c);
        for (let p = 0; p < 4; p++)
          for (let v = 0; v < 16; v++) {
            const want = gfMul(c, v << (4 * p));
            expect(t[16 * p + v]! | (t[64 + 16 * p + v]! << 8)).toBe(want);
          }
      }),
      { numRuns: 200 },
    );
  });

  it('JS byte-table kernel equals the reference', () => {
    fc.assert(
      fc.property(data, data, coefficient, (input, seed, c) => {
        const out = new Uint8Array(input.length);
        out.set(seed.subarray(0, input.length));
        const want = reference(out, input, c);
        mulAddJs(out, input, c);
        expect(out).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it.runIf(hasWasmSimd())('wasm SIMD kernel equals the reference', () => {
    const memory = new wasmApi.Memory({ initial: 1, maximum: 1 });
    const kernel = instantiateKernel(new wasmApi.Module(kernelModuleBytes(false)), memory);
    const jsKernel = createJsKernel(memory);
    fc.assert(
      fc.property(data, data, coefficient, fc.boolean(), (input, seed, c, useJs) => {
        const u8 = new Uint8Array(memory.buffer);
        const [TBL, IN, OUT] = [0, 128, 128 + 2048];
        writeNibbleTables(u8, TBL, c);
        u8.set(input, IN);
        const out = new Uint8Array(input.length);
        out.set(seed.subarray(0, input.length));
        u8.set(out, OUT);
        (useJs ? jsKernel : kernel).mac(OUT, IN, TBL, input.length);
        expect(u8.slice(OUT, OUT + input.length)).toEqual(reference(out, input, c));
      }),
      { numRuns: 300 },
    );
  });

  it('wasm SIMD is available on this runtime (the fast path is what ships)', () => {
    expect(hasWasmSimd()).toBe(true);
  });
});
