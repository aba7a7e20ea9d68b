/**
 * The engine behind create and repair: computes M output blocks as linear
 * combinations of K input blocks over GF(2^16),
 *
 *     out_j = Σ_i C[j][i] · in_i        (blocks of B bytes, 16-bit LE words)
 *
 * in bounded memory. Create uses it with C = the PAR 2.0 matrix (inputs =
 * source blocks, outputs = recovery blocks); repair with C = the solved
 * system (inputs = surviving blocks and recovery blocks, outputs = the lost
 * blocks).
 *
 * Memory is bounded by working on column chunks: all outputs are held for a
 * range of W bytes of every block (M·W bytes), and inputs stream through in
 * groups of G slices of that range. When M·B fits the budget, W = B: one
 * pass, each input block read once, in order. Otherwise the file is read in
 * ceil(B/W) passes, each reading one W-wide slice of every block. Nothing
 * else grows with the file's size.
 *
 * While the threads compute group g, the main thread reads group g+1 into a
 * staging area, prepares it for the kernel (splitInput) and writes its
 * coefficient tables, all into the second half of a double buffer.
 */

import { availableParallelism } from 'node:os';
import { BriError, ErrorCodes } from '../../../errors.js';
import { createComputePool, type KernelChoice } from './compute-pool.js';
import { INPUT_EXPANSION, KERNEL_STRIDE_BYTES, NIBBLE_TABLE_BYTES } from './kernel-wasm.js';
import type { CombineTask } from './task-runner.js';

/** Default memory for the engine's buffers (create and repair). */
export const DEFAULT_MEMORY_LIMIT_BYTES = 64 * 1024 * 1024;
/** Narrowest column chunk; below this, per-call overheads dominate. */
const MIN_COLUMN_BYTES = 256;
/**
 * Most input slices per group. A sweep reads every prepared input of the
 * group (16 × 16 KiB here) once per output, so they must stay in the core's
 * L2; more would only add memory.
 */
const MAX_GROUP_SIZE = 16;
/** Cap on coefficient tables per buffer half (they are rebuilt for every group). */
const MAX_TABLE_BYTES = 4 * 1024 * 1024;
/** Below this much multiply-accumulate work (bytes), workers cost more than they save. */
const INLINE_WORK_BYTES = 256 * 1024 * 1024;
/** More threads than this gains nothing: the main thread's reading and hashing becomes the limit. */
const MAX_THREADS = 8;

export interface CombineShape {
  inputCount: number;
  outputCount: number;
  /** Bytes per block; a multiple of 2 (PAR 2.0 uses multiples of 4). */
  blockBytes: number;
}

export interface CombinePlan {
  /** Bytes of each block per pass (a multiple of 32, except that passes cover the block exactly). */
  columnBytes: number;
  passes: number;
  /** Input slices per group. */
  groupSize: number;
  /** Bytes of the shared memory the engine lays out. */
  memoryBytes: number;
  /** Worker threads (0 = run on the calling thread). */
  threads: number;
}

export interface CombineJob extends CombineShape {
  /**
   * Writes the coefficients for inputs [first, first + count) into dest:
   * dest[j·count + i] = C[j][first + i] for every output j.
   */
  fillCoefficients(first: number, count: number, dest: Uint16Array): void;
  /**
   * Fills `dest` with bytes [offset, offset + dest.length) of input block
   * `index`, zeros past the end of the data. `dest` is a view of shared
   * memory: copy out of it, never keep it.
   */
  readInput(index: number, offset: number, dest: Uint8Array): Promise<void>;
  /** Receives bytes [offset, offset + data.length) of output `index`. Same rule for `data`. */
  writeOutput(index: number, offset: number, data: Uint8Array): Promise<void>;
  /** Input bytes consumed so far, over all passes, out of the total. */
  onProgress?(done: number, total: number): void;
}

