/**
 * zstd on a worker thread: zstd-napi compresses synchronously in the calling
 * thread, which in a running database is the writers' thread (a profile of
 * the archiving benchmark showed it as the largest stall). The bytes are
 * handed over a chunk at a time (at most IN_FLIGHT bytes not yet taken, so memory stays bounded) and
 * the worker writes, hashes and fsyncs the compressed file itself.
 *
 * A member of at most ONE_SHOT_MAX bytes is compressed in one call with a
 * compression context the worker keeps (zstd reuses its tables): a streaming
 * context sized for the level's window cost about 0.3 s per member at level 19
 * whatever its size, a one-shot compress of a small member a few ms. The frame
 * is the same standard one (checksum, content size). A larger member streams.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { clearName, FRESH_FLAGS } from '../../store/durable-fs.js';
import { LINK_CHECKER_SOURCE, type LinkSummary } from './decoder/link-checker-source.js';

const ZSTD_PATH = createRequire(import.meta.url).resolve('zstd-napi');

/** Members up to this size are buffered on the worker and compressed in one call (bounded: one member at a time per job). */
export const ONE_SHOT_MAX = 16 * 1024 * 1024;

/** Bytes handed to the worker and not yet taken by it, at most (beyond two chunks). */
const IN_FLIGHT = 4 * 1024 * 1024;

