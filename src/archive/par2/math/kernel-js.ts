/**
 * A portable fast kernel in plain JavaScript, used where WebAssembly SIMD is
 * not available: out ^= c · in with byte lookup tables.
 *
 * For a coefficient c, table LO[b] = c·b and HI[b] = c·(b<<8), so
 * c·x = LO[x & 0xff] ^ HI[x >> 8]. Reading the data as 32-bit words handles
 * two 16-bit words per step; the tables for the upper word are the same
 * values shifted left by 16, which avoids a shift per lookup.
 */

import { gfMul } from './gf16.js';
import { writeNibbleTables, type WasmKernelExports } from './kernel-wasm.js';
import type { WasmMemory } from './wasm-api.js';

/** Four 256-entry tables for one coefficient (see the module comment). */
export interface ByteTables {
  c: number;
  t0: Uint32Array;
  t1: Uint32Array;
  t2: Uint32Array;
  t3: Uint32Array;
}

export function buildByteTables(c: number, into?: ByteTables): ByteTables {
  const t = into ?? {
    c,
    t0: new Uint32Array(256),
    t1: new Uint32Array(256),
    t2: new Uint32Array(256),
    t3: new Uint32Array(256),
  };
  t.c = c;
  for (let b = 0; b < 256; b++) {
    const lo = gfMul(c, b);
    const hi = gfMul(c, b << 8);
    t.t0[b] = lo;
    t.t1[b] = hi;
    t.t2[b] = lo << 16;
    t.t3[b] = hi << 16;
  }
  return t;
}

/**
 * out ^= c·in over `words32` 32-bit words (two field elements each) at the
 * given 32-bit word offsets.
 */
export function mulAddWords(
  out: Uint32Array,
  outIndex: number,
  input: Uint32Array,
  inIndex: number,
  words32: number,
  t: ByteTables,
): void {
  const { t0, t1, t2, t3 } = t;
  for (let k = 0; k < words32; k++) {
    const w = input[inIndex + k]!;
    out[outIndex + k] =
      out[outIndex + k]! ^ t0[w & 0xff]! ^ t1[(w >>> 8) & 0xff]! ^ t2[(w >>> 16) & 0xff]! ^ t3[w >>> 24]!;
  }
}

/**
 * out ^= c · in for byte arrays (length a multiple of 4, 4-byte aligned
 * offsets). Convenience wrapper for tests and small jobs.
 */
export function mulAddJs(out: Uint8Array, input: Uint8Array, c: number): void {
  if (input.length % 4 !== 0 || out.byteOffset % 4 !== 0 || input.byteOffset % 4 !== 0) {
    throw new RangeError('mulAddJs needs 4-byte aligned buffers and a length multiple of 4');
  }
  const o = new Uint32Array(out.buffer, out.byteOffset, input.length / 4);
  const i = new Uint32Array(input.buffer, input.byteOffset, input.length / 4);
  mulAddWords(o, 0, i, 0, input.length / 4, buildByteTables(c));
}

/**
 * The same interface as the wasm kernel, over a plain memory, so the
 * engine runs unchanged without SIMD. This kernel keeps words interleaved
 * but honours the prepared layout's addressing: each 32-byte run of input is
 * copied to the first half of its 64-byte prepared run, and outputs need no
 * joining. The coefficient is recovered from the nibble tables the engine
 * writes (entry 1 of the first pair is c·1); the byte tables of the last
 * coefficient are kept, since calls for one coefficient come in runs.
 */
export function createJsKernel(memory: WasmMemory): WasmKernelExports {
  let tables: ByteTables | undefined;
  return {
    splitInput(dstPtr, srcPtr, byteLength) {
      const u8 = new Uint8Array(memory.buffer);
      for (let r = 0; r < byteLength; r += 32) u8.copyWithin(dstPtr + 2 * r, srcPtr + r, srcPtr + r + 32);
    },
    mulAdd(outPtr, preparedPtr, tablePtr, byteLength) {
      const u8 = new Uint8Array(memory.buffer);
      const c = u8[tablePtr + 1]! | (u8[tablePtr + 64 + 1]! << 8);
      if (tables?.c !== c) tables = buildByteTables(c, tables);
      const u32 = new Uint32Array(memory.buffer);
      for (let r = 0; r < byteLength; r += 32) {
        mulAddWords(u32, (outPtr + r) >>> 2, u32, (preparedPtr + 2 * r) >>> 2, 8, tables);
      }
    },
    joinOutput() {},
    buildTables(coefPtr, count, tablePtr) {
      const u8 = new Uint8Array(memory.buffer);
      const coef = new Uint16Array(memory.buffer, coefPtr, count);
      for (let k = 0; k < count; k++) writeNibbleTables(u8, tablePtr + k * 128, coef[k]!);
    },
    mulAddTask(outBase, outStride, inBase, inStride, tableBase, coefBase, G, j0, j1, x0, x1) {
      const coef = new Uint16Array(memory.buffer);
      for (let j = j0; j < j1; j++) {
        for (let i = 0; i < G; i++) {
          const k = j * G + i;
          if (coef[(coefBase >>> 1) + k] === 0) continue;
          this.mulAdd(outBase + j * outStride + x0, inBase + i * inStride + 2 * x0, tableBase + k * 128, x1 - x0);
        }
      }
    },
  };
}
