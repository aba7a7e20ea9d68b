/**
 * The fast multiply-accumulate kernel: out ^= c · in over GF(2^16), in
 * WebAssembly SIMD (written with wasm-asm.ts, since there is no toolchain).
 *
 * Method ("split nibbles"): a 16-bit word x is four nibbles, and
 * c·x = c·n0 ^ c·(n1<<4) ^ c·(n2<<8) ^ c·(n3<<12). For one coefficient c,
 * eight 16-entry byte tables give the low and high byte of c·(v<<4p) for every
 * nibble value v, and `i8x16.swizzle` looks up 16 of them at once: 8 swizzles
 * per 16 words, against 32 table loads for the scalar byte-table kernel.
 *
 * Data is little-endian words, interleaved (lo, hi, lo, hi...). Rather than
 * de-interleave and cut nibbles for every (input, output) pair, each input
 * slice is converted once (`splitInput`) into four "nibble planes", ready to
 * be swizzle indices, and outputs are accumulated "planar" (16 low bytes,
 * then 16 high bytes per run) and interleaved once at the end
 * (`joinOutput`). The inner loop (`mulAdd`) is then only loads, swizzles and
 * XORs; an input is multiplied into hundreds of outputs, so the conversions
 * cost next to nothing. Prepared inputs take twice the bytes.
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
/** Bytes of prepared input per byte of data (four nibble planes of 16 bytes per 32 bytes). */
export const INPUT_EXPANSION = 2;
/**
 * Columns handled per inner sweep of a task: one output's slice and the
 * group's prepared input slices (2 × this each) stay in the core's caches
 * while every input is added to that output.
 */
export const SWEEP_BYTES = 8192;
/** Most pages a wasm32 memory can have (4 GiB). */
const MAX_WASM_PAGES = 65536;

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/**
 * splitInput(dst, src, len): interleaved words → "nibble planes". Each 32-byte run
 * of src (16 words) becomes 64 bytes at dst: the 16 low nibbles of the low
 * bytes, then the high nibbles of the low bytes, then the same two for the
 * high bytes: the swizzle indices `mulAdd` needs.
 */
function splitFunction(): WasmFunction {
  const DST = 0, SRC = 1, LEN = 2, END = 3, MASK = 4, WMASK = 5, A = 6, B = 7, LO = 8, HI = 9;
  const g = op.localGet;
  const s = op.localSet;
  const body: number[][] = [];
  body.push(op.v128Const(range(16, () => 0x0f)), s(MASK));
  body.push(op.v128Const(range(16, (i) => (i % 2 === 0 ? 0xff : 0))), s(WMASK));
  body.push(g(SRC), g(LEN), op.i32Add(), s(END));
  body.push(op.block(), op.loop());
  body.push(g(SRC), g(END), op.i32GeU(), op.brIf(1));
  body.push(g(SRC), op.v128Load(0), s(A), g(SRC), op.v128Load(16), s(B));
  body.push(g(A), g(WMASK), op.v128And(), g(B), g(WMASK), op.v128And(), op.i8x16NarrowI16x8U(), s(LO));
  body.push(g(A), op.i32Const(8), op.i16x8ShrU(), g(B), op.i32Const(8), op.i16x8ShrU(), op.i8x16NarrowI16x8U(), s(HI));
  body.push(g(DST), g(LO), g(MASK), op.v128And(), op.v128Store(0));
  body.push(g(DST), g(LO), op.i32Const(4), op.i16x8ShrU(), g(MASK), op.v128And(), op.v128Store(16));
  body.push(g(DST), g(HI), g(MASK), op.v128And(), op.v128Store(32));
  body.push(g(DST), g(HI), op.i32Const(4), op.i16x8ShrU(), g(MASK), op.v128And(), op.v128Store(48));
  body.push(g(SRC), op.i32Const(32), op.i32Add(), s(SRC));
  body.push(g(DST), op.i32Const(64), op.i32Add(), s(DST));
  body.push(op.br(0), op.end(), op.end());
  return { name: 'splitInput', params: [I32, I32, I32], results: [], locals: [I32, ...range(6, () => V128)], body };
}