// Plain JavaScript: the worker is started with eval, so it needs no TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
${LINK_CHECKER_SOURCE}
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { CompressStream, Compressor } = require(workerData.zstdPath);
const ONE_SHOT_MAX = workerData.oneShotMax;
const jobs = new Map();
let cmp = null;
let cmpKey = '';
// One input buffer kept for one job at a time (its pages faulted in once); other jobs at the same time gather chunks.
let stage = null;
let stageOwner = null;
function release(job) { if (stageOwner === job) stageOwner = null; job.buf = null; }
function params(m, size) {
  const p = { compressionLevel: m.level, nbWorkers: m.workers, checksumFlag: true, contentSizeFlag: true };
  // Several zstd threads only help when the member is split into several jobs: one per thread, at least 1 MiB.
  if (m.workers > 1 && size !== undefined) p.jobSize = Math.max(1, Math.ceil(size / m.workers / (1 << 20))) << 20;
  return p;
}
// The file is made fresh (m.flags: the caller cleared its name) and written through its descriptor only, synchronously: this thread does nothing else meanwhile.
function openOut(job) { job.fd = fs.openSync(job.m.path, job.m.flags, 0o644); }
function closeOut(job) { const fd = job.fd; job.fd = null; if (fd !== null) fs.closeSync(fd); }
function writeOut(job, buf) { for (let off = 0; off < buf.length; ) off += fs.writeSync(job.fd, buf, off); }
function startStream(job) {
  const m = job.m;
  const z = new CompressStream(params(m));
  job.z = z;
  z.on('data', (c) => {
    if (job.failed) return;
    job.hash.update(c); job.bytes += c.length;
    try { writeOut(job, c); } catch (err) { job.fail(err); z.destroy(); }
  });
  z.on('error', job.fail);
  z.on('end', () => finish(job));
  if (job.buf) z.write(Buffer.from(job.buf.subarray(0, job.pendingBytes)));
  for (const c of job.pending) z.write(c);
  job.pending = [];
  release(job);
}
function finish(job) {
  const m = job.m;
  if (job.failed) return;
  try {
    if (m.sync !== false) fs.fsyncSync(job.fd);
    closeOut(job);
    parentPort.postMessage({ id: m.id, type: 'done', compressedSize: job.bytes, sha256: job.hash.digest('hex'), originalSize: job.inBytes, contentSha256: job.inHash.digest('hex'), links: job.links ? job.links.summary() : null });
  } catch (err) { job.fail(err); }
  jobs.delete(m.id);
}
function oneShot(job) {
  const m = job.m;
  try {
    const input = job.buf ? job.buf.subarray(0, job.pendingBytes) : job.pending.length === 1 ? job.pending[0] : Buffer.concat(job.pending, job.pendingBytes);
    job.pending = [];
    const key = JSON.stringify(params(m, input.length));
    if (cmp === null) cmp = new Compressor();
    if (key !== cmpKey) { cmp.setParameters(params(m, input.length)); cmpKey = key; }
    const out = cmp.compress(input);
    job.hash.update(out);
    job.bytes = out.length;
    release(job);
    writeOut(job, out);
    finish(job);
  } catch (err) { job.fail(err); }
}
parentPort.on('message', (m) => {
  if (m.type === 'open') {
    const job = { m, fd: null, z: null, buf: undefined, pending: [], pendingBytes: 0, hash: createHash('sha256'), inHash: createHash('sha256'), inBytes: 0, bytes: 0, failed: null, links: m.links ? linkChecker() : null };
    job.fail = (err) => { if (!job.failed) { job.failed = err; release(job); try { closeOut(job); } catch {} jobs.delete(m.id); parentPort.postMessage({ id: m.id, type: 'error', message: String(err && err.message || err), code: err && err.code, syscall: err && err.syscall, path: (err && err.path) || m.path }); } };
    jobs.set(m.id, job);
    try { openOut(job); } catch (err) { job.fail(err); }
  } else if (m.type === 'data') {
    const job = jobs.get(m.id);
    if (!job || job.failed) return;
    const chunk = Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength);
    job.inHash.update(chunk);
    job.inBytes += chunk.length;
    // WAL lines (each chunk whole lines): their chain's links checked here, beside the compression.
    if (job.links) job.links.lines(chunk, 0, chunk.length, cutsOf(chunk, 0, chunk.length));
    if (job.z === null && job.pendingBytes + chunk.length <= ONE_SHOT_MAX) {
      if (job.buf === undefined) {
        job.buf = stageOwner === null ? (stage ??= Buffer.allocUnsafeSlow(ONE_SHOT_MAX)) : null;
        if (job.buf) stageOwner = job;
      }
      if (job.buf) chunk.copy(job.buf, job.pendingBytes);
      else job.pending.push(chunk);
      job.pendingBytes += chunk.length;
      parentPort.postMessage({ id: m.id, type: 'ack' });
      return;
    }
    if (job.z === null) startStream(job);
    job.z.write(chunk, () => parentPort.postMessage({ id: m.id, type: 'ack' }));
  } else if (m.type === 'abort') {
    const job = jobs.get(m.id);
    jobs.delete(m.id);
    if (job) { job.failed = new Error('aborted'); release(job); if (job.z) job.z.destroy(); try { closeOut(job); } catch {} }
    // Said once the file is closed (or was never opened): only then may the caller remove it and its folder.
    parentPort.postMessage({ id: m.id, type: 'aborted' });
  } else if (m.type === 'end') {
    const job = jobs.get(m.id);
    if (!job || job.failed) return;
    if (job.z === null) oneShot(job);
    else job.z.end();
  }
});
`;

export interface OffThreadResult {
  compressedSize: number;
  sha256: string;
  /** Bytes handed over and their SHA-256, computed on the worker. */
  originalSize: number;
  contentSha256: string;
  /** With `links`: what the chain's links inside the lines handed over came to (LINK_CHECKER_SOURCE's summary). */
  links?: LinkSummary | null;
}

export interface OffThreadOptions {
  /** fsync the file (default true; false: a temporary file). */
  sync?: boolean;
  /** What the caller gives up of each chunk (see compressOffThread). */
  owned?: boolean | 'whole';
  /** The chunks are whole WAL lines: check the hash chain's links inside them on the thread too. */
  links?: boolean;
}

interface Pending {
  acks: Array<() => void>;
  done: (r: OffThreadResult) => void;
  fail: (e: Error) => void;
}

/** A failure as the worker thread says it: a failed system call keeps its errno, call and path. */
interface WorkerFailure {
  message: string;
  code?: string;
  syscall?: string;
  path?: string;
}

/** The worker's error as one of this thread, so that a full disk is still ENOSPC (an IO_ERROR naming the file) and not an untyped error. */
function rebuiltError(f: Partial<WorkerFailure>): Error {
  const err: NodeJS.ErrnoException = new Error(f.message ?? 'the zstd worker failed');
  if (typeof f.code === 'string') err.code = f.code;
  if (typeof f.syscall === 'string') err.syscall = f.syscall;
  if (typeof f.path === 'string') err.path = f.path;
  return err;
}

let shared: { worker: Worker; jobs: Map<number, Pending>; next: number } | null = null;

function pool() {
  if (shared) return shared;
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { zstdPath: ZSTD_PATH, oneShotMax: ONE_SHOT_MAX } });
  const jobs = new Map<number, Pending>();
  const s = { worker, jobs, next: 0 };
  worker.on('message', (m: { id: number; type: 'ack' | 'done' | 'error' | 'aborted' } & Partial<OffThreadResult & WorkerFailure>) => {
    const j = jobs.get(m.id);
    if (!j) return;
    if (m.type === 'ack') j.acks.shift()?.();
    else if (m.type === 'aborted') {
      jobs.delete(m.id);
      j.fail(new Error('aborted'));
    } else if (m.type === 'done') {
      jobs.delete(m.id);
      j.done({ compressedSize: m.compressedSize!, sha256: m.sha256!, originalSize: m.originalSize!, contentSha256: m.contentSha256!, ...(m.links ? { links: m.links } : {}) });
    } else {
      jobs.delete(m.id);
      j.fail(rebuiltError(m));
    }
    if (jobs.size === 0) worker.unref();
  });
  const failAll = (err: Error) => {
    for (const j of jobs.values()) j.fail(err);
    jobs.clear();
    shared = null;
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the zstd worker exited (code ${code})`)));
  worker.unref();
  shared = s;
  return s;
}

