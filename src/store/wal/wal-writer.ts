/**
 * Appends lines to the WAL with the pointer chain, segment rotation at
 * walSegmentSize, and group commit: lines appended while a write or fsync is
 * in flight go out together in the next one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BriError, ErrorCodes } from '../../errors.js';
import { encryptText } from '../../format/encryption.js';
import { computePointer } from '../../format/pointer.js';
import { entryAad } from '../../format/wal-line.js';
import { fsyncDir, makeDirs, ownLikeDir } from '../durable-fs.js';
import { openRegularFileSync } from '../files/regular-file.js';
import { segmentName, WAL_DIR } from '../layout.js';
import { appendWhole, assertStillNamed, NothingTorn, walWriteFailed } from './write-failure.js';
import type { AppendListener, AppendResult, PendingLine, RotateResult, WalPosition, WalWriterOptions } from './wal-writer-types.js';

const fdatasync = promisify(fs.fdatasync);
const closeFd = promisify(fs.close);
/** The longest run of drains (writes completing in microtasks) before the event loop gets a turn. */
const TURN_MS = 2;

export type { AppendListener, AppendResult, FsyncMode, RotateResult, WalPosition, WalWriterOptions } from './wal-writer-types.js';

/** Lines stamped this far ahead of the clock (at the floor a clock that ran ahead left) are worth a warning. */
const CLOCK_BEHIND_WARN_MS = 10 * 60_000;

export class WalWriter {
  private fd: number;
  private pending: PendingLine[] = [];
  /** The chain of queued I/O steps. */
  private io: Promise<void> = Promise.resolve();
  private flushQueued = false;
  /** No line is stamped earlier than this (see stampAfter). */
  private stampFloor = 0;
  private warnedClockBehind = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** The batched sync in flight: it runs beside the writes, and nothing closes its fd before it ends. */
  private syncing: Promise<void> | null = null;
  /** A rotation is closing the fd: a batched sync must not start on it (the rotation syncs it itself). */
  private rotating = false;
  /** A run of drains without a turn of the event loop: whether one is under way, and since when (turnIfLong). */
  private turnPending = false;
  private runStart = 0;
  private dirty = false;
  private failed: unknown = null;
  /** close() was called: appends and rotations are refused. */
  private closed = false;
  /** The close's last I/O step (it closes the fd), for a second close() to wait for. */
  private closedFd: Promise<void> = Promise.resolve();
  private fdClosed = false;
  private readonly listeners = new Set<AppendListener>();
  private pos: WalPosition;

  private constructor(private readonly opts: WalWriterOptions, pos: WalPosition, fd: number) {
    this.pos = { ...pos };
    this.fd = fd;
  }

  /** Opens the segment `pos.segment` in append mode (creating it), continuing the chain from `pos`. */
  static async open(opts: WalWriterOptions, pos: WalPosition): Promise<WalWriter> {
    const dir = path.join(opts.dataDir, WAL_DIR);
    await makeDirs(dir);
    const file = path.join(dir, segmentName(pos.segment));
    const existed = fs.existsSync(file);
    const fd = openRegularFileSync(file, 'a');
    if (!existed) {
      // Made by root (a `bri restore keys` on the app's directory): the app's, as the directory is, or it cannot open it.
      await ownLikeDir(file);
      await fsyncDir(dir);
    }
    const size = fs.fstatSync(fd).size;
    return new WalWriter(opts, { ...pos, segmentBytes: size }, fd);
  }

