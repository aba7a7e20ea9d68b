/**
 * zstd on a worker thread: zstd-napi compresses synchronously in the calling
 * thread, which in a running database is the writers' thread (a profile of
 * the archiving benchmark showed it as the largest stall). The bytes are
 * handed over a chunk at a time (two in flight, so memory stays bounded) and
 * the worker writes, hashes and fsyncs the compressed file itself.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const ZSTD_PATH = createRequire(import.meta.url).resolve('zstd-napi');

// Plain JavaScript: the worker is started with eval, so it needs no TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { CompressStream } = require(workerData.zstdPath);
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'open') {
    const z = new CompressStream({ compressionLevel: m.level, nbWorkers: m.workers, checksumFlag: true, contentSizeFlag: true });
    const out = fs.createWriteStream(m.path, { mode: 0o644 });
    const job = { z, out, hash: createHash('sha256'), bytes: 0, failed: null };
    const fail = (err) => { if (!job.failed) { job.failed = err; parentPort.postMessage({ id: m.id, type: 'error', message: String(err && err.message || err) }); } };
    z.on('data', (c) => { job.hash.update(c); job.bytes += c.length; if (!out.write(c)) { z.pause(); out.once('drain', () => z.resume()); } });
    z.on('error', fail);
    out.on('error', fail);
    z.on('end', () => out.end());
    out.on('finish', () => {
      if (job.failed) return;
      try {
        if (m.sync !== false) {
          const fd = fs.openSync(m.path, 'r+');
          try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
        }
        parentPort.postMessage({ id: m.id, type: 'done', compressedSize: job.bytes, sha256: job.hash.digest('hex') });
      } catch (err) { fail(err); }
      jobs.delete(m.id);
    });
    jobs.set(m.id, job);
  } else if (m.type === 'data') {
    const job = jobs.get(m.id);
    if (!job || job.failed) return;
    job.z.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength), () => parentPort.postMessage({ id: m.id, type: 'ack' }));
  } else if (m.type === 'end') {
    const job = jobs.get(m.id);
    if (job && !job.failed) job.z.end();
  }
});
`;

interface Pending {
  acks: Array<() => void>;
  done: (r: { compressedSize: number; sha256: string }) => void;
  fail: (e: Error) => void;
}

let shared: { worker: Worker; jobs: Map<number, Pending>; next: number } | null = null;

function pool() {
  if (shared) return shared;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstdPath: ZSTD_PATH } });
  const jobs = new Map<number, Pending>();
  const s = { worker, jobs, next: 0 };
  worker.on('message', (m: { id: number; type: 'ack' | 'done' | 'error'; compressedSize?: number; sha256?: string; message?: string }) => {
    const j = jobs.get(m.id);
    if (!j) return;
    if (m.type === 'ack') j.acks.shift()?.();
    else if (m.type === 'done') {
      jobs.delete(m.id);
      j.done({ compressedSize: m.compressedSize!, sha256: m.sha256! });
    } else {
      jobs.delete(m.id);
      j.fail(new Error(m.message));
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

/** Compresses `chunks` into `path` on the worker thread; resolves with the compressed size and SHA-256 once the file is fsynced (unless `sync` is false: a temporary file). */
export async function compressOffThread(chunks: AsyncIterable<Buffer>, path: string, level: number, workers: number, sync = true): Promise<{ compressedSize: number; sha256: string }> {
  const p = pool();
  const id = p.next++;
  p.worker.ref();
  let failure: Error | null = null;
  const result = new Promise<{ compressedSize: number; sha256: string }>((done, fail) => {
    p.jobs.set(id, { acks: [], done, fail: (e) => ((failure = e), fail(e)) });
  });
  result.catch(() => undefined);
  const job = p.jobs.get(id)!;
  p.worker.postMessage({ type: 'open', id, path, level, workers, sync });
  const inFlight: Array<Promise<void>> = [];
  for await (const chunk of chunks) {
    if (failure) break;
    inFlight.push(new Promise<void>((r) => job.acks.push(r)));
    // A copy the worker owns: the caller may reuse its buffer.
    const copy = new Uint8Array(chunk.length);
    copy.set(chunk);
    p.worker.postMessage({ type: 'data', id, chunk: copy }, [copy.buffer]);
    if (inFlight.length >= 2) await Promise.race([inFlight.shift()!, result.then(() => undefined, () => undefined)]);
  }
  if (!failure) p.worker.postMessage({ type: 'end', id });
  return result;
}
