/**
 * WAL members decoded off the main thread, several at once: a query hands each member's compressed
 * bytes to a small pool of decoder threads (member-worker-source.ts) as soon as they are read, in
 * line order, and takes the answers back in that order. Decompression and the search for names are
 * per member and need no state, so two members are decoded on two cores while this thread applies
 * the lines of an earlier one: what `zstd -dc | grep` gets from being two processes.
 */
import type { LinkSummary } from './link-checker-source.js';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { isSharedArrayBuffer } from 'node:util/types';
import { BriError, errnoOf, ErrorCodes, ioHint } from '../../../errors.js';
import { MAX_TEXT_BYTES } from '../reader.js';
import { MEMBER_WORKER_SOURCE } from './member-worker-source.js';

const BINDING_PATH = createRequire(import.meta.url).resolve('zstd-napi/binding');

/**
 * What a member is decoded to: the lines that name one of `needles` (filter), every line (lines), or
 * every line with its content's sha256 and the hash chain's links inside it checked (check).
 */
export type DecodeMode = { kind: 'filter'; needles: readonly Buffer[] } | { kind: 'lines' } | { kind: 'check' };

/**
 * A member decoded in check mode with `summary`: what a pass over its lines would have found, worked out on
 * the decoder thread. It stands for the pass only when `unvouched` is -1 (every line parsed, every link
 * inside the member held); otherwise the caller passes the member itself.
 */
export type MemberSummary = LinkSummary;

/** A piece of a member decoded in check mode: whole lines, cut about every 64 KiB (each cut one string under V8's large-object size). */
export interface CheckedPiece {
  bytes: Buffer;
  /** Where each cut ends in `bytes`, at a line end (the last cut ends at bytes.length). */
  cuts: Int32Array;
  /** The first line (from the member's first, 0) whose chain link the thread did not vouch for, -1: every line so far. */
  unvouched: number;
  /** Once nothing (a pending write) reads it any more: the last piece of a buffer gives it back to the decoder thread (release pieces in order). */
  release(): void;
}

/** Lines of a member, each with its index in the member (0: its first line). */
export interface FoundLines {
  texts: string[];
  idx: number[];
}

interface Piece {
  texts?: string[];
  idx?: number[];
  /** Shared with the decoder thread, which takes it back (`recycle`) after the last piece of it is read. */
  buf?: SharedArrayBuffer;
  byteOffset?: number;
  length?: number;
  cuts?: Int32Array;
  bad?: number;
  /** The last piece of its buffer. */
  recycle?: boolean;
}

interface Job {
  worker: PoolWorker;
  pieces: Piece[];
  done: { lines: number; content: { sha256: string; bytes: number } | null; summary: MemberSummary | null } | null;
  failure: { kind: string; message: string; errno?: string } | null;
  wake: (() => void) | null;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<number, Job>;
  /** Fails its jobs with `err` (the pool is stopped for another thread's failure: its jobs are told that one, not "stopped"). */
  fail?: (err: Error) => void;
}

let pool: PoolWorker[] | null = null;
let nextId = 0;
/** The pool as seen from outside: idle threads are stopped after `idleStopMs` (a database process keeps no threads it does not use). */
export const decoderPool = {
  idleStopMs: 30_000,
  /** Decoder threads running now. */
  running: (): number => pool?.length ?? 0,
};
let idleStop: NodeJS.Timeout | null = null;

/** Stops the pool once no thread has had a job for `idleStopMs`; a later query starts a new one. */
function idle(): void {
  if (pool === null || pool.some((w) => w.jobs.size > 0)) return;
  if (idleStop) clearTimeout(idleStop);
  const stopping = pool;
  idleStop = setTimeout(() => {
    idleStop = null;
    if (pool !== stopping || stopping.some((w) => w.jobs.size > 0)) return;
    pool = null;
    for (const w of stopping) void w.worker.terminate();
  }, decoderPool.idleStopMs);
  idleStop.unref();
}

/**
 * Stops the decoder threads now if none has a job, giving back their memory (each keeps its heap and
 * the buffers of the last members for the next ones): for the end of a restore's WAL, where what comes
 * next (the snapshot at the last line) needs the memory and no thread. A later query starts a new pool.
 */
export function releaseDecoders(): void {
  if (pool === null || pool.some((w) => w.jobs.size > 0)) return;
  if (idleStop) clearTimeout(idleStop);
  idleStop = null;
  const stopping = pool;
  pool = null;
  for (const w of stopping) void w.worker.terminate();
}

const HINTS: Record<string, string> = {
  bomb: 'The archive is damaged or hostile; it was not unpacked.',
  line: 'No BRI store writes such a line: the archive is hostile or not BRI\'s, and it was not unpacked. Restore an earlier archive or use another copy.',
  stored: 'The archive copy is damaged: `bri archive verify` says where, `bri archive repair` mends it from its PAR2 data.',
  damaged: 'Repair the archive with its PAR2 data (`bri archive repair`) or use another copy.',
};

