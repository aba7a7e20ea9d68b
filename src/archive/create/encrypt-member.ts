/**
 * A member of an encrypted archive, compressed and encrypted on the way to its staged file: zstd on a
 * worker thread hands its output back, and age (on this thread) writes only ciphertext. Compressing
 * into a plaintext `.zst` first left the members in the clear in the stage directory, on the archive
 * disk, until a later create swept it whenever a run was killed or failed.
 *
 * The stored bytes (what the manifest's sha256 and size, the checksums and PAR2 cover) are the
 * ciphertext, so an archive can be verified and repaired by someone who cannot read it; originalSize
 * and contentSha256 are of the plaintext, as compressOffThread gives them for a plain archive.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { AgeRecipients } from '../crypto/age-keys.js';
import { encryptToFile } from '../crypto/age-stream.js';
import { ONE_SHOT_MAX, type OffThreadOptions, type OffThreadResult } from '../package/compress-worker.js';
import { LINK_CHECKER_SOURCE } from '../package/decoder/link-checker-source.js';

const ZSTD_PATH = createRequire(import.meta.url).resolve('zstd-napi');

/** Plaintext handed to the worker and not yet taken by it, at most (beyond two chunks). */
const IN_FLIGHT = 4 * 1024 * 1024;
/** Compressed bytes the worker sends ahead of what age has taken, at most (then its zstd stream pauses). */
const OUT_AHEAD = 4 * 1024 * 1024;

// Plain JavaScript, started with eval (no TypeScript loader): compress-worker.ts's protocol and zstd
// parameters (so the same frames), the output sent back instead of written.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
${LINK_CHECKER_SOURCE}
const { createHash } = require('node:crypto');
const { CompressStream, Compressor } = require(workerData.zstdPath);
const ONE_SHOT_MAX = workerData.oneShotMax;
const OUT_AHEAD = workerData.outAhead;
const jobs = new Map();
let cmp = null;
let cmpKey = '';
function params(m, size) {
  const p = { compressionLevel: m.level, nbWorkers: m.workers, checksumFlag: true, contentSizeFlag: true };
  if (m.workers > 1 && size !== undefined) p.jobSize = Math.max(1, Math.ceil(size / m.workers / (1 << 20))) << 20;
  return p;
}
function send(job, c) {
  // A stream's output buffer is its own (zstd-napi allocates the next one): given up whole; anything else copied.
  const own = c.byteOffset === 0 && c.buffer.byteLength >= 65536;
  const out = own ? new Uint8Array(c.buffer, 0, c.byteLength) : Uint8Array.from(c);
  job.ahead += out.byteLength;
  parentPort.postMessage({ id: job.m.id, type: 'out', chunk: out }, [out.buffer]);
}
function done(job) {
  jobs.delete(job.m.id);
  parentPort.postMessage({ id: job.m.id, type: 'done', originalSize: job.inBytes, contentSha256: job.inHash.digest('hex'), links: job.links ? job.links.summary() : null });
}
function startStream(job) {
  const z = new CompressStream(params(job.m));
  job.z = z;
  z.on('data', (c) => { send(job, c); if (job.ahead > OUT_AHEAD) z.pause(); });
  z.on('error', job.fail);
  z.on('end', () => { if (!job.failed) done(job); });
  for (const c of job.pending) z.write(c);
  job.pending = [];
}
function oneShot(job) {
  try {
    const input = job.pending.length === 1 ? job.pending[0] : Buffer.concat(job.pending, job.pendingBytes);
    job.pending = [];
    const key = JSON.stringify(params(job.m, input.length));
    if (cmp === null) cmp = new Compressor();
    if (key !== cmpKey) { cmp.setParameters(params(job.m, input.length)); cmpKey = key; }
    send(job, cmp.compress(input));
    done(job);
  } catch (err) { job.fail(err); }
}
parentPort.on('message', (m) => {
  const job = jobs.get(m.id);
  if (m.type === 'open') {
    const j = { m, z: null, pending: [], pendingBytes: 0, inHash: createHash('sha256'), inBytes: 0, ahead: 0, failed: null, links: m.links ? linkChecker() : null };
    j.fail = (err) => { if (!j.failed) { j.failed = err; jobs.delete(m.id); parentPort.postMessage({ id: m.id, type: 'error', message: String(err && err.message || err) }); } };
    jobs.set(m.id, j);
  } else if (!job || job.failed) {
    return;
  } else if (m.type === 'took') {
    job.ahead -= m.bytes;
    if (job.z && job.ahead <= OUT_AHEAD) job.z.resume();
  } else if (m.type === 'data') {
    const chunk = Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength);
    job.inHash.update(chunk);
    job.inBytes += chunk.length;
    if (job.links) job.links.lines(chunk, 0, chunk.length, cutsOf(chunk, 0, chunk.length));
    if (job.z === null && job.pendingBytes + chunk.length <= ONE_SHOT_MAX) {
      job.pending.push(chunk);
      job.pendingBytes += chunk.length;
      parentPort.postMessage({ id: m.id, type: 'ack' });
      return;
    }
    if (job.z === null) startStream(job);
    job.z.write(chunk, () => parentPort.postMessage({ id: m.id, type: 'ack' }));
  } else if (m.type === 'abort') {
    job.failed = new Error('aborted');
    jobs.delete(m.id);
    if (job.z) job.z.destroy();
  } else if (m.type === 'end') {
    if (job.z === null) oneShot(job);
    else job.z.end();
  }
});
`;

type Message = { id: number; type: 'ack' | 'out' | 'done' | 'error'; chunk?: Uint8Array; message?: string } & Partial<OffThreadResult>;

/** One member's side of the worker: its input acknowledgements, its output as it comes, its end. */
interface Job {
  onMessage(m: Message): void;
  fail(err: Error): void;
}

let shared: { worker: Worker; jobs: Map<number, Job>; next: number } | null = null;

function pool() {
  if (shared) return shared;
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { zstdPath: ZSTD_PATH, oneShotMax: ONE_SHOT_MAX, outAhead: OUT_AHEAD } });
  const s = { worker, jobs: new Map<number, Job>(), next: 0 };
  worker.on('message', (m: Message) => s.jobs.get(m.id)?.onMessage(m));
  const failAll = (err: Error) => {
    for (const j of s.jobs.values()) j.fail(err);
    s.jobs.clear();
    shared = null;
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the zstd worker exited (code ${code})`)));
  worker.unref();
  shared = s;
  return s;
}

