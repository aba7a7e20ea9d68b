/**
 * The store on a data directory: an in-memory state made durable by the WAL and
 * the snapshot, in BRI's on-disk format, with one writer at a time.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, typedIoError, withTypedIoErrors } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { assertStorableName, decodeJss, encodeJss } from '../format/jss.js';
import { assertWritableOperation, encodeOperation, type Operation } from '../format/operation.js';
import { piecesWithWalLine, type SnapshotVersion } from '../format/snapshot-file.js';
import { encodeSnapshotYielding } from './snapshot-store.js';
import { applyOperation, type DbState } from '../format/state.js';
import { FrozenState } from './frozen-state.js';
import { writeFileDurable } from './durable-fs.js';
import { DEFAULT_WAL_SEGMENT_SIZE, SNAPSHOT_FILE, SNAPSHOT_TMP, WAL_DIR } from './layout.js';
import { acquireLock, type DirLock } from './lock/dir-lock.js';
import { recover, type RecoveryResult } from './recovery.js';
import { assertDataDir } from './data-dir.js';
import { assertStoreConfig, resolveEncryptionKey, type StoreConfig } from './store-config.js';
import { fixWalTail } from './wal/tail.js';
import { readArchiveState } from './archive-state.js';
import { dropObsoleteCold } from './cold-tier.js';
import { recoverInterruptedRestoreSaying } from './dir-swap.js';
import { WalWriter, type AppendListener, type RotateResult } from './wal/wal-writer.js';
import { applyWalCleanup, completeWalCleanup, removableSegments, type CleanupResult, type CleanupStep } from './wal/wal-cleanup.js';
export type { CleanupResult } from './wal/wal-cleanup.js';
export type { StoreConfig } from './store-config.js';

export interface WriteAck {
  lineNo: number;
  pointer: string;
  timestamp: number;
}

export interface SnapshotInfo {
  walLine: number;
  timestamp: number;
  /** The WAL segment opened by the rotation that follows the snapshot. */
  nextSegment: number;
}

export interface StoreInfo {
  dataDir: string;
  totalLines: number;
  snapshotLine: number;
  segment: number;
  lastPointer: string;
  documents: number;
  collections: number;
  encrypted: boolean;
}

export class BriStore {
  private closed = false;
  private closing: Promise<void> | null = null;
  /** True from the moment a close is called (refuseWrites, close): a write then is refused, not acknowledged. */
  private writesRefused = false;
  private snapshotLine: number;
  /** The state at the last seal (an archive's end), reused by the WAL cleanup that follows it. */
  private sealed: { localLine: number; text: readonly string[] } | null = null;
  /** Snapshot writes (createSnapshot, WAL cleanup) one at a time: both replace snapshot.jss. */
  private snapshotQueue: Promise<unknown> = Promise.resolve();
  /** States being encoded while writes go on: each write records what it changes in them first. */
  private readonly frozen = new Set<FrozenState>();

  private constructor(
    readonly dataDir: string,
    private readonly config: Required<Pick<StoreConfig, 'snapshotVersion' | 'snapshotOnClose'>>,
    private readonly key: EncryptionKey | undefined,
    private readonly lock: DirLock,
    private readonly writer: WalWriter,
    private readonly memory: DbState,
    recovery: RecoveryResult,
  ) {
    this.snapshotLine = recovery.snapshot?.walLine ?? 0;
  }

  /**
   * Opens (or creates) a data directory: lock, recovery, then the WAL writer. A bad option is CONFIG_INVALID before
   * anything is touched; a failed system call (a segment of another user, a read-only disk) an IO_ERROR naming the path.
   */
  static async open(config: StoreConfig): Promise<BriStore> {
    assertStoreConfig(config);
    const dataDir = path.resolve(config.dataDir);
    // Exported on its own (createDB is not the only caller): no raw errno error may leave it.
    return BriStore.openAt(dataDir, config).catch((err: unknown) => Promise.reject(typedIoError(err, `opening the data directory ${dataDir}`)));
  }