/**
 * mulAdd(out, nib, tbl, len): out ^= c · in, with `in` already split into
 * nibble planes (64 bytes per 32 bytes of data) and `out` kept "planar": per
 * 32-byte run, 16 low bytes then 16 high bytes. `len` counts data bytes.
 * Per 16 words: 4 loads, 8 swizzles, 8 XORs and the output's load and store.
 */
function macSplitFunction(relaxed: boolean): WasmFunction {
  const OUT = 0, NIB = 1, TBL = 2, LEN = 3, END = 4, T = 5, N = 13;
  const g = op.localGet;
  const s = op.localSet;
  const swz = relaxed ? op.i8x16RelaxedSwizzle : op.i8x16Swizzle;
  const body: number[][] = [];
  for (let k = 0; k < 8; k++) body.push(g(TBL), op.v128Load(16 * k), s(T + k));
  body.push(g(OUT), g(LEN), op.i32Add(), s(END));
  body.push(op.block(), op.loop());
  body.push(g(OUT), g(END), op.i32GeU(), op.brIf(1));
  for (let k = 0; k < 4; k++) body.push(g(NIB), op.v128Load(16 * k), s(N + k));
  for (const [half, base] of [[0, T], [16, T + 4]] as const) {
    body.push(g(OUT), g(OUT), op.v128Load(half));
    body.push(g(base), g(N), swz(), g(base + 1), g(N + 1), swz(), op.v128Xor());
    body.push(g(base + 2), g(N + 2), swz(), g(base + 3), g(N + 3), swz(), op.v128Xor());
    body.push(op.v128Xor(), op.v128Xor(), op.v128Store(half));
  }
  body.push(g(NIB), op.i32Const(64), op.i32Add(), s(NIB));
  body.push(g(OUT), op.i32Const(32), op.i32Add(), s(OUT));
  body.push(op.br(0), op.end(), op.end());
  return { name: 'mulAdd', params: [I32, I32, I32, I32], results: [], locals: [I32, ...range(12, () => V128)], body };
}

/** joinOutput(ptr, len): planar output (16 low bytes, 16 high bytes per run) back to interleaved words, in place. */
function joinFunction(): WasmFunction {
  const PTR = 0, LEN = 1, END = 2, PL = 3, PH = 4;
  const g = op.localGet;
  const s = op.localSet;
  const unpackLo = range(16, (i) => (i % 2 === 0 ? i / 2 : 16 + (i - 1) / 2));
  const unpackHi = unpackLo.map((l) => l + 8);
  const body: number[][] = [];
  body.push(g(PTR), g(LEN), op.i32Add(), s(END));
  body.push(op.block(), op.loop());
  body.push(g(PTR), g(END), op.i32GeU(), op.brIf(1));
  body.push(g(PTR), op.v128Load(0), s(PL), g(PTR), op.v128Load(16), s(PH));
  body.push(g(PTR), g(PL), g(PH), op.i8x16Shuffle(unpackLo), op.v128Store(0));
  body.push(g(PTR), g(PL), g(PH), op.i8x16Shuffle(unpackHi), op.v128Store(16));
  body.push(g(PTR), op.i32Const(32), op.i32Add(), s(PTR));
  body.push(op.br(0), op.end(), op.end());
  return { name: 'joinOutput', params: [I32, I32], results: [], locals: [I32, V128, V128], body };
}

/**
 * mulAddTask(outBase, outStride, inBase, inStride, tableBase, coefBase, G,
 * j0, j1, x0, x1): one engine task in one call (see task-runner.ts):
 *
 *   for x in [x0, x1) by SWEEP_BYTES, for j in [j0, j1), for i in [0, G):
 *     if coef[j·G + i] ≠ 0: mulAdd(out_j + x, in_i + 2x, table(j·G + i), len)
 *
 * Looping here rather than in JavaScript saves a JS-to-wasm call per
 * (sweep, output, input), a few percent of the kernel's time.
 */
