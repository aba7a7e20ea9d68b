/**
 * Just enough of a WebAssembly binary writer to emit the GF(2^16) kernel.
 *
 * The project has no wasm toolchain and takes no dependency for one, so the
 * kernel is written as a list of instructions in TypeScript and encoded here.
 * Only the sections and opcodes the kernel uses are supported.
 */

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128, as wasm encodes sizes, indices and offsets. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, as i32.const encodes its immediate. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Instruction encoders. Each returns the bytes of one instruction. */
export const op = {
  block: (): number[] => [0x02, 0x40],
  loop: (): number[] => [0x03, 0x40],
  end: (): number[] => [0x0b],
  br: (depth: number): number[] => [0x0c, ...uleb(depth)],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
  localGet: (i: number): number[] => [0x20, ...uleb(i)],
  localSet: (i: number): number[] => [0x21, ...uleb(i)],
  localTee: (i: number): number[] => [0x22, ...uleb(i)],
  i32Const: (n: number): number[] => [0x41, ...sleb(n)],
  i32Add: (): number[] => [0x6a],
  i32Sub: (): number[] => [0x6b],
  i32GeU: (): number[] => [0x4f],
  i32LtU: (): number[] => [0x49],
  i32Eqz: (): number[] => [0x45],
  i32GtU: (): number[] => [0x4b],
  i32Mul: (): number[] => [0x6c],
  i32Shl: (): number[] => [0x74],
  select: (): number[] => [0x1b],
  /** if … end with no result (close with `end`). */
  if: (): number[] => [0x04, 0x40],
  call: (index: number): number[] => [0x10, ...uleb(index)],
  i32Load16U: (offset = 0): number[] => [0x2f, 1, ...uleb(offset)],
  i32And: (): number[] => [0x71],
  i32Xor: (): number[] => [0x73],
  i32ShrU: (): number[] => [0x76],
  i8x16Splat: (): number[] => [0xfd, ...uleb(0x0f)],
  // SIMD (prefix 0xfd). Memory arguments: alignment log2, then offset.
  v128Load: (offset = 0): number[] => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  v128Store: (offset = 0): number[] => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  v128Const: (bytes: number[]): number[] => [0xfd, ...uleb(0x0c), ...bytes],
  i8x16Shuffle: (lanes: number[]): number[] => [0xfd, ...uleb(0x0d), ...lanes],
  i8x16Swizzle: (): number[] => [0xfd, ...uleb(0x0e)],
  /** Relaxed SIMD: same as swizzle for indices < 16 (ours always are), but a bare pshufb on x64. */
  i8x16RelaxedSwizzle: (): number[] => [0xfd, ...uleb(0x100)],
  v128And: (): number[] => [0xfd, ...uleb(0x4e)],
  v128Or: (): number[] => [0xfd, ...uleb(0x50)],
  v128Xor: (): number[] => [0xfd, ...uleb(0x51)],
  i8x16NarrowI16x8U: (): number[] => [0xfd, ...uleb(0x66)],
  i16x8Shl: (): number[] => [0xfd, ...uleb(0x8b)],
  i16x8ShrU: (): number[] => [0xfd, ...uleb(0x8d)],
};

export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  /** Extra locals after the parameters, in order, by type. */
  locals: number[];
  body: number[][];
}

export interface WasmMemoryImport {
  module: string;
  field: string;
  minPages: number;
  maxPages: number;
  shared: boolean;
}

/** Encodes a module that imports one memory and exports the given functions. */
export function encodeModule(memory: WasmMemoryImport, functions: WasmFunction[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const limits = memory.shared
    ? [0x03, ...uleb(memory.minPages), ...uleb(memory.maxPages)]
    : [0x01, ...uleb(memory.minPages), ...uleb(memory.maxPages)];
  const imports = vec([[...name(memory.module), ...name(memory.field), 0x02, ...limits]]);
  const funcs = vec(functions.map((_, i) => uleb(i)));
  const exports = vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const codes = vec(
    functions.map((f) => {
      // Locals are run-length encoded as (count, type) pairs.
      const groups: number[][] = [];
      for (const t of f.locals) {
        const last = groups[groups.length - 1];
        if (last !== undefined && last[1] === t) last[0] = (last[0] ?? 0) + 1;
        else groups.push([1, t]);
      }
      const body = [...vec(groups.map(([n, t]) => [...uleb(n!), t!])), ...f.body.flat(), 0x0b];
      return [...uleb(body.length), ...body];
    }),
  );
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, codes),
  ]);
}