  private static async openAt(dataDir: string, config: StoreConfig): Promise<BriStore> {
    // A restore into this directory that a crash interrupted is finished (or rolled back) first. What that did (an old
    // directory that could not be deleted is left aside) is said as the hooks' failures are, a BRI_ process warning.
    await recoverInterruptedRestoreSaying(dataDir);
    await assertDataDir(dataDir, config.createIfMissing ?? true);
    const key = resolveEncryptionKey(config.encryptionKey);
    const lock = await acquireLock(dataDir, 'store');
    try {
      // A WAL cleanup a crash interrupted is finished (or dropped) before the lines are counted.
      await completeWalCleanup(dataDir);
      // Recovery reads only: a directory it refuses is left exactly as it was.
      const rec = await recover(dataDir, { encryptionKey: key, invalidLines: config.invalidLines ?? 'error' });
      await fsp.mkdir(path.join(dataDir, WAL_DIR), { recursive: true });
      await fsp.rm(path.join(dataDir, SNAPSHOT_TMP), { force: true }); // a snapshot interrupted by a crash
      let totalLines = rec.totalLines;
      const tail = await fixWalTail(dataDir, key);
      if (tail.kind === 'cut') totalLines--;
      const last = rec.segments[rec.segments.length - 1];
      const writer = await WalWriter.open(
        { dataDir, segmentSize: config.walSegmentSize ?? DEFAULT_WAL_SEGMENT_SIZE, fsyncMode: config.fsyncMode ?? 'always', batchIntervalMs: config.batchIntervalMs ?? 100, encryptionKey: key },
        { segment: last?.index ?? 0, segmentBytes: 0, totalLines, lastPointer: rec.lastPointer },
      );
      if (rec.lastTimestamp !== null) writer.stampNotBefore(rec.lastTimestamp);
      // The newest archive vouches for every moment up to its seal, and a restore's state for every moment up to the
      // line it restored through and the moment it was asked for (or its origin): a clock stepped back since (NTP, a resumed VM) must not stamp a new line inside either.
      const st = await readArchiveState(dataDir).catch(() => null);
      const floor = Math.max(st?.last?.sealedAt ?? -Infinity, st?.restoredThroughTime ?? -Infinity, st?.restoredTo ?? -Infinity, st?.origin?.timestamp ?? -Infinity);
      if (floor > -Infinity) writer.stampAfter(floor);
      const settings = { snapshotVersion: config.snapshotVersion ?? 2, snapshotOnClose: config.snapshotOnClose ?? true };
      return new BriStore(dataDir, settings, key, lock, writer, rec.state, rec);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BriError(ErrorCodes.STORE_CLOSED, 'the database is closed', { hint: 'Open it again with createDB().' });
  }

  private async write(op: Operation): Promise<WriteAck> {
    this.assertOpen();
    // From the moment close() is called: a write let in now would race the WAL's close (EBADF, or a write said failed yet durable).
    if (this.writesRefused) throw new BriError(ErrorCodes.STORE_CLOSED, 'the database is closing', { hint: 'Write before calling close(), or open it again with createDB() once close() has resolved.' });
    assertWritableOperation(op);
    // A key or set name the snapshot could not hold would make the directory unopenable at its next open.
    assertStorableName(op.target, op.action === 'SADD' || op.action === 'SREM' ? 'the set name' : 'the key');
    const res = this.writer.append(encodeOperation(op));
    if (this.frozen.size > 0) for (const f of this.frozen) f.beforeApply(op);
    applyOperation(this.memory, op);
    await res.durable;
    return { lineNo: res.lineNo, pointer: res.pointer, timestamp: res.timestamp };
  }

  /** Stores a document: an object is JSS-encoded; a string is stored as it is. */
  set(key: string, value: object | string): Promise<WriteAck> {
    let stored: string;
    try {
      stored = typeof value === 'string' ? value : encodeJss(value);
    } catch (err) {
      return Promise.reject(err); // a value JSS cannot hold is a rejection, as every other refusal
    }
    return this.write({ action: 'SET', target: key, value: stored });
  }

  delete(key: string): Promise<WriteAck> {
    return this.write({ action: 'DELETE', target: key });
  }

  rename(oldKey: string, newKey: string): Promise<WriteAck> {
    return this.write({ action: 'RENAME', target: newKey, oldKey });
  }

  sAdd(set: string, member: string): Promise<WriteAck> {
    return this.write({ action: 'SADD', target: set, member });
  }

  sRem(set: string, member: string): Promise<WriteAck> {
    return this.write({ action: 'SREM', target: set, member });
  }

  /** The decoded document, or undefined. */
  get<T = unknown>(key: string): T | undefined {
    this.assertOpen();
    const raw = this.memory.documents.get(key);
    if (raw === undefined) return undefined;
    try {
      return decodeJss<T>(raw);
    } catch {
      return raw as T;
    }
  }

  /** The stored string of a document, as SET wrote it. */
  getRaw(key: string): string | undefined {
    this.assertOpen();
    return this.memory.documents.get(key);
  }

  has(key: string): boolean {
    this.assertOpen();
    return this.memory.documents.has(key);
  }

  keys(prefix = ''): string[] {
    this.assertOpen();
    return [...this.memory.documents.keys()].filter((k) => k.startsWith(prefix));
  }

  sMembers(set: string): string[] {
    this.assertOpen();
    return [...(this.memory.collections.get(set) ?? [])];
  }

  /** A read-only view of the whole state (for dump and tests). */
  get state(): Readonly<DbState> {
    return this.memory;
  }

  private serialSnapshot<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.snapshotQueue.then(fn);
    this.snapshotQueue = run.catch(() => undefined);
    return run;
  }

