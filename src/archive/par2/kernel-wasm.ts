/**
 * The fast multiply-accumulate kernel: out ^= c · in over GF(2^16), in
 * WebAssembly SIMD.
 *
 * Method ("split nibbles"): a 16-bit word x is four nibbles, and
 * c·x = c·n0 ^ c·(n1<<4) ^ c·(n2<<8) ^ c·(n3<<12). For one coefficient c,
 * eight 16-entry byte tables give the low and high byte of c·(v<<4p) for every
 * nibble value v, and `i8x16.swizzle` looks up 16 of them at once. Per 32
 * bytes of input (16 words) that is 8 swizzles plus a few shifts, masks and
 * XORs, against 32 table loads for the scalar byte-table kernel.
 *
 * Words are stored little-endian and interleaved (lo, hi, lo, hi...). The
 * kernel splits each 32-byte run into a vector of 16 low bytes and one of 16
 * high bytes (mask/shift then `narrow`, which cannot saturate here), works on
 * those, and interleaves the two product vectors back with two shuffles that
 * map to single unpack instructions.
 *
 * The module imports its memory so that worker threads can share one
 * `WebAssembly.Memory({ shared: true })` with the main thread: file data read
 * into that memory is processed where it lies, without copies.
 */

import { gfMul2 } from './gf16.js';
import { wasmApi, type WasmMemory, type WasmModule } from './wasm-api.js';
import { I32, V128, encodeModule, op, type WasmFunction } from './wasm-asm.js';

/** Bytes of lookup tables per coefficient: 4 nibble positions × (low, high) × 16 entries. */
export const NIBBLE_TABLE_BYTES = 128;
/** The kernel consumes input in runs of this many bytes; lengths must be multiples of it. */
export const KERNEL_STRIDE_BYTES = 32;
/** Most pages a wasm32 memory can have (4 GiB). */
const MAX_WASM_PAGES = 65536;

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

function macFunction(): WasmFunction {
  // Parameters and locals, by index.
  const OUT = 0, IN = 1, TBL = 2, LEN = 3, END = 4;
  const T = 5; // 8 tables: T+0..3 low bytes for nibble 0..3, T+4..7 high bytes
  const MASK = 13, WMASK = 14, A = 15, B = 16, LO = 17, HI = 18, PL = 19, PH = 20, N = 21; // N+0..3
  const g = op.localGet;
  const s = op.localSet;
  const body: number[][] = [];
  for (let k = 0; k < 8; k++) body.push(g(TBL), op.v128Load(16 * k), s(T + k));
  body.push(op.v128Const(range(16, () => 0x0f)), s(MASK));
  body.push(op.v128Const(range(16, (i) => (i % 2 === 0 ? 0xff : 0))), s(WMASK));
  body.push(g(IN), g(LEN), op.i32Add(), s(END));
  body.push(op.block(), op.loop());
  body.push(g(IN), g(END), op.i32GeU(), op.brIf(1));
  body.push(g(IN), op.v128Load(0), s(A), g(IN), op.v128Load(16), s(B));
  // Low bytes of the 16 words, then high bytes.
  body.push(g(A), g(WMASK), op.v128And(), g(B), g(WMASK), op.v128And(), op.i8x16NarrowI16x8U(), s(LO));
  body.push(g(A), op.i32Const(8), op.i16x8ShrU(), g(B), op.i32Const(8), op.i16x8ShrU(), op.i8x16NarrowI16x8U(), s(HI));
  // The four nibbles of every word. A 16-bit shift then a mask is cheaper than a byte shift.
  body.push(g(LO), g(MASK), op.v128And(), s(N));
  body.push(g(LO), op.i32Const(4), op.i16x8ShrU(), g(MASK), op.v128And(), s(N + 1));
  body.push(g(HI), g(MASK), op.v128And(), s(N + 2));
  body.push(g(HI), op.i32Const(4), op.i16x8ShrU(), g(MASK), op.v128And(), s(N + 3));
  for (const [dst, base] of [[PL, T], [PH, T + 4]] as const) {
    body.push(g(base), g(N), op.i8x16Swizzle());
    for (let k = 1; k < 4; k++) body.push(g(base + k), g(N + k), op.i8x16Swizzle(), op.v128Xor());
    body.push(s(dst));
  }
  const unpackLo = range(16, (i) => (i % 2 === 0 ? i / 2 : 16 + (i - 1) / 2));
  const unpackHi = unpackLo.map((l) => l + 8);
  body.push(g(OUT), g(OUT), op.v128Load(0), g(PL), g(PH), op.i8x16Shuffle(unpackLo), op.v128Xor(), op.v128Store(0));
  body.push(g(OUT), g(OUT), op.v128Load(16), g(PL), g(PH), op.i8x16Shuffle(unpackHi), op.v128Xor(), op.v128Store(16));
  body.push(g(IN), op.i32Const(32), op.i32Add(), s(IN));
  body.push(g(OUT), op.i32Const(32), op.i32Add(), s(OUT));
  body.push(op.br(0), op.end(), op.end());
  return {
    name: 'mac',
    params: [I32, I32, I32, I32],
    results: [],
    locals: [I32, ...range(20, () => V128)],
    body,
  };
}

/** The kernel module's bytes. `shared` selects a shared (thread-capable) memory import. */
export function kernelModuleBytes(shared: boolean): Uint8Array {
  return encodeModule(
    { module: 'env', field: 'memory', minPages: 1, maxPages: MAX_WASM_PAGES, shared },
    [macFunction()],
  );
}

/**
 * Writes the 128 bytes of nibble tables for coefficient c at u8[ptr...].
 * Layout: for p in 0..3, u8[ptr + 16p + v] = low byte of c·(v << 4p) and
 * u8[ptr + 64 + 16p + v] = its high byte.
 */
export function writeNibbleTables(u8: Uint8Array, ptr: number, c: number): void {
  // c·2^k for k = 0..15; every table entry is an XOR of some of these.
  const basis = new Array<number>(16);
  let v = c;
  for (let k = 0; k < 16; k++) {
    basis[k] = v;
    v = gfMul2(v);
  }
  for (let p = 0; p < 4; p++) {
    const lo = ptr + 16 * p;
    const hi = lo + 64;
    u8[lo] = 0;
    u8[hi] = 0;
    let prev = 0;
    // Gray-code order: each entry differs from the previous one by one bit.
    for (let i = 1; i < 16; i++) {
      const gray = i ^ (i >> 1);
      const bit = 31 - Math.clz32((i & -i) >>> 0);
      prev ^= basis[4 * p + bit]!;
      u8[lo + gray] = prev & 0xff;
      u8[hi + gray] = prev >>> 8;
    }
  }
}

export interface WasmKernelExports {
  mac(outPtr: number, inPtr: number, tablePtr: number, byteLength: number): void;
}

let cachedSupport: boolean | undefined;

/** Whether this runtime can compile the SIMD kernel (WebAssembly SIMD is on by default since Node 16.4). */
export function hasWasmSimd(): boolean {
  if (cachedSupport === undefined) {
    try {
      cachedSupport = wasmApi.validate(kernelModuleBytes(false));
    } catch {
      cachedSupport = false;
    }
  }
  return cachedSupport === true;
}

/** Instantiates the kernel over a given memory (shared or not, matching `module`). */
export function instantiateKernel(module: WasmModule, memory: WasmMemory): WasmKernelExports {
  const instance = new wasmApi.Instance(module, { env: { memory } });
  return instance.exports as unknown as WasmKernelExports;
}
