/**
 * Typed access to the WebAssembly global.
 *
 * The project compiles with `lib: ES2023` and no DOM, and this @types/node
 * does not declare `WebAssembly`, so the few members the kernel needs are
 * typed here rather than by changing the shared compiler settings or adding
 * a global declaration every other module would see.
 */

export interface WasmMemory {
  /** An ArrayBuffer, or a SharedArrayBuffer when created with `shared: true`. */
  readonly buffer: ArrayBufferLike;
}

/** A compiled module; opaque here. Can be sent to worker threads. */
export type WasmModule = object;

export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => {
    readonly exports: Record<string, unknown>;
  };
  validate(bytes: Uint8Array): boolean;
}

export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