/**
 * Compresses `chunks` into `path` on the worker thread; resolves with the sizes and SHA-256 of both
 * sides once the file is fsynced (unless `sync` is false: a temporary file). With `owned`, the caller
 * gives up each chunk: a chunk that spans its whole ArrayBuffer is transferred, not copied (the
 * caller must not touch it again); otherwise each chunk is copied (the caller may reuse its buffer).
 * With `owned: 'whole'`, the caller gives up the whole ArrayBuffer under each chunk (memory allocated
 * for that chunk alone, never Buffer's shared pool, read through no other view afterwards): it is
 * transferred whatever part of it the chunk views (a WAL chunk of whole lines is most of its buffer:
 * copying each cost a fresh 256 KiB and its page faults).
 */
export async function compressOffThread(chunks: AsyncIterable<Uint8Array>, path: string, level: number, workers: number, opts: OffThreadOptions = {}): Promise<OffThreadResult> {
  const { sync = true, owned = false, links = false } = opts;
  // Before the job is registered and the worker held: a name that cannot be cleared (too long, a read-only
  // file system) fails the call alone, and never leaves the worker referenced (the process then never exited).
  await clearName(path);
  const p = pool();
  const id = p.next++;
  p.worker.ref();
  let failure: Error | null = null;
  const result = new Promise<OffThreadResult>((done, fail) => {
    p.jobs.set(id, { acks: [], done, fail: (e) => ((failure = e), fail(e)) });
  });
  result.catch(() => undefined);
  const job = p.jobs.get(id)!;
  p.worker.postMessage({ type: 'open', id, path, flags: FRESH_FLAGS, level, workers, sync, links });
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  let unacked = 0;
  let wake: (() => void) | null = null;
  try {
    await send(chunks);
  } catch (err) {
    // The input failed: the worker drops the job, and says when its file is closed (or the job had ended, or the worker
    // died): the caller removes the file and its folder only after that, never while the worker may still make it.
    p.worker.postMessage({ type: 'abort', id });
    await settled;
    if (p.jobs.size === 0) p.worker.unref();
    throw err;
  }
  if (!failure) p.worker.postMessage({ type: 'end', id });
  return result;

  async function send(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    for await (const chunk of chunks) {
      if (failure) break;
      if (chunk.length === 0) continue;
      const size = chunk.length;
      job.acks.push(() => {
        unacked -= size;
        wake?.();
      });
      unacked += size;
      // Only a chunk that spans its whole ArrayBuffer: never a slice of Buffer.allocUnsafe's pool (slices are under half
      // the pool), whose transfer would detach its neighbours. Not a size test: the pool is 8 KiB on Node 20, 64 KiB on 24.
      const transfer = owned !== false && chunk.buffer instanceof ArrayBuffer && (owned === 'whole' || (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength));
      let send: Uint8Array;
      if (transfer) send = chunk;
      else {
        send = new Uint8Array(chunk.length);
        send.set(chunk);
      }
      p.worker.postMessage({ type: 'data', id, chunk: send }, [send.buffer as ArrayBuffer]);
      // At most IN_FLIGHT bytes not yet taken by the worker (it may be busy with another member for a while).
      while (unacked > IN_FLIGHT && !failure) await Promise.race([new Promise<void>((r) => (wake = r)), settled]);
    }
  }
}