  /** The state at this instant, kept while writes go on (copy on write) until encodeFrozen is done with it. */
  private freeze(): FrozenState {
    const frozen = new FrozenState(this.memory);
    this.frozen.add(frozen);
    return frozen;
  }

  /** Encodes the state frozen now (or `frozen`), a slice at a time, and lets it go. */
  private async encodeFrozen(header: { version: SnapshotVersion; walLine: number; timestamp: number }, frozen = this.freeze()): Promise<string[]> {
    try {
      return await encodeSnapshotYielding({ ...header, state: frozen.entries }, this.key);
    } finally {
      this.frozen.delete(frozen);
    }
  }

  /** Writes snapshot.jss at the current line (tmp, fsync, rename), then rotates the WAL, as BRI does. */
  // async: after close, STORE_CLOSED is a rejection (as this file's other promise-returning calls), never a synchronous throw.
  async createSnapshot(): Promise<SnapshotInfo> {
    this.assertOpen();
    return this.serialSnapshot(() => this.writeSnapshotNow());
  }

  private async writeSnapshotNow(): Promise<SnapshotInfo> {
    // Capture line and state together (no await in between), then make the WAL durable up to that line first.
    // The state frozen (copy on write) and encoded a slice at a time: writers go on meanwhile.
    const walLine = this.writer.position.totalLines;
    const timestamp = Date.now();
    const text = await this.encodeFrozen({ version: this.config.snapshotVersion, walLine, timestamp });
    await this.writer.flush();
    await writeFileDurable(path.join(this.dataDir, SNAPSHOT_FILE), text);
    await dropObsoleteCold(this.dataDir, this.memory.documents);
    this.snapshotLine = walLine;
    const rot = await this.writer.rotate();
    return { walLine, timestamp, nextSegment: rot.opened };
  }

  /**
   * Ends the current segment at the current line (unless it is empty) and returns that
   * line with the state at it, encoded as a snapshot whose walLine is `line + walLineOffset`:
   * what an archive needs to end on a boundary and to seed the next one.
   */
  async sealForArchive(walLineOffset: number): Promise<{ endLocalLine: number; endSnapshotText: readonly string[]; sealedAt: number; endCounts: { documents: number; collections: number } }> {
    this.assertOpen();
    // Line, state and time together: every later line is stamped after sealedAt.
    const endLocalLine = this.writer.position.totalLines;
    // Not before the last line: after the clock was stepped back, lines carry times ahead of it.
    const sealedAt = Math.max(Date.now(), this.writer.stampFloorMs);
    this.writer.stampAfter(sealedAt);
    // The state frozen (copy on write) and the rotation marker, in the same tick; the state is then
    // encoded a slice at a time while writes go on. The rotation first: its syncs, close and open each
    // wait for a turn of the event loop, and writers wait for them.
    const frozen = this.freeze();
    try {
      await this.writer.rotate({ skipIfEmpty: true });
    } catch (err) {
      this.frozen.delete(frozen);
      throw err;
    }
    const text = await this.encodeFrozen({ version: 2, walLine: endLocalLine + walLineOffset, timestamp: sealedAt }, frozen);
    this.sealed = { localLine: endLocalLine, text };
    return { endLocalLine, endSnapshotText: text, sealedAt, endCounts: { documents: frozen.documentCount, collections: frozen.collectionCount } };
  }