  get position(): Readonly<WalPosition> {
    return this.pos;
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Renumbers lines after `lines` were removed from the front of wal/ (WAL cleanup): BRI numbers
   * lines from the first segment on disk. Synchronous, so no append sees half of it.
   */
  shiftLines(delta: number): void {
    if (this.pos.totalLines + delta < 0) throw new Error(`cannot shift ${this.pos.totalLines} lines by ${delta}`);
    this.pos.totalLines += delta;
  }

  /** Puts the writer in the failed state for good: later writes throw until the database is reopened. */
  fail(cause: unknown): void {
    this.failed ??= cause;
  }

  /** Lines appended from now on are stamped after `t` (an archive sealed at `t` is complete through it). */
  stampAfter(t: number): void {
    this.stampFloor = Math.max(this.stampFloor, t + 1);
  }

  /** The earliest time the next line can have: the last line's, or just after the last seal. */
  get stampFloorMs(): number {
    return this.stampFloor;
  }

  /** Lines appended from now on are stamped at `t` or later (the WAL's last line, when it is opened). */
  stampNotBefore(t: number): void {
    this.stampFloor = Math.max(this.stampFloor, t);
  }

  /** Appends one entry (plaintext JSS); the chain and line number are assigned now, in call order. */
  append(entryJss: string, now: number = Date.now()): AppendResult {
    // Never earlier than the line before: a clock stepped back (NTP, a resumed VM) must not make the WAL's
    // times go backwards, or "the state at T" would no longer be a prefix of the WAL.
    const timestamp = Math.max(now, this.stampFloor);
    if (timestamp - now > CLOCK_BEHIND_WARN_MS) this.warnClockBehind(timestamp, now);
    if (this.closed) throw new BriError(ErrorCodes.STORE_CLOSED, 'the WAL writer is closed', { hint: 'Open the database again.' });
    if (this.failed !== null) throw this.writeFailed(this.failed);
    const pointer = computePointer(this.pos.lastPointer, entryJss);
    const entry = this.opts.encryptionKey ? encryptText(this.opts.encryptionKey, entryJss, entryAad(timestamp, pointer)) : entryJss;
    const bytes = Buffer.from(`${timestamp}|${pointer}|${entry}\n`, 'utf8');
    this.pos.lastPointer = pointer;
    this.pos.totalLines++;
    this.stampFloor = timestamp;
    const lineNo = this.pos.totalLines;
    const durable = new Promise<void>((resolve, reject) => this.pending.push({ bytes, resolve, reject }));
    this.scheduleFlush();
    return { lineNo, pointer, timestamp, durable };
  }

  /**
   * Said once per open: lines stamped at the floor are told apart only by their order, and every moment between them
   * is one time for point-in-time restore, until the clock passes the floor (years, after a clock that ran ahead).
   */
  private warnClockBehind(floor: number, now: number): void {
    if (this.warnedClockBehind) return;
    this.warnedClockBehind = true;
    const ahead = Math.round((floor - now) / 60_000);
    process.emitWarning(
      `${this.opts.dataDir}: new WAL lines are stamped ${new Date(floor).toISOString()}, ${ahead} min ahead of this host's clock (${new Date(now).toISOString()}): ` +
        'an earlier line was written by a clock that ran ahead, and WAL times never go back; until the clock passes that time, lines share it and ' +
        'a point-in-time restore cannot tell them apart (restore by line instead). Check the host clock (NTP).',
      { code: 'BRI_CLOCK_BEHIND' },
    );
  }

  private writeFailed(cause: unknown, recoverable = false): BriError {
    return walWriteFailed(cause, recoverable, path.join(this.opts.dataDir, WAL_DIR, segmentName(this.pos.segment)));
  }

  /** Runs `step` after every I/O step queued before it: writes, syncs and rotations never interleave. */
  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const run = this.io.then(step);
    this.io = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // The step runs as a microtask once the queue is free: appends made in the same synchronous run
    // join this batch, and those made while a write or sync is under way join the next one. Not after
    // a setImmediate: a long sliced loop (a snapshot encode) takes its turns in that phase too, and
    // every write waited for one of its slices besides the turn it was issued in.
    void this.enqueue(async () => {
      await this.turnIfLong();
      this.flushQueued = false;
      await this.drain();
    }).catch(() => undefined);
  }