function failed(member: string, kind: string, message: string, limit: number, errno?: string): BriError {
  // The host would not give the thread what it needs to start (file descriptors, memory): its fault, said with what to do.
  if (kind === 'host') {
    return new BriError(ErrorCodes.IO_ERROR, `${member}: ${message}`, { hint: ioHint({ code: errno }) ?? 'The system could not start a thread: free memory or processes, then run it again.', details: { member, ...(errno ? { errno } : {}) } });
  }
  if (kind === 'io') return new BriError(ErrorCodes.IO_ERROR, `${member}: ${message}`, { hint: 'Check that the archive file is still there and readable.', details: { member } });
  // Not the archive's fault: the thread itself failed (out of memory, killed).
  if (kind === 'crash') return new BriError(ErrorCodes.RESTORE_ERROR, `${member}: ${message}`, { hint: 'Run the query again; if it fails the same way, report it with this message.', details: { member } });
  // (Worded as the main thread's decompression words it: `<member> decompresses to more than ...`, `<member>: zstd data is damaged ...`.)
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, kind === 'bomb' || kind === 'line' ? `${member} ${message}` : `${member}: ${message}`, {
    hint: HINTS[kind] ?? HINTS.damaged!,
    details: kind === 'bomb' ? { member, declared: limit } : { member },
  });
}

/** The errno that kept a thread from starting ("Worker initialization failure: EMFILE"), if that is what stopped it. */
function startErrno(err: Error): string | undefined {
  if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INIT_FAILED') return errnoOf(err);
  return /\b(E[A-Z]+)\b/.exec(err.message)?.[1];
}

/**
 * Starts the decoder threads (about 60 ms each), so that a query can plan while they boot. A restore asks
 * for one (its own thread replays the lines: one more would only compete with it for the two cores);
 * time travel for two. The pool grows to the largest number asked.
 */
export function startDecoders(threads = 2): void {
  workers(threads);
}

function workers(threads: number): PoolWorker[] {
  const size = Math.max(1, Math.min(threads, 2, availableParallelism()));
  if (pool && pool.length >= size) return pool;
  const made: PoolWorker[] = pool ?? [];
  while (made.length < size) {
    const w: PoolWorker = { worker: new Worker(MEMBER_WORKER_SOURCE, { eval: true, execArgv: [], workerData: { bindingPath: BINDING_PATH, maxLineBytes: MAX_TEXT_BYTES } }), jobs: new Map() };
    w.worker.on('message', (m: { id: number; type: 'piece' | 'done' | 'error'; kind?: string; message?: string; lines?: number; content?: { sha256: string; bytes: number } | null; summary?: MemberSummary | null } & Piece) => {
      const job = w.jobs.get(m.id);
      if (!job) return;
      if (m.type === 'piece') job.pieces.push(m);
      else {
        w.jobs.delete(m.id);
        if (m.type === 'done') {
          if (m.texts!.length > 0) job.pieces.push({ texts: m.texts!, idx: m.idx! });
          job.done = { lines: m.lines!, content: m.content ?? null, summary: m.summary ?? null };
        } else job.failure = { kind: m.kind ?? 'damaged', message: m.message ?? 'the decoder failed' };
        if (w.jobs.size === 0) {
          w.worker.unref();
          idle();
        }
      }
      job.wake?.();
    });
    const failAll = (err: Error) => {
      const errno = startErrno(err);
      for (const job of w.jobs.values()) {
        job.failure = errno !== undefined ? { kind: 'host', message: `the member decoder thread could not start (${err.message})`, errno } : { kind: 'crash', message: `the member decoder thread stopped (${err.message})` };
        job.wake?.();
      }
      w.jobs.clear();
      // The next query starts a whole new pool; the threads of this one that still run are stopped.
      if (pool === made) {
        pool = null;
        for (const other of made) {
          if (other === w) continue;
          other.fail?.(err);
          void other.worker.terminate();
        }
      }
    };
    w.fail = failAll;
    w.worker.on('error', failAll);
    w.worker.on('exit', (code) => failAll(new Error(`exit code ${code}`)));
    w.worker.unref();
    made.push(w);
  }
  pool = made;
  return made;
}

/** Where a member lies in a local file. */
export interface LocalMember {
  path: string;
  offset: number;
  size: number;
}

export interface MemberJob {
  /** Its name in the archive (errors name it). */
  member: string;
  /** The size the manifest declares for its content: decompression stops past it. */
  limit: number;
  mode: DecodeMode;
  /** The manifest's sha256 and size of its stored bytes, checked on the decoder thread before anything is decoded. */
  stored?: { sha256: string; size: number };
  /** The number of lines the manifest gives it: with it, a member of plaintext entries is searched without counting its lines. */
  lines?: number;
  /** Decode by streaming, this many bytes at a time (tests: small, to move the boundaries); default one call for a member up to 64 MiB. */
  stageBytes?: number;
  /** Decoder threads the caller wants at most (see startDecoders); default 2. */
  threads?: number;
  /** Check mode: no lines come back, only what a pass over them would find (`summary()`). */
  summary?: boolean;
}

/** One member being decoded: read its pieces in order, or cancel it. */
export class DecodedMember {
  private readonly id = nextId++;
  private readonly job: Job;
  private readonly member: string;
  private readonly limit: number;

