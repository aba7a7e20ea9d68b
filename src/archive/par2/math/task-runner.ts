/**
 * How a task reaches the kernel, on the main thread and in worker threads.
 *
 * A task says: for outputs j in [j0, j1) and columns [x0, x1) of the current
 * group of G input slices (already prepared by the kernel's splitInput, so
 * column x of input i lies at inBase + i·inStride + 2x),
 *
 *     out_j[x0..x1) ^= Σ_i c(j, i) · in_i[x0..x1)
 *
 * with the 128-byte nibble table of c(j, i) already written by the main
 * thread at tablePtr + (j·G + i)·128, and the coefficients themselves at
 * coefPtr (u16, same order) so that zeros are skipped. The loops are the
 * kernel's `mulAddTask`.
 *
 * Workers are started from source text (`new Worker(code, { eval: true })`):
 * a worker cannot load a .ts module when the caller runs under tsx or vitest,
 * and a string works the same everywhere, compiled or not. They start with no
 * node options (`execArgv: []`): plain JavaScript needs no loader, and a worker
 * that inherits tsx's boots about 60 ms slower.
 */

import type { WasmKernelExports } from './kernel-wasm.js';

/** What one task computes. All pointers are byte offsets into the shared memory. */
export interface CombineTask {
  coefPtr: number;
  tablePtr: number;
  groupSize: number;
  inBase: number;
  inStride: number;
  outBase: number;
  outStride: number;
  j0: number;
  j1: number;
  x0: number;
  x1: number;
}

export function runTask(kernel: WasmKernelExports, t: CombineTask): void {
  kernel.mulAddTask(t.outBase, t.outStride, t.inBase, t.inStride, t.tablePtr, t.coefPtr, t.groupSize, t.j0, t.j1, t.x0, t.x1);
}

/**
 * Source of a worker: instantiate the kernel on the shared memory it is
 * given, then run tasks as they arrive and answer each with its id.
 */
export const WORKER_SOURCE = `
  const { parentPort, workerData } = require('node:worker_threads');
  const instance = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } });
  const k = instance.exports;
  parentPort.on('message', ({ id, task: t }) => {
    try {
      k.mulAddTask(t.outBase, t.outStride, t.inBase, t.inStride, t.tablePtr, t.coefPtr, t.groupSize, t.j0, t.j1, t.x0, t.x1);
      parentPort.postMessage({ id });
    } catch (err) {
      parentPort.postMessage({ id, error: String((err && err.stack) || err) });
    }
  });
`;
