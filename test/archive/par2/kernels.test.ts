import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gfMul } from '../../../src/archive/par2/math/gf16.js';
import { createJsKernel, mulAddJs } from '../../../src/archive/par2/math/kernel-js.js';
import { mulAddReference } from '../../../src/archive/par2/math/kernel-ref.js';
import {
  hasWasmSimd,
  INPUT_EXPANSION,
  instantiateKernel,
  kernelModuleBytes,
  NIBBLE_TABLE_BYTES,
  writeNibbleTables,
} from '../../../src/archive/par2/math/kernel-wasm.js';
import { wasmApi } from '../../../src/archive/par2/math/wasm-api.js';

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

  it.runIf(hasWasmSimd())('wasm buildTables writes the same tables as writeNibbleTables', () => {
    const memory = new wasmApi.Memory({ initial: 1, maximum: 1 });
    const kernel = instantiateKernel(new wasmApi.Module(kernelModuleBytes(false)), memory);
    fc.assert(
      fc.property(fc.array(coefficient, { minLength: 1, maxLength: 40 }), (coefs) => {
        const all = [0, 1, 2, 0x8000, 0xffff, ...coefs];
        const u8 = new Uint8Array(memory.buffer);
        new Uint16Array(memory.buffer, 0, all.length).set(all);
        const at = 1024;
        kernel.buildTables(0, all.length, at);
        const want = new Uint8Array(all.length * NIBBLE_TABLE_BYTES);
        all.forEach((c, k) => writeNibbleTables(want, k * NIBBLE_TABLE_BYTES, c));
        expect(u8.slice(at, at + want.length)).toEqual(want);
      }),
      { numRuns: 100 },
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

  it.runIf(hasWasmSimd())('wasm SIMD and JS engine kernels equal the reference (prepare, multiply-add at an offset, join)', () => {
    const memory = new wasmApi.Memory({ initial: 1, maximum: 1 });
    const kernels = { wasm: instantiateKernel(new wasmApi.Module(kernelModuleBytes(false)), memory), js: createJsKernel(memory) };
    fc.assert(
      fc.property(data, coefficient, coefficient, fc.nat(), fc.constantFrom<'wasm' | 'js'>('wasm', 'js'), (input, c1, c2, skip, which) => {
        const kernel = kernels[which];
        const u8 = new Uint8Array(memory.buffer);
        const [T1, T2, IN, PREP, OUT] = [0, 128, 256, 256 + 2048, 256 + 2048 + 4096];
        const n = input.length;
        // Columns [x, n) only, as a sweep or a column-split task would do.
        const x = (skip % (n / 32)) * 32;
        writeNibbleTables(u8, T1, c1);
        writeNibbleTables(u8, T2, c2);
        u8.set(input, IN);
        u8.fill(0, OUT, OUT + n);
        kernel.splitInput(PREP, IN, n);
        kernel.mulAdd(OUT + x, PREP + INPUT_EXPANSION * x, T1, n - x);
        kernel.mulAdd(OUT + x, PREP + INPUT_EXPANSION * x, T2, n - x);
        kernel.joinOutput(OUT, n);
        const want = new Uint8Array(n);
        mulAddReference(want.subarray(x), input.subarray(x), c1);
        mulAddReference(want.subarray(x), input.subarray(x), c2);
        expect(u8.slice(OUT, OUT + n)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('wasm SIMD is available on this runtime (the fast path is what ships)', () => {
    expect(hasWasmSimd()).toBe(true);
  });

  it('relaxed-SIMD kernel equals the reference (checked in a child process with the feature on)', (ctx) => {
    const script = fileURLToPath(new URL('./relaxed-kernel-check.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { available: boolean; cases?: number; failures?: number };
    if (!result.available) {
      console.warn('relaxed SIMD is not available in this Node; its kernel variant is not exercised');
      ctx.skip();
    }
    expect(result.failures).toBe(0);
    expect(result.cases).toBeGreaterThan(0);
  });
});
