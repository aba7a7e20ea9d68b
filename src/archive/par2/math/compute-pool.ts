/**
 * Where the multiply-accumulate work runs: worker threads sharing one
 * WebAssembly memory with the main thread, or the main thread alone.
 *
 * The main thread owns the memory's layout. It reads file data and writes
 * coefficient tables into the memory, then hands out tasks (pointer ranges)
 * and awaits them; workers never touch files. Small jobs run inline, since
 * starting a worker costs tens of milliseconds.
 */

import { Worker } from 'node:worker_threads';
import { createJsKernel } from './kernel-js.js';
import { instantiateKernel, kernelModuleBytes, wasmKernelVariant, type WasmKernelExports } from './kernel-wasm.js';
import { wasmApi, type WasmMemory, type WasmModule } from './wasm-api.js';
import { runTask, WORKER_SOURCE, type CombineTask } from './task-runner.js';

const WASM_PAGE_BYTES = 65536;
const MAX_WASM_PAGES = 65536;

/**
 * Which multiply-accumulate implementation to use. 'auto' = the best wasm
 * SIMD variant the runtime has, else JS; 'wasm' = plain wasm SIMD (even where
 * relaxed SIMD exists; for tests and comparisons).
 */
export type KernelChoice = 'auto' | 'wasm' | 'js';
export type KernelName = 'wasm-relaxed-simd' | 'wasm-simd' | 'js';

export interface ComputePoolOptions {
  /** Bytes of memory the engine lays its buffers out in. */
  memoryBytes: number;
  /** Worker threads to start; 0 runs every task on the calling thread. */
  threads: number;
  kernel?: KernelChoice;
}

export interface ComputePool {
  readonly memory: WasmMemory;
  /** Number of threads tasks are spread over (1 when inline). */
  readonly parallelism: number;
  readonly kernelName: KernelName;
  /** The kernel on this thread, over the same memory (for preparing inputs and joining outputs). */
  readonly kernel: WasmKernelExports;
  /** Runs the tasks (at most `parallelism` at a time is useful) and resolves when all are done. */
  run(tasks: CombineTask[]): Promise<void>;
  /** Stops the workers. Idempotent. */
  close(): Promise<void>;
}

const moduleCache = new Map<string, WasmModule>();
function kernelModule(shared: boolean, relaxed: boolean): WasmModule {
  const key = `${shared}/${relaxed}`;
  let m = moduleCache.get(key);
  if (m === undefined) {
    m = new wasmApi.Module(kernelModuleBytes(shared, relaxed));
    moduleCache.set(key, m);
  }
  return m;
}

export function createComputePool(options: ComputePoolOptions): ComputePool {
  const pages = Math.max(1, Math.ceil(options.memoryBytes / WASM_PAGE_BYTES));
  if (pages > MAX_WASM_PAGES) throw new RangeError(`engine memory too large: ${options.memoryBytes} bytes`);
  const choice = options.kernel ?? 'auto';
  const variant = choice === 'js' ? 'none' : wasmKernelVariant();
  if (choice === 'wasm' && variant === 'none') throw new Error('WebAssembly SIMD is not available in this runtime');
  const useWasm = variant !== 'none';
  const relaxed = choice === 'auto' && variant === 'relaxed-simd';
  // Threads need the shared memory and the wasm kernel (the JS kernel lives in this module graph only).
  const threads = useWasm ? Math.max(0, Math.floor(options.threads)) : 0;
  const shared = threads > 0;
  const memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared });
  const kernelName: KernelName = !useWasm ? 'js' : relaxed ? 'wasm-relaxed-simd' : 'wasm-simd';
  if (threads === 0) {
    const kernel: WasmKernelExports = useWasm ? instantiateKernel(kernelModule(false, relaxed), memory) : createJsKernel(memory);
    return new InlinePool(memory, kernel, kernelName);
  }
  const module = kernelModule(true, relaxed);
  return new WorkerPool(memory, module, instantiateKernel(module, memory), threads, kernelName);
}

class InlinePool implements ComputePool {
  readonly parallelism = 1;
  constructor(
    readonly memory: WasmMemory,
    readonly kernel: WasmKernelExports,
    readonly kernelName: KernelName,
  ) {}

  run(tasks: CombineTask[]): Promise<void> {
    for (const task of tasks) runTask(this.kernel, task);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

class WorkerPool implements ComputePool {
  readonly parallelism: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: CombineTask; pending: Pending }[] = [];
  private readonly inFlight = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    readonly memory: WasmMemory,
    module: WasmModule,
    readonly kernel: WasmKernelExports,
    threads: number,
    readonly kernelName: KernelName,
  ) {
    this.parallelism = threads;
    for (let t = 0; t < threads; t++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { memory, module } });
      worker.on('message', (msg: { id: number; error?: string }) => this.onMessage(worker, msg));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`PAR2 worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  run(tasks: CombineTask[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.all(
      tasks.map(
        (task) =>
          new Promise<void>((resolve, reject) => {
            this.queue.push({ task, pending: { resolve, reject } });
            this.pump();
          }),
      ),
    ).then(() => undefined);
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const { task, pending } = this.queue.shift()!;
      const id = this.nextId++;
      this.inFlight.set(id, pending);
      worker.postMessage({ id, task });
    }
  }

  private onMessage(worker: Worker, msg: { id: number; error?: string }): void {
    const pending = this.inFlight.get(msg.id);
    this.inFlight.delete(msg.id);
    this.idle.push(worker);
    if (msg.error !== undefined) pending?.reject(new Error(`PAR2 worker failed: ${msg.error}`));
    else pending?.resolve();
    this.pump();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.inFlight.values()) p.reject(err);
    this.inFlight.clear();
    for (const q of this.queue.splice(0)) q.pending.reject(err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