  /**
   * Removes the leading closed segments whose lines are all at or below `safeLocalLine` (lines
   * archived and stored everywhere), with a snapshot at the current line whose walLine is lowered
   * by the lines removed, and `removedLines` raised by as many (see wal-cleanup.ts for the
   * journal that makes it crash-safe). Reads, writes and later snapshots go on as before.
   */
  async removeArchivedSegments(safeLocalLine: number, removedLinesBefore: number, onStep?: (step: CleanupStep, item?: string) => void): Promise<CleanupResult> {
    this.assertOpen();
    return this.serialSnapshot(async () => {
      const plan = await removableSegments(this.dataDir, safeLocalLine, this.writer.position.segment);
      const lines = plan.reduce((a, s) => a + s.lines, 0);
      if (plan.length === 0) return { segments: [], lines: 0, snapshotLine: this.snapshotLine };
      // Line, state and renumbering together (no await in between): appends after this are numbered anew.
      // The state at the last seal is already encoded: when the lines removed are all below it, that
      // snapshot (lines after it are replayed) only needs its walLine lowered, not a new encode.
      const last = plan[plan.length - 1]!.lastLine;
      const seal = this.sealed && this.sealed.localLine >= last ? this.sealed : null;
      const reused = seal ? piecesWithWalLine(seal.text, seal.localLine - lines, this.key) : null;
      const walLine = reused !== null ? seal!.localLine - lines : this.writer.position.totalLines - lines;
      const frozen = reused === null ? this.freeze() : null;
      this.sealed = null;
      const before = this.snapshotLine;
      this.writer.shiftLines(-lines);
      this.snapshotLine = walLine;
      try {
        // Without a seal to reuse, the state at the shift, encoded a slice at a time as writes go on.
        const text = reused ?? (await this.encodeFrozen({ version: this.config.snapshotVersion, walLine, timestamp: Date.now() }, frozen!));
        // The snapshot must not claim lines that are not on disk yet.
        await this.writer.flush();
        await applyWalCleanup(this.dataDir, { segments: plan, lines, removedLinesBefore }, text, onStep);
        await dropObsoleteCold(this.dataDir, this.memory.documents);
      } catch (err) {
        const outcome = await completeWalCleanup(this.dataDir).catch(() => null);
        if (outcome === 'finished') return { segments: plan.map((s) => s.name), lines, snapshotLine: walLine };
        if (outcome === 'rolled-back' || outcome === 'none') {
          this.writer.shiftLines(lines);
          this.snapshotLine = before;
        } else {
          // Whether it committed is unknown: stop writing; reopening finishes or drops it.
          this.writer.fail(err);
        }
        throw err;
      }
      return { segments: plan.map((s) => s.name), lines, snapshotLine: walLine };
    });
  }

  /** Drops the state kept from the last seal (the archive job is over: it only saves an encode right after). */
  releaseSeal(): void {
    this.sealed = null;
  }

  /** The key entries are encrypted with, if any (archiving needs it to check the chain). */
  get encryptionKey(): EncryptionKey | undefined {
    return this.key;
  }

  /** Closes the current segment and opens the next one. */
  async rotateWal(): Promise<RotateResult> {
    this.assertOpen();
    return this.writer.rotate();
  }

  /** Waits until every write so far is durable. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  onAppend(listener: AppendListener): () => void {
    return this.writer.onAppend(listener);
  }

  info(): StoreInfo {
    const { totalLines, segment, lastPointer } = this.writer.position;
    const { documents, collections } = this.memory;
    return { dataDir: this.dataDir, totalLines, snapshotLine: this.snapshotLine, segment, lastPointer, documents: documents.size, collections: collections.size, encrypted: this.key !== undefined };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Refuses every write from now on (STORE_CLOSED), as close() does: db.close() calls it first, since it stops the
   * archive's jobs and ships what is left before it closes the store, and a write let in meanwhile was acknowledged.
   */
  refuseWrites(): void {
    this.writesRefused = true;
  }

  /**
   * Flushes, takes a final snapshot (unless disabled), closes the WAL and releases the lock. Idempotent: a call
   * while one is under way waits for it and settles as it does; a call after it resolves.
   */
  close(): Promise<void> {
    // `closed` turns true before the lock is released: a call then still waits for the release.
    if (this.closed && this.closing === null) return Promise.resolve();
    this.writesRefused = true;
    // Two shutdown paths at once (signal handlers, a finally) each started a close: the second's snapshot
    // found the WAL writer closed (STORE_CLOSED), as db.close() once did.
    this.closing ??= this.closeOnce().finally(() => (this.closing = null));
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    // A final snapshot not written (no file handles, a full disk) loses nothing: every line is in the WAL the next open replays. The WAL
    // is closed and the lock released all the same, then that is said (they were not: bri.lock stayed, and a second close() resolved).
    const snapshot = await (this.config.snapshotOnClose ? this.createSnapshot() : this.snapshotQueue).then(() => null, (err: unknown) => ({ err }));
    try {
      await this.writer.close();
    } finally {
      this.closed = true;
      await this.lock.release();
    }
    if (snapshot) throw snapshot.err;
  }
}

// A snapshot that cannot be written (a full disk, the directory deleted under a running database) is a typed IO_ERROR, as a failed WAL write is.
withTypedIoErrors(BriStore.prototype, ['createSnapshot', 'close'], 'snapshot');