export interface CombineOptions {
  memoryLimitBytes: number;
  /** Worker threads; default: none for small jobs, else one per core. */
  threads?: number;
  kernel?: KernelChoice;
  signal?: AbortSignal;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Chooses column width, passes and group size for a job within a memory limit. */
export function planCombine(shape: CombineShape, options: CombineOptions): CombinePlan {
  const { inputCount: K, blockBytes: B } = shape;
  const M = Math.max(1, shape.outputCount);
  const limit = options.memoryLimitBytes;
  const padded = roundUp(B, KERNEL_STRIDE_BYTES);
  // Outputs get most of the budget: the wider the column, the fewer passes over the input.
  const maxWidth = Math.max(MIN_COLUMN_BYTES, Math.floor((limit * 0.7) / M / KERNEL_STRIDE_BYTES) * KERNEL_STRIDE_BYTES);
  // Even out the passes, then count them again: rounding W up to 32 may leave fewer.
  const columnBytes = roundUp(Math.ceil(padded / Math.ceil(padded / maxWidth)), KERNEL_STRIDE_BYTES);
  const passes = Math.max(1, Math.ceil(B / columnBytes));
  // Per input slot: staging once, prepared twice (double buffer) at INPUT_EXPANSION bytes per byte.
  const byInputs = Math.floor((limit * 0.2) / ((1 + 2 * INPUT_EXPANSION) * columnBytes));
  const byTables = Math.floor(Math.min(MAX_TABLE_BYTES, limit * 0.1) / (M * (NIBBLE_TABLE_BYTES + 2)));
  const groupSize = Math.max(1, Math.min(MAX_GROUP_SIZE, K, byInputs, byTables));
  const work = K * M * B;
  const threads =
    options.threads ?? (work < INLINE_WORK_BYTES ? 0 : Math.min(MAX_THREADS, Math.max(1, availableParallelism())));
  return { columnBytes, passes, groupSize, memoryBytes: layout(M, groupSize, columnBytes).total, threads };
}

/**
 * Byte offsets of the engine's buffers in the shared memory: two halves of
 * everything a group needs once prepared (coefficients, tables, prepared
 * inputs), one staging area for raw reads, and the outputs.
 */
function layout(M: number, G: number, W: number) {
  const coefBytes = roundUp(M * G * 2, NIBBLE_TABLE_BYTES);
  const tableBytes = M * G * NIBBLE_TABLE_BYTES;
  const slotBytes = INPUT_EXPANSION * W;
  const preparedBytes = G * slotBytes;
  const coef = [0, coefBytes];
  const tables = [2 * coefBytes, 2 * coefBytes + tableBytes];
  const staging = 2 * coefBytes + 2 * tableBytes;
  const prepared = [staging + G * W, staging + G * W + preparedBytes];
  const outputs = staging + G * W + 2 * preparedBytes;
  return { coef, tables, staging, prepared, slotBytes, outputs, total: outputs + M * W };
}

/** Runs a job to completion. Outputs are delivered once per pass, for every output, in index order. */
export async function runCombine(job: CombineJob, plan: CombinePlan, options: CombineOptions): Promise<void> {
  const { inputCount: K, outputCount: M, blockBytes: B } = job;
  if (M === 0) return;
  const { columnBytes: W, groupSize: G } = plan;
  const pool = createComputePool({
    memoryBytes: plan.memoryBytes,
    threads: plan.threads,
    ...(options.kernel === undefined ? {} : { kernel: options.kernel }),
  });
  try {
    const mem = layout(M, G, W);
    const u8 = () => new Uint8Array(pool.memory.buffer);
    const groups = Math.ceil(K / G);
    const total = K * B;
    let done = 0;

    // Reads group g's input slices, prepares them and writes coefficients and tables, into buffer half h.
    const prepare = async (g: number, x: number, width: number, h: 0 | 1): Promise<void> => {
      const first = g * G;
      const count = Math.min(G, K - first);
      const padded = roundUp(width, KERNEL_STRIDE_BYTES);
      const view = u8();
      const reads: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        const slot = mem.staging + i * W;
        if (width < padded) view.fill(0, slot + width, slot + padded);
        reads.push(job.readInput(first + i, x, view.subarray(slot, slot + width)));
      }
      try {
        // Tables while the reads are in flight.
        job.fillCoefficients(first, count, new Uint16Array(pool.memory.buffer, mem.coef[h]!, M * count));
        pool.kernel.buildTables(mem.coef[h]!, M * count, mem.tables[h]!);
      } finally {
        // Never leave a read behind, even when the tables failed: its rejection would go unhandled.
        const settled = await Promise.allSettled(reads);
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      }
      for (let i = 0; i < count; i++) {
        pool.kernel.splitInput(mem.prepared[h]! + i * mem.slotBytes, mem.staging + i * W, padded);
      }
    };

    for (let pass = 0; pass < plan.passes; pass++) {
      const x = pass * W;
      const width = Math.min(W, B - x);
      u8().fill(0, mem.outputs, mem.outputs + M * W);
      await prepare(0, x, width, 0);
      for (let g = 0; g < groups; g++) {
        options.signal?.throwIfAborted();
        const h = (g % 2) as 0 | 1;
        const count = Math.min(G, K - g * G);
        const running = pool.run(splitTasks(M, count, roundUp(width, KERNEL_STRIDE_BYTES), pool.parallelism, {
          coefPtr: mem.coef[h]!,
          tablePtr: mem.tables[h]!,
          inBase: mem.prepared[h]!,
          outBase: mem.outputs,
        }, mem.slotBytes, W));
        // Read ahead while the threads work; settle both before deciding what failed.
        const next = g + 1 < groups ? prepare(g + 1, x, width, (1 - h) as 0 | 1) : Promise.resolve();
        const [r1, r2] = await Promise.allSettled([running, next]);
        if (r1.status === 'rejected') throw r1.reason;
        if (r2.status === 'rejected') throw r2.reason;
        done += count * width;
        job.onProgress?.(done, total);
      }
      pool.kernel.joinOutput(mem.outputs, M * W);
      for (let j = 0; j < M; j++) {
        const at = mem.outputs + j * W;
        await job.writeOutput(j, x, u8().subarray(at, at + width));
      }
    }
  } catch (err) {
    if (options.signal?.aborted) {
      throw new BriError(ErrorCodes.CANCELLED, 'PAR2 computation cancelled', { cause: err });
    }
    throw err;
  } finally {
    await pool.close();
  }
}

