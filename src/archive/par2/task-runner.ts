/**
 * The inner loop of the engine, shared by worker threads and the main thread.
 *
 * It is kept as JavaScript source text because worker threads are started
 * from that text (`new Worker(code, { eval: true })`): a worker cannot load a
 * .ts module when the caller runs under tsx or vitest, and a string works the
 * same everywhere, compiled or not. The main thread builds the very same
 * function with `new Function`, so there is one implementation to test.
 *
 * A task says: for outputs j in [j0, j1) and columns [x0, x1) of the current
 * group of G input slices (already prepared by the kernel's splitInput, so
 * column x of input i lies at inBase + i·inStride + 2x),
 *
 *     out_j[x0..x1) ^= Σ_i c(j, i) · in_i[x0..x1)
 *
 * with the 128-byte nibble table of c(j, i) already written by the main
 * thread at tablePtr + (j·G + i)·128, and the coefficients themselves at
 * coefPtr (u16, same order) so that zeros are skipped. Columns are walked in
 * sub-ranges small enough that one output's slice and the group's input
 * slices stay in the core's caches while every input is added to it.
 */

import { INPUT_EXPANSION, type WasmKernelExports } from './kernel-wasm.js';
import type { WasmMemory } from './wasm-api.js';

/** What one `runTask` call computes. All pointers are byte offsets into the shared memory. */
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

/** Bytes of columns handled per inner sweep: one output slice plus G input slices of this size stay cache-resident. */
export const SWEEP_BYTES = 8192;

export const RUN_TASK_SOURCE = `
  const coef = new Uint16Array(memory.buffer);
  const G = task.groupSize;
  const coefBase = task.coefPtr >>> 1;
  for (let x = task.x0; x < task.x1; x += ${SWEEP_BYTES}) {
    const len = Math.min(${SWEEP_BYTES}, task.x1 - x);
    for (let j = task.j0; j < task.j1; j++) {
      const out = task.outBase + j * task.outStride + x;
      for (let i = 0; i < G; i++) {
        const k = j * G + i;
        if (coef[coefBase + k] === 0) continue;
        kernel.mulAdd(out, task.inBase + i * task.inStride + ${INPUT_EXPANSION} * x, task.tablePtr + k * 128, len);
      }
    }
  }
`;

export type RunTask = (kernel: WasmKernelExports, memory: WasmMemory, task: CombineTask) => void;

/** The task loop as a function for the main thread. */
export function createRunTask(): RunTask {
  return new Function('kernel', 'memory', 'task', RUN_TASK_SOURCE) as RunTask;
}

/**
 * Source of a worker: instantiate the kernel on the shared memory it is
 * given, then run tasks as they arrive and answer each with its id.
 */
export const WORKER_SOURCE = `
  const { parentPort, workerData } = require('node:worker_threads');
  const memory = workerData.memory;
  const instance = new WebAssembly.Instance(workerData.module, { env: { memory } });
  const kernel = instance.exports;
  const runTask = new Function('kernel', 'memory', 'task', ${JSON.stringify(RUN_TASK_SOURCE)});
  parentPort.on('message', (msg) => {
    try {
      runTask(kernel, memory, msg.task);
      parentPort.postMessage({ id: msg.id });
    } catch (err) {
      parentPort.postMessage({ id: msg.id, error: String(err && err.stack || err) });
    }
  });
`;
