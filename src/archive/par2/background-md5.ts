/**
 * An MD5 computed on another thread, fed in order.
 *
 * Verifying a range needs two MD5 streams over the same bytes: one per slice
 * and one for the whole file. MD5 cannot be split, but the two streams can
 * run side by side: the slices on the calling thread, the file in a worker.
 * Data is copied into one of a few buffers that travel to the worker and
 * back (transferred, not cloned), so memory stays bounded at MAX_IN_FLIGHT
 * buffers however far the worker falls behind, and the caller may reuse its
 * own buffer as soon as `update` returns.
 */

import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Buffers on their way to, or being hashed by, the worker before `update` waits. */
const MAX_IN_FLIGHT = 3;

const WORKER_SOURCE = `
  const { parentPort } = require('node:worker_threads');
  const hash = require('node:crypto').createHash('md5');
  parentPort.on('message', (msg) => {
    if (msg === null) return parentPort.postMessage({ digest: hash.digest() });
    hash.update(new Uint8Array(msg.buffer, 0, msg.length));
    parentPort.postMessage({ buffer: msg.buffer }, [msg.buffer]);
  });
`;

export interface Md5Stream {
  /** Adds the next bytes (copied: `data` may be reused once this resolves). */
  update(data: Uint8Array): Promise<void>;
  digest(): Promise<Buffer>;
  /** Stops the worker without a digest (on errors). Idempotent. */
  close(): Promise<void>;
}

/** The same interface on the calling thread, for small inputs where a worker costs more than it saves. */
export function createInlineMd5(): Md5Stream {
  const hash: Hash = createHash('md5');
  return {
    update(data) {
      hash.update(data);
      return Promise.resolve();
    },
    digest: () => Promise.resolve(hash.digest()),
    close: () => Promise.resolve(),
  };
}

export function createBackgroundMd5(): Md5Stream {
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  const free: ArrayBuffer[] = [];
  let inFlight = 0;
  let waiting: (() => void) | undefined;
  let digestWaiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const wake = (): void => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  const fail = (err: Error): void => {
    failure ??= err;
    wake();
    digestWaiter?.reject(err);
  };
  worker.on('message', (msg: { buffer?: ArrayBuffer; digest?: Uint8Array }) => {
    if (msg.digest !== undefined) {
      digestWaiter?.resolve(Buffer.from(msg.digest));
      return;
    }
    inFlight--;
    if (msg.buffer !== undefined) free.push(msg.buffer);
    wake();
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`MD5 worker exited (code ${code})`)));

  return {
    async update(data) {
      while (inFlight >= MAX_IN_FLIGHT && failure === undefined) {
        await new Promise<void>((resolve) => (waiting = resolve));
      }
      if (failure !== undefined) throw failure;
      let buffer = free.pop();
      if (buffer === undefined || buffer.byteLength < data.length) buffer = new ArrayBuffer(data.length);
      new Uint8Array(buffer).set(data);
      inFlight++;
      worker.postMessage({ buffer, length: data.length }, [buffer]);
    },
    async digest() {
      if (failure !== undefined) throw failure;
      const result = new Promise<Buffer>((resolve, reject) => (digestWaiter = { resolve, reject }));
      worker.postMessage(null);
      try {
        return await result;
      } finally {
        failure ??= new Error('MD5 stream already finished');
        await worker.terminate();
      }
    },
    async close() {
      failure ??= new Error('MD5 stream closed');
      await worker.terminate();
    },
  };
}
