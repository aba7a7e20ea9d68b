/**
 * Cooperative time slicing for long loops on the writers' thread: after
 * `sliceMs` of work the loop gives the event loop a turn (setImmediate, so
 * that I/O callbacks and timers run, which a chain of microtasks would not
 * allow). A profile of the archiving benchmark showed loops of 50-200 ms
 * (snapshot encoding, WAL staging) as the stalls behind its p99 write latency;
 * a write waits for up to one slice, so the slice is short (4 ms gave a p99
 * of 8-9 ms beside an archive, 2 ms gives 6-8 ms).
 */
import { performance } from 'node:perf_hooks';

export const DEFAULT_SLICE_MS = 2;

export interface TimeSlicer {
  /** Resolves at once while the slice lasts; otherwise after a turn of the event loop. */
  maybeYield(): Promise<void> | null;
}

export function timeSlicer(sliceMs = DEFAULT_SLICE_MS): TimeSlicer {
  let sliceStart = performance.now();
  return {
    maybeYield() {
      if (performance.now() - sliceStart < sliceMs) return null;
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          sliceStart = performance.now();
          resolve();
        }),
      );
    },
  };
}