function mulAddTaskFunction(mulAddIndex: number): WasmFunction {
  const OUTB = 0, OUTS = 1, INB = 2, INS = 3, TBL = 4, COEF = 5, G = 6, J0 = 7, J1 = 8, X0 = 9, X1 = 10;
  const X = 11, LEN = 12, J = 13, I = 14, OUT = 15, K = 16;
  const g = op.localGet;
  const s = op.localSet;
  const body: number[][] = [];
  body.push(g(X0), s(X));
  body.push(op.block(), op.loop());
  body.push(g(X), g(X1), op.i32GeU(), op.brIf(1));
  // len = min(SWEEP_BYTES, x1 - x)
  body.push(g(X1), g(X), op.i32Sub(), s(LEN));
  body.push(op.i32Const(SWEEP_BYTES), g(LEN), g(LEN), op.i32Const(SWEEP_BYTES), op.i32GtU(), op.select(), s(LEN));
  body.push(g(J0), s(J));
  body.push(op.block(), op.loop());
  body.push(g(J), g(J1), op.i32GeU(), op.brIf(1));
  body.push(g(OUTB), g(J), g(OUTS), op.i32Mul(), op.i32Add(), g(X), op.i32Add(), s(OUT));
  body.push(op.i32Const(0), s(I));
  body.push(op.block(), op.loop());
  body.push(g(I), g(G), op.i32GeU(), op.brIf(1));
  body.push(g(J), g(G), op.i32Mul(), g(I), op.i32Add(), s(K));
  body.push(g(COEF), g(K), op.i32Const(1), op.i32Shl(), op.i32Add(), op.i32Load16U(), op.if());
  body.push(g(OUT));
  body.push(g(INB), g(I), g(INS), op.i32Mul(), op.i32Add(), g(X), op.i32Const(INPUT_EXPANSION), op.i32Mul(), op.i32Add());
  body.push(g(TBL), g(K), op.i32Const(NIBBLE_TABLE_BYTES), op.i32Mul(), op.i32Add());
  body.push(g(LEN), op.call(mulAddIndex), op.end());
  body.push(g(I), op.i32Const(1), op.i32Add(), s(I), op.br(0), op.end(), op.end());
  body.push(g(J), op.i32Const(1), op.i32Add(), s(J), op.br(0), op.end(), op.end());
  body.push(g(X), op.i32Const(SWEEP_BYTES), op.i32Add(), s(X), op.br(0), op.end(), op.end());
  return {
    name: 'mulAddTask',
    params: range(11, () => I32),
    results: [],
    locals: range(6, () => I32),
    body,
  };
}

/**
 * buildTables(coefPtr, count, tablePtr): the 128-byte nibble tables (see
 * writeNibbleTables) of `count` u16 coefficients, in order. Entry v of the
 * table for nibble position p is Σ_b bit_b(v) · c·2^(4p+b): four masked
 * splats of the basis products per table half, all 16 entries at once. The
 * engine needs M tables per input slice, hundreds of thousands per file, so
 * this runs in wasm rather than in a JavaScript loop.
 */
function buildTablesFunction(): WasmFunction {
  const COEF = 0, COUNT = 1, TBL = 2, END = 3, V = 4, LO = 5, HI = 6;
  const g = op.localGet;
  const s = op.localSet;
  // Lane v of mask b is 0xff when bit b of v is set.
  const masks = [0, 1, 2, 3].map((b) => range(16, (v) => ((v >> b) & 1 ? 0xff : 0)));
  const body: number[][] = [];
  body.push(g(COEF), g(COUNT), op.i32Const(1), op.i32Shl(), op.i32Add(), s(END));
  body.push(op.block(), op.loop());
  body.push(g(COEF), g(END), op.i32GeU(), op.brIf(1));
  body.push(g(COEF), op.i32Load16U(), s(V));
  for (let p = 0; p < 4; p++) {
    for (let b = 0; b < 4; b++) {
      // lo ^= mask_b & splat(low byte of v); hi likewise with the high byte.
      body.push(op.v128Const(masks[b]!), g(V), op.i8x16Splat(), op.v128And());
      if (b > 0) body.push(g(LO), op.v128Xor());
      body.push(s(LO));
      body.push(op.v128Const(masks[b]!), g(V), op.i32Const(8), op.i32ShrU(), op.i8x16Splat(), op.v128And());
      if (b > 0) body.push(g(HI), op.v128Xor());
      body.push(s(HI));
      // v = v·2 in GF(2^16): shift, and reduce by 0x1100B when bit 15 falls out.
      body.push(g(V), op.i32Const(1), op.i32Shl(), op.i32Const(0xffff), op.i32And());
      body.push(op.i32Const(0), g(V), op.i32Const(15), op.i32ShrU(), op.i32Sub(), op.i32Const(0x100b), op.i32And());
      body.push(op.i32Xor(), s(V));
    }
    body.push(g(TBL), g(LO), op.v128Store(16 * p), g(TBL), g(HI), op.v128Store(64 + 16 * p));
  }
  body.push(g(COEF), op.i32Const(2), op.i32Add(), s(COEF));
  body.push(g(TBL), op.i32Const(NIBBLE_TABLE_BYTES), op.i32Add(), s(TBL));
  body.push(op.br(0), op.end(), op.end());
  return { name: 'buildTables', params: [I32, I32, I32], results: [], locals: [I32, I32, V128, V128], body };
}