/** Column splits fall on cache-line boundaries, so that two threads never write the same line. */
const CACHE_LINE_BYTES = 64;

/**
 * Splits one group's work across threads. By columns: every thread does all
 * outputs over its share of the columns, so the shares are equal whatever
 * the number of outputs, and no input byte is read by two threads. Columns
 * too narrow to share are split by outputs instead.
 */
function splitTasks(
  M: number,
  groupSize: number,
  width: number,
  parallelism: number,
  at: { coefPtr: number; tablePtr: number; inBase: number; outBase: number },
  inStride: number,
  outStride: number,
): CombineTask[] {
  const base = { ...at, groupSize, inStride, outStride };
  const tasks: CombineTask[] = [];
  const lines = Math.ceil(width / CACHE_LINE_BYTES);
  if (parallelism <= 1 || lines >= parallelism) {
    for (let p = 0; p < parallelism; p++) {
      const x0 = Math.floor((p * lines) / parallelism) * CACHE_LINE_BYTES;
      const x1 = Math.min(width, Math.floor(((p + 1) * lines) / parallelism) * CACHE_LINE_BYTES);
      if (x1 > x0) tasks.push({ ...base, j0: 0, j1: M, x0, x1 });
    }
  } else {
    const parts = Math.min(parallelism, M);
    for (let p = 0; p < parts; p++) {
      const j0 = Math.floor((p * M) / parts);
      const j1 = Math.floor(((p + 1) * M) / parts);
      if (j1 > j0) tasks.push({ ...base, j0, j1, x0: 0, x1: width });
    }
  }
  return tasks;
}