  /**
   * `data` is given up (its memory moves to the decoder thread), unless it lies in shared memory (the thread
   * reads it there; the caller keeps it and must not change it); a member of a local file is read by the decoder thread itself.
   */
  constructor(data: Buffer | LocalMember, { member, limit, mode, stored, lines, stageBytes, threads, summary }: MemberJob) {
    this.member = member;
    this.limit = limit;
    const all = workers(threads ?? 2);
    const w = all[this.id % Math.min(all.length, threads ?? 2)]!;
    this.job = { worker: w, pieces: [], done: null, failure: null, wake: null };
    w.jobs.set(this.id, this.job);
    w.worker.ref();
    const needles = mode.kind === 'filter' ? mode.needles.map((n) => new Uint8Array(n)) : undefined;
    const job = { type: 'job', id: this.id, mode: mode.kind, limit, needles, stage: stageBytes, sha256: stored?.sha256, size: stored?.size, lines, summary };
    if (!Buffer.isBuffer(data)) {
      w.worker.postMessage({ ...job, file: data });
      return;
    }
    if (isSharedArrayBuffer(data.buffer)) {
      w.worker.postMessage({ ...job, data });
      return;
    }
    // Only a buffer that spans its whole ArrayBuffer is moved; anything else (a slice of Buffer's shared pool,
    // which must never be detached, and which Node 22 refuses to transfer) is copied into memory of its own.
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
    let sent = data;
    if (!whole) {
      sent = Buffer.allocUnsafeSlow(data.length);
      data.copy(sent);
    }
    w.worker.postMessage({ ...job, data: sent }, [sent.buffer as ArrayBuffer]);
  }

  private async *pieces(): AsyncGenerator<Piece> {
    const job = this.job;
    try {
      for (;;) {
        const p = job.pieces.shift();
        if (p !== undefined) {
          // (An ack for a job the thread has finished is ignored there.)
          job.worker.worker.postMessage({ type: 'ack', id: this.id });
          yield p;
          continue;
        }
        if (job.failure) throw failed(this.member, job.failure.kind, job.failure.message, this.limit, job.failure.errno);
        if (job.done) return;
        await new Promise<void>((wake) => (job.wake = wake));
        job.wake = null;
      }
    } finally {
      if (!job.done && !job.failure) this.cancel();
    }
  }

  /** The lines that name a needle (filter mode), with the member's line count once read. */
  async *found(): AsyncGenerator<FoundLines> {
    for await (const p of this.pieces()) yield { texts: p.texts!, idx: p.idx! };
  }

  /** Every line, in batches (lines mode); a last line with no newline is a line. */
  async *lines(): AsyncGenerator<string[]> {
    for await (const p of this.pieces()) {
      const buf = Buffer.from(p.buf!, p.byteOffset ?? 0, p.length!);
      let from = 0;
      for (const cut of p.cuts!) {
        const parts = buf.toString('utf8', from, cut).split('\n');
        if (buf[cut - 1] === 0x0a) parts.pop();
        from = cut;
        yield parts;
      }
      // Its memory goes back to the decoder thread for a later member (only strings were kept from it).
      if (p.recycle) this.job.worker.worker.postMessage({ type: 'recycle', buf: p.buf });
    }
  }

  /** Every piece as bytes (check mode), in order; each must be released. */
  async *checked(): AsyncGenerator<CheckedPiece> {
    for await (const p of this.pieces()) {
      const worker = this.job.worker.worker;
      let released = false;
      yield {
        bytes: Buffer.from(p.buf!, p.byteOffset ?? 0, p.length!),
        cuts: p.cuts!,
        unvouched: p.bad ?? -1,
        release() {
          if (released) return;
          released = true;
          if (p.recycle) worker.postMessage({ type: 'recycle', buf: p.buf });
        },
      };
    }
  }

  /** What a pass over the member would find (check mode with `summary`), with its content's count and sha256. */
  async summary(): Promise<{ summary: MemberSummary; content: { sha256: string; bytes: number } }> {
    for await (const _ of this.pieces()); // (none come in this mode)
    const d = this.job.done!;
    if (!d.summary || !d.content) throw new Error('the member was not decoded in check mode with a summary');
    return { summary: d.summary, content: d.content };
  }

  /** The decompressed bytes' count and sha256 (check mode, after its pieces were read). */
  get content(): { sha256: string; bytes: number } {
    const c = this.job.done?.content;
    if (!c) throw new Error('the member was not read to its end in check mode');
    return c;
  }

  /** The member's line count, in filter mode (after its pieces were read). */
  get lineCount(): number {
    if (!this.job.done || this.job.done.lines < 0) throw new Error('the member was not read to its end in filter mode');
    return this.job.done.lines;
  }

  cancel(): void {
    const w = this.job.worker;
    if (!w.jobs.delete(this.id)) return;
    w.worker.postMessage({ type: 'cancel', id: this.id });
    if (w.jobs.size === 0) {
      w.worker.unref();
      idle();
    }
  }
}