export interface SealedMember {
  originalSize: number;
  contentSha256: string;
  /** Size and SHA-256 of the stored (encrypted) bytes. */
  compressedSize: number;
  sha256: string;
  links?: OffThreadResult['links'];
}

/**
 * Compresses `chunks` on the worker thread (as compressOffThread: `owned` and `links` mean the same)
 * and encrypts the compressed bytes for `to` into `outPath` as they come back, in bounded memory.
 * Not fsynced: staged members go into the package, which is fsynced whole. On a failure outPath is
 * removed (the input's own error goes up unchanged).
 */
export async function compressSealed(chunks: AsyncIterable<Uint8Array>, outPath: string, level: number, workers: number, to: AgeRecipients, opts: Omit<OffThreadOptions, 'sync'> = {}): Promise<SealedMember> {
  const { owned = false, links = false } = opts;
  const p = pool();
  const id = p.next++;
  p.worker.ref();
  const out = new OutputQueue((bytes) => p.worker.postMessage({ type: 'took', id, bytes }));
  let failure: Error | null = null;
  let unacked = 0;
  const pendingAcks: number[] = [];
  let wake: (() => void) | null = null;
  let ended!: (r: OffThreadResult) => void;
  const result = new Promise<OffThreadResult>((r) => (ended = r));
  const stop = (err: Error) => {
    if (failure) return;
    failure = err;
    if (p.jobs.delete(id)) p.worker.postMessage({ type: 'abort', id });
    if (p.jobs.size === 0) p.worker.unref();
    out.fail(err);
    wake?.();
  };
  p.jobs.set(id, {
    fail: stop,
    onMessage(m) {
      if (m.type === 'ack') {
        unacked -= pendingAcks.shift() ?? 0;
        wake?.();
      } else if (m.type === 'out') out.push(Buffer.from(m.chunk!.buffer, m.chunk!.byteOffset, m.chunk!.byteLength));
      else if (m.type === 'done') {
        p.jobs.delete(id);
        if (p.jobs.size === 0) p.worker.unref();
        ended({ originalSize: m.originalSize!, contentSha256: m.contentSha256!, compressedSize: 0, sha256: '', links: m.links ?? null });
        out.end();
      } else stop(new Error(m.message ?? 'the zstd worker failed'));
    },
  });
  p.worker.postMessage({ type: 'open', id, level, workers, links });
  const sealed = encryptToFile(out.drain(), outPath, to, false, outPath);
  sealed.catch(stop);
  try {
    await sendInput();
  } catch (err) {
    stop(err instanceof Error ? err : new Error(String(err)));
    await sealed.catch(() => undefined);
    throw err;
  }
  if (!failure) p.worker.postMessage({ type: 'end', id });
  const e = await sealed;
  const z = await result;
  return { originalSize: z.originalSize, contentSha256: z.contentSha256, compressedSize: e.size, sha256: e.sha256, ...(z.links ? { links: z.links } : {}) };

  async function sendInput(): Promise<void> {
    for await (const chunk of chunks) {
      if (failure) return;
      if (chunk.length === 0) continue;
      const transfer = owned !== false && chunk.buffer instanceof ArrayBuffer && (owned === 'whole' || (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength));
      const send = transfer ? chunk : Uint8Array.from(chunk);
      unacked += send.length;
      pendingAcks.push(send.length);
      p.worker.postMessage({ type: 'data', id, chunk: send }, [send.buffer as ArrayBuffer]);
      while (unacked > IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
    }
  }
}

/** The compressed chunks as the worker sends them, taken by age one at a time; each taken one is told back (the worker's zstd pauses when too far ahead). */
class OutputQueue {
  private chunks: Buffer[] = [];
  private closed = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly took: (bytes: number) => void) {}

  push(c: Buffer): void {
    this.chunks.push(c);
    this.notify();
  }

  end(): void {
    this.closed = true;
    this.notify();
  }

  fail(err: Error): void {
    this.error ??= err;
    this.notify();
  }

  async *drain(): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.error) throw this.error;
      const c = this.chunks.shift();
      if (c) {
        yield c;
        this.took(c.length);
      } else if (this.closed) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