/**
 * The kernel module's bytes. `shared` selects a shared (thread-capable)
 * memory import; `relaxed` uses relaxed SIMD's swizzle, which V8 compiles to
 * a bare pshufb (plain swizzle must also zero out-of-range lanes, which costs
 * extra instructions on x64): about twice the throughput where available
 * (Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd).
 */
export function kernelModuleBytes(shared: boolean, relaxed = false): Uint8Array {
  return encodeModule(
    { module: 'env', field: 'memory', minPages: 1, maxPages: MAX_WASM_PAGES, shared },
    // Order matters: mulAddTask calls mulAdd by its index (1).
    [splitFunction(), macSplitFunction(relaxed), joinFunction(), mulAddTaskFunction(1), buildTablesFunction()],
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

/**
 * What the engine calls. Data lengths are multiples of KERNEL_STRIDE_BYTES.
 * Prepared inputs take INPUT_EXPANSION bytes per data byte; outputs are in
 * the kernel's own layout from zero-fill until `joinOutput`.
 */
export interface WasmKernelExports {
  /** Prepares `byteLength` bytes of input data at src into dst. */
  splitInput(dstPtr: number, srcPtr: number, byteLength: number): void;
  /** out ^= c · in for the coefficient whose tables are at tablePtr; `byteLength` counts data bytes. */
  mulAdd(outPtr: number, preparedPtr: number, tablePtr: number, byteLength: number): void;
  /** Turns an output back into little-endian words, in place. */
  joinOutput(ptr: number, byteLength: number): void;
  /** Writes the nibble tables of `count` u16 coefficients at coefPtr, 128 bytes each, from tablePtr on. */
  buildTables(coefPtr: number, count: number, tablePtr: number): void;
  /** One engine task: the loops of task-runner.ts around mulAdd. */
  mulAddTask(
    outBase: number,
    outStride: number,
    inBase: number,
    inStride: number,
    tableBase: number,
    coefBase: number,
    groupSize: number,
    j0: number,
    j1: number,
    x0: number,
    x1: number,
  ): void;
}

/** Which wasm kernel this runtime can run: with relaxed SIMD, plain SIMD, or none. */
export type WasmKernelVariant = 'relaxed-simd' | 'simd' | 'none';

let cachedVariant: WasmKernelVariant | undefined;

function validates(bytes: Uint8Array): boolean {
  try {
    return wasmApi.validate(bytes);
  } catch {
    return false;
  }
}

/** The best kernel variant this runtime validates (WebAssembly SIMD is on by default since Node 16.4). */
export function wasmKernelVariant(): WasmKernelVariant {
  cachedVariant ??= validates(kernelModuleBytes(false, true)) ? 'relaxed-simd' : validates(kernelModuleBytes(false)) ? 'simd' : 'none';
  return cachedVariant;
}

/** Whether this runtime can run a wasm SIMD kernel at all. */
export function hasWasmSimd(): boolean {
  return wasmKernelVariant() !== 'none';
}

/** Instantiates the kernel over a given memory (shared or not, matching `module`). */
export function instantiateKernel(module: WasmModule, memory: WasmMemory): WasmKernelExports {
  const instance = new wasmApi.Instance(module, { env: { memory } });
  return instance.exports as unknown as WasmKernelExports;
}