  /**
   * Writes awaited one after another complete in microtasks alone, which would hold up timers and
   * I/O (an application's other work) for as long as such a loop runs. A run of drains with no turn
   * of the event loop in between gives it one once it has lasted TURN_MS.
   */
  private async turnIfLong(): Promise<void> {
    const now = performance.now();
    if (!this.turnPending) {
      // A new run: it ends when the event loop next reaches its check phase.
      this.turnPending = true;
      this.runStart = now;
      setImmediate(() => {
        this.turnPending = false;
      });
      return;
    }
    if (now - this.runStart >= TURN_MS) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Writes (and under 'always', syncs) every pending line, acknowledging each batch. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        if (this.failed !== null) throw this.failed;
        await this.writeBatch(batch);
        if (this.opts.fsyncMode === 'always') {
          await fdatasync(this.fd);
          assertStillNamed(this.fd, segmentName(this.pos.segment));
        } else this.scheduleSync();
      } catch (err) {
        const clean = err instanceof NothingTorn;
        if (!clean) this.failed ??= err;
        const error = this.writeFailed(clean ? err.cause : err, clean);
        const refused = [...batch, ...this.pending];
        for (const p of refused) p.reject(error);
        // Lines are numbered and chained, and in memory, from the moment they are appended: those not
        // written stay owed, in order, ahead of the next line (rotation requests are refused for good).
        this.pending = clean ? refused.filter((p) => p.bytes !== null && p.written !== true) : [];
        throw error;
      }
      let bytes = 0;
      let lines = 0;
      for (const p of batch) {
        bytes += p.bytes?.length ?? 0;
        lines += p.bytes === null ? 0 : 1;
        p.resolve();
      }
      if (lines > 0) for (const l of this.listeners) l(lines, bytes);
    }
  }

  /** Writes lines in order, rotating before a line that would push the segment past its size, and at markers. */
  private async writeBatch(batch: PendingLine[]): Promise<void> {
    let chunk: PendingLine[] = [];
    let chunkBytes = 0;
    for (const p of batch) {
      if (p.bytes === null) {
        this.writeChunk(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        const closed = this.pos.segment;
        if (p.skipIfEmpty && this.pos.segmentBytes === 0) {
          p.rotated = { closed: closed - 1, opened: closed };
          continue;
        }
        await this.openNextSegment();
        p.rotated = { closed, opened: this.pos.segment };
        continue;
      }
      const len = p.bytes.length;
      if (this.pos.segmentBytes + chunkBytes > 0 && this.pos.segmentBytes + chunkBytes + len > this.opts.segmentSize) {
        this.writeChunk(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        await this.openNextSegment();
      }
      chunk.push(p);
      chunkBytes += len;
    }
    this.writeChunk(chunk, chunkBytes);
  }

  private writeChunk(chunk: PendingLine[], bytes: number): void {
    if (bytes === 0) return;
    const data = chunk.length === 1 ? chunk[0]!.bytes! : Buffer.concat(chunk.map((p) => p.bytes!), bytes);
    appendWhole(this.fd, data, this.pos.segmentBytes);
    for (const p of chunk) p.written = true;
    this.pos.segmentBytes += bytes;
    this.dirty = true;
  }

  private scheduleSync(): void {
    if (this.syncTimer !== null) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (!this.dirty || this.closed || this.rotating || this.syncing !== null) return;
      // Not through the I/O queue: writes (acknowledged once the OS has them) need not wait for the
      // disk. A rotation or close waits for this sync before it closes the fd (waitForSync).
      this.dirty = false;
      this.syncing = fdatasync(this.fd).then(
        () => {
          this.syncing = null;
          // (Batched writes are acknowledged before their sync: a deleted segment fails the writes after it.)
          try {
            assertStillNamed(this.fd, segmentName(this.pos.segment));
          } catch (err) {
            this.failed ??= err;
            return;
          }
          if (this.dirty) this.scheduleSync();
        },
        (err: unknown) => {
          this.syncing = null;
          this.failed ??= err;
        },
      );
    }, this.opts.batchIntervalMs);
    this.syncTimer.unref();
  }

  /** Waits for the batched sync in flight, if any (its fd is about to be closed or synced again). */
  private async waitForSync(): Promise<void> {
    if (this.syncing !== null) await this.syncing;
  }

  /**
   * Syncs the current segment, opens the next number, then closes the current one: a next segment that
   * cannot be opened (or its directory entry synced) leaves the writer on the current one, as it was
   * (an empty next segment left behind is taken as it is by the next rotation or open).
   */
  private async openNextSegment(): Promise<void> {
    this.rotating = true;
    try {
      await this.waitForSync();
      await fdatasync(this.fd);
      this.dirty = false;
      const dir = path.join(this.opts.dataDir, WAL_DIR);
      const next = path.join(dir, segmentName(this.pos.segment + 1));
      let fd: number;
      try {
        fd = openRegularFileSync(next, 'a');
      } catch (err) {
        throw new NothingTorn(err); // an open that failed (EACCES, EMFILE, a FIFO at its name) touched nothing
      }
      try {
        await ownLikeDir(next);
        await fsyncDir(dir);
      } catch (err) {
        fs.closeSync(fd);
        throw new NothingTorn(err);
      }
      const old = this.fd;
      this.fd = fd;
      this.pos.segment++;
      this.pos.segmentBytes = 0;
      // The old segment is synced: a failed close says nothing about its lines.
      await closeFd(old).catch(() => undefined);
    } finally {
      this.rotating = false;
    }
  }

  /** Waits until every line appended so far is written and synced. */
  flush(): Promise<void> {
    return this.enqueue(() => this.flushNow());
  }

  /** The body of a flush, run as an I/O step. */
  private async flushNow(): Promise<void> {
    await this.drain();
    // A batched sync in flight counts only once it has ended (dirty was cleared when it began).
    await this.waitForSync();
    if (this.failed !== null) throw this.writeFailed(this.failed);
    if (!this.dirty) return;
    // Only a close whose own flush failed leaves lines unsynced behind a closed fd: they are not known durable.
    if (this.fdClosed) throw this.writeFailed(new Error('the segment was closed before its last lines were synced'));
    await fdatasync(this.fd);
    this.dirty = false;
  }

  /**
   * Rotation on request, at the current line: lines appended before this call end
   * the current segment, lines appended after it start the next one.
   */
  rotate(options: { skipIfEmpty?: boolean } = {}): Promise<RotateResult> {
    if (this.closed) throw new BriError(ErrorCodes.STORE_CLOSED, 'the WAL writer is closed', { hint: 'Open the database again.' });
    const marker: PendingLine = { bytes: null, skipIfEmpty: options.skipIfEmpty === true, resolve: () => undefined, reject: () => undefined };
    const done = new Promise<void>((resolve, reject) => {
      marker.resolve = resolve;
      marker.reject = reject;
    });
    this.pending.push(marker);
    this.scheduleFlush();
    return done.then(() => marker.rotated!);
  }

  /**
   * Refuses appends and rotations from now on, then, as the last I/O step, writes and syncs every line
   * appended before, and closes the fd: a drain or sync queued before the close never meets a closed
   * (or reused) fd number.
   */
  async close(): Promise<void> {
    if (this.closed) return this.closedFd;
    this.closed = true;
    this.closedFd = this.enqueue(async () => {
      try {
        await this.flushNow();
      } finally {
        if (this.syncTimer) clearTimeout(this.syncTimer);
        await this.waitForSync();
        this.fdClosed = true;
        await closeFd(this.fd);
      }
    });
    return this.closedFd;
  }
}
