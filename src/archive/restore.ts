/**
 * Carrying out a restore plan: verify (and repair) the archive, build the data
 * directory beside the target (snapshot, WAL segments, cold tier, line numbers
 * right for the restored segments), fsync it, validate it, then swap it in.
 * Never a half-restored directory: anything that fails before the swap leaves
 * the target as it was.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { decodeSnapshot, encodeSnapshot, isEncryptedSnapshot } from '../format/snapshot-file.js';
import { applyOperation, statesEqual, type DbState } from '../format/state.js';
import { parseWalLine } from '../format/wal-line.js';
import { fsyncDir } from '../store/durable-fs.js';
import { COLD_DIR, segmentIndex, SNAPSHOT_FILE, TXN_DIR, WAL_DIR } from '../store/layout.js';
import { appendShipped, MISSING_SHIPMENT, type ChainPosition, type ShippedInput, type ShippedOutcome } from './shipping/restore-shipped.js';
import { acquireLock, isLiveOwner, LOCK_FILE, readLockOwner, type DirLock } from '../store/lock.js';
import { recover } from '../store/recovery.js';
import { verifyDataDir } from '../store/verify-data-dir.js';
import { isEncryptedEntry, lineOperation } from '../store/wal-entry.js';
import { writeArchiveState } from './archive-state.js';
import { assertInstanceId } from './ids.js';
import { decompressChunks } from './compress.js';
import { readPackage } from './package-reader.js';
import type { ProgressListener } from './progress.js';
import { splitLineBatches } from './replay-archive.js';
import type { RestorePlan } from './restore-plan.js';
import { recoverInterruptedRestore, removeJournal, RESTORE_LOCK_PURPOSE, stamp, swapIn, writeJournal, type SwapJournal } from '../store/dir-swap.js';
import { verifyArchive, type VerifyReport } from './verify.js';

export interface RestoreHooks {
  beforeRestore?(plan: RestorePlan): void | Promise<void>;
  afterSnapshotRestore?(info: { path: string; walLine: number; documents: number | null }): void | Promise<void>;
  afterWalSegmentRestore?(info: { segment: string; lines: number; segmentsDone: number; segmentsTotal: number; linesDone: number }): void | Promise<void>;
  afterRestore?(result: RestoreResult): void | Promise<void>;
  onError?(error: unknown, plan: RestorePlan): void | Promise<void>;
}

/** Repairs a damaged archive into a new file with its recovery data; null when it cannot. */
export type ArchiveRepairer = (file: string) => Promise<{ file: string; damagedBlocks: number; repairedBlocks: number } | null>;

export interface RestoreOptions {
  targetDir: string;
  key?: EncryptionKey;
  /** Verify the archive first (default true). */
  verify?: boolean;
  /** Remove the old directory instead of keeping it renamed. */
  cleanExisting?: boolean;
  /** Allow replacing a non-empty target. */
  force?: boolean;
  dryRun?: boolean;
  hooks?: RestoreHooks;
  /** A new instance id for the result (clone); default: kept when the chain goes on, new otherwise. */
  newInstanceId?: string;
  repair?: ArchiveRepairer;
  onProgress?: ProgressListener;
  /** Refuses targets that this process has open (the database's own directory). */
  openHere?: (dir: string) => boolean;
  /** Paths inside the target that the restored directory keeps (its archive directory). */
  carryOver?: string[];
  /**
   * Gets a verified (or repaired) copy of the planned archive, trying sources in order
   * (default: the plan's local file, verified and repaired here). `temporary` files are removed afterwards.
   */
  fetch?: (plan: RestorePlan, workDir: string) => Promise<FetchedArchive>;
  /** Shipped WAL that continues the archive (latest, or a time after the archive's end). */
  shipped?: ShippedInput;
  /** Fail (before anything is swapped in) when a shipment in the middle is damaged or missing. */
  shippedMustBeWhole?: boolean;
}

/** A copy of the planned archive, ready to unpack. */
export interface FetchedArchive {
  file: string;
  repaired: RestoreResult['repaired'];
  source: string;
  temporary: string[];
  skipped: Array<{ source: string; reason: string; code?: string }>;
}

export interface RestoreResult {
  dryRun: boolean;
  plan: RestorePlan;
  targetDir: string;
  /** Where the previous target was moved (null if there was none, or it was removed). */
  movedAside: string | null;
  linesRestored: number;
  /** Absolute number of the last restored line. */
  lastLine: number;
  lastTimestamp: number | null;
  documents: number | null;
  collections: number | null;
  instanceId: string;
  repaired: { damagedBlocks: number; repairedBlocks: number } | null;
  /** Which source the archive came from (`local`, or a remote's name). */
  source: string;
  /** Sources tried first and passed over, with the reason (missing, down, damaged beyond repair). */
  skipped: Array<{ source: string; reason: string; code?: string }>;
  /** The shipped WAL restored after the archive (null: none was used). */
  shipped: ShippedOutcome | null;
  /** Errors thrown by hooks after the swap (the restore itself succeeded). */
  hookErrors: string[];
}

function restoreError(message: string, hint: string, cause?: unknown): BriError {
  return new BriError(ErrorCodes.RESTORE_ERROR, message, { hint, cause });
}

async function targetState(target: string): Promise<{ exists: boolean; empty: boolean; isDataDir: boolean }> {
  try {
    const entries = await fsp.readdir(target);
    return { exists: true, empty: entries.length === 0, isDataDir: entries.includes(WAL_DIR) || entries.includes(SNAPSHOT_FILE) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, empty: true, isDataDir: false };
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw restoreError(`${target} is a file, not a directory`, 'Choose a directory as the target.');
    throw err;
  }
}

async function checkTarget(target: string, opts: RestoreOptions): Promise<{ exists: boolean; empty: boolean }> {
  if (opts.openHere?.(target)) {
    throw restoreError(`${target} is the data directory of the open database`, 'Close the database first (db.close()), then restore with `bri restore` or restoreDataDir(); or restore into another --target.');
  }
  const st = await targetState(target);
  if (st.exists && !st.empty && !opts.force) {
    throw restoreError(`${target} is not empty`, 'Pass --force (force: true) to replace it; the old directory is kept beside it unless --clean-existing.');
  }
  const owner = st.exists ? await readLockOwner(target) : null;
  if (owner && isLiveOwner(owner)) {
    throw new BriError(ErrorCodes.LOCKED, `${target} is locked by pid ${owner.pid} on ${owner.host} (${owner.purpose})`, {
      hint: 'Stop the process that has the database open, then restore.',
      details: { owner },
    });
  }
  return st;
}

async function verifyOrRepair(plan: RestorePlan, opts: RestoreOptions): Promise<{ file: string; repaired: RestoreResult['repaired'] }> {
  const file = plan.archive.file;
  if (file === null) throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `archive ${plan.archive.manifest.archiveId} has no local copy`, { hint: 'Configure the remote that holds it (--config).' });
  if (opts.verify === false) return { file, repaired: null };
  const report: VerifyReport = await verifyArchive(file, { ...(opts.key ? { key: opts.key } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  if (report.ok) return { file, repaired: null };
  const fixed = opts.repair ? await opts.repair(file) : null;
  if (fixed) {
    const again = await verifyArchive(fixed.file, opts.key ? { key: opts.key } : {});
    if (again.ok) return { file: fixed.file, repaired: { damagedBlocks: fixed.damagedBlocks, repairedBlocks: fixed.repairedBlocks } };
  }
  throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `archive ${plan.archive.manifest.archiveId} is damaged${opts.repair ? ' beyond repair' : ''}: ${report.problems[0] ?? 'unknown damage'}`, {
    hint: 'Restore from another copy of the archive (another source), or an earlier archive.',
    details: { archiveId: plan.archive.manifest.archiveId, problems: report.problems },
  });
}

interface Built {
  linesRestored: number;
  lastLine: number;
  lastTimestamp: number | null;
  lastPointer: string;
  expected: DbState | null;
  shipped: ShippedOutcome | null;
}

/** Writes the data directory for the plan into `dir` (which exists and is empty). */
async function buildDataDir(file: string, plan: RestorePlan, dir: string, opts: RestoreOptions): Promise<Built> {
  const m = plan.archive.manifest;
  for (const d of [WAL_DIR, COLD_DIR, TXN_DIR]) await fsp.mkdir(path.join(dir, d), { recursive: true });
  let expected: DbState | null = null;
  let decodable = true;
  let stopped = false;
  let linesRestored = 0;
  let lastLine = m.timeRange.walLines.start;
  let lastTimestamp: number | null = null;
  let lastPointer = m.chain.prevPointer;
  let segmentsDone = 0;
  let done = 0;
  const segmentsTotal = m.contents.segments.length;
  await readPackage(file, {
    async member(info, data) {
      if (info.kind === 'snapshot') {
        const parts: Buffer[] = [];
        for await (const c of decompressChunks(data, info.name, m.contents.snapshot.originalSize)) parts.push(c);
        const text = Buffer.concat(parts).toString('utf8');
        if (isEncryptedSnapshot(text) && !opts.key) {
          if (m.timeRange.walLines.start !== 0) {
            throw new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, 'the archive is encrypted: restoring it needs the key', { hint: 'Set BRI_ENCRYPTION_KEY to the key of the archived database.' });
          }
          decodable = false;
          return; // the empty state at line 0: no snapshot.jss, BRI starts empty and replays the WAL
        }
        const snap = decodeSnapshot(text, opts.key);
        expected = snap.state;
        // Line numbers restart at 1 in the restored wal/: the snapshot is before all of them.
        if (m.timeRange.walLines.start > 0 || snap.state.documents.size > 0 || snap.state.collections.size > 0) {
          const out = path.join(dir, SNAPSHOT_FILE);
          await fsp.writeFile(out, encodeSnapshot({ version: 2, walLine: 0, timestamp: snap.timestamp, state: snap.state }, m.contents.snapshot.encrypted ? opts.key : undefined));
          await opts.hooks?.afterSnapshotRestore?.({ path: out, walLine: m.timeRange.walLines.start, documents: snap.state.documents.size });
        }
        return;
      }
      if (info.kind !== 'wal' || stopped) return;
      const seg = info.segment!;
      const out = path.join(dir, WAL_DIR, seg.segment);
      const fh = await fsp.open(out, 'w', 0o644);
      let lines = 0;
      try {
        let buffer: string[] = [];
        const flush = async () => {
          if (buffer.length) await fh.write(buffer.join(''));
          buffer = [];
        };
        let lineNo = seg.firstLine;
        lines: for await (const batch of splitLineBatches(decompressChunks(data, info.name, seg.originalSize))) for (const text of batch) {
          const parsed = parseWalLine(text);
          if (!parsed) throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${info.name}: line ${lineNo} does not parse`, { hint: 'Repair the archive or use another copy.' });
          if (plan.untilTimestamp !== null && parsed.timestamp > plan.untilTimestamp) {
            stopped = true;
            break lines;
          }
          if (expected && decodable && !(isEncryptedEntry(parsed.entry) && !opts.key)) applyOperation(expected, lineOperation(parsed, opts.key));
          else decodable = false;
          buffer.push(text + '\n');
          if (buffer.length >= 4096) await flush();
          lines++;
          lastLine = lineNo++;
          lastTimestamp = parsed.timestamp;
          lastPointer = parsed.pointer;
          done += text.length + 1;
        }
        await flush();
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (lines === 0) await fsp.rm(out);
      linesRestored += lines;
      segmentsDone++;
      opts.onProgress?.({ operation: 'restore', phase: 'restore', doneBytes: done, totalBytes: plan.bytesToWrite, item: `wal/${seg.segment}` });
      await opts.hooks?.afterWalSegmentRestore?.({ segment: seg.segment, lines, segmentsDone, segmentsTotal, linesDone: linesRestored });
    },
  });
  let shipped: ShippedOutcome | null = null;
  if (opts.shipped && !stopped) {
    // The shipped WAL goes on in one more segment after the archive's last.
    const lastSeg = m.contents.segments[m.contents.segments.length - 1];
    const index = lastSeg ? (segmentIndex(lastSeg.segment) ?? 0) + 1 : 0;
    const pos: ChainPosition = { lastLine, lastPointer, lastTimestamp, expected: decodable ? expected : null };
    shipped = await appendShipped(dir, index, pos, opts.shipped, plan.untilTimestamp, opts.key);
    if (shipped.broken && opts.shippedMustBeWhole) {
      throw restoreError(`shipped WAL lines ${shipped.broken.fromLine}..${shipped.broken.toLine} are unusable: ${shipped.broken.reason}`, 'Nothing was swapped in; restore without --on-broken-shipment fail to stop at the last good line, or from another source.');
    }
    linesRestored += shipped.lines;
    ({ lastLine, lastPointer, lastTimestamp } = pos);
    if (pos.expected === null) decodable = false;
  }
  return { linesRestored, lastLine, lastTimestamp, lastPointer, expected: decodable ? expected : null, shipped };
}

async function fsyncTree(dir: string): Promise<void> {
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await fsyncTree(path.join(dir, e.name));
  }
  await fsyncDir(dir);
}

/** Checks the built directory: it loads, the chain verifies, and it holds exactly the replayed state. */
async function validate(dir: string, plan: RestorePlan, built: Built, opts: RestoreOptions): Promise<{ documents: number | null; collections: number | null }> {
  const report = await verifyDataDir(dir, opts.key, plan.archive.manifest.chain.prevPointer === '' && plan.startLine > 0 ? null : plan.archive.manifest.chain.prevPointer);
  if (!report.ok) throw restoreError(`the restored directory fails verification: ${report.problems[0]}`, 'Nothing was swapped in; try another archive or copy.');
  if (report.chain.lines !== built.linesRestored) throw restoreError(`the restored WAL holds ${report.chain.lines} lines, expected ${built.linesRestored}`, 'Nothing was swapped in.');
  if (built.expected === null) return { documents: null, collections: null };
  const rec = await recover(dir, opts.key ? { encryptionKey: opts.key } : {});
  // Compared in place: serialising two copies of a large state would cost more than the state itself.
  if (!statesEqual(rec.state, built.expected)) {
    throw restoreError('the restored directory does not open to the state the archive replays to', 'Nothing was swapped in; this is a bug, please report it.');
  }
  return { documents: rec.state.documents.size, collections: rec.state.collections.size };
}

/**
 * What a dry run reports of the shipped WAL: the chain as listed, without fetching it. A point in
 * time may stop inside it; that is known only once the lines are read, so the dry run gives the
 * chain's end as the upper bound.
 */
function plannedShipped(plan: RestorePlan, used: boolean): ShippedOutcome | null {
  const p = plan.shipped;
  if (!used || !p || p.throughLine <= p.afterLine) return null;
  return {
    source: p.source,
    sources: [p.source],
    lines: p.throughLine - p.afterLine,
    throughLine: p.throughLine,
    broken: p.gapAt === null ? null : { fromLine: p.gapAt, toLine: p.gapAt, reason: MISSING_SHIPMENT },
    replaced: [],
    stoppedByTime: false,
  };
}

export async function executeRestore(plan: RestorePlan, opts: RestoreOptions): Promise<RestoreResult> {
  if (opts.newInstanceId !== undefined) assertInstanceId(opts.newInstanceId, 'new instance id');
  const target = path.resolve(opts.targetDir);
  const base: Omit<RestoreResult, 'linesRestored' | 'lastLine' | 'lastTimestamp' | 'documents' | 'collections'> = {
    dryRun: opts.dryRun === true,
    plan,
    targetDir: target,
    movedAside: null,
    instanceId: opts.newInstanceId ?? (plan.continuesChain ? plan.instanceId : randomUUID()),
    repaired: null,
    source: plan.archive.copies?.[0]?.source ?? 'local',
    skipped: [],
    shipped: null,
    hookErrors: [],
  };
  if (opts.dryRun) {
    const st = await targetState(target);
    const shipped = plannedShipped(plan, opts.shipped !== undefined);
    return {
      ...base,
      movedAside: st.exists && !st.empty && !opts.cleanExisting ? `${target}.pre-restore-<time>` : null,
      shipped,
      linesRestored: plan.linesToReplay + (shipped?.lines ?? 0),
      lastLine: shipped?.throughLine ?? plan.startLine + plan.linesToReplay,
      lastTimestamp: plan.untilTimestamp ?? plan.shipped?.endTime ?? plan.timeRange.end.getTime(),
      documents: plan.archive.manifest.stats.documentsAtSnapshot,
      collections: plan.archive.manifest.stats.collectionsAtSnapshot,
    };
  }
  await recoverInterruptedRestore(target);
  const st = await checkTarget(target, opts);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  let lock: DirLock | null = null;
  const when = stamp();
  const journal: SwapJournal = {
    target,
    newDir: `${target}.restore-${when}`,
    oldDir: st.exists ? `${target}.pre-restore-${when}` : null,
    phase: 'building',
    cleanExisting: opts.cleanExisting === true,
    carryOver: opts.carryOver ?? [],
  };
  let swapped = false;
  const temporary: string[] = [];
  try {
    if (st.exists) lock = await acquireLock(target, RESTORE_LOCK_PURPOSE);
    await opts.hooks?.beforeRestore?.(plan);
    let fetched: FetchedArchive;
    if (opts.fetch) fetched = await opts.fetch(plan, path.dirname(target));
    else {
      const v = await verifyOrRepair(plan, opts);
      fetched = { ...v, source: 'local', skipped: [], temporary: v.file !== plan.archive.file ? [v.file] : [] };
    }
    temporary.push(...fetched.temporary);
    const { file, repaired } = fetched;
    base.source = fetched.source;
    base.skipped = fetched.skipped;
    await writeJournal(journal);
    await fsp.mkdir(journal.newDir);
    const built = await buildDataDir(file, plan, journal.newDir, opts);
    const m = plan.archive.manifest;
    await writeArchiveState(journal.newDir, {
      version: 1,
      instanceId: base.instanceId,
      removedLines: m.timeRange.walLines.start,
      last: plan.continuesChain && base.instanceId === plan.instanceId ? { archiveId: m.archiveId, endLine: m.timeRange.walLines.end, lastPointer: m.chain.lastPointer, endTimestamp: m.timeRange.end.getTime() } : null,
    });
    await fsyncTree(journal.newDir);
    const counts = await validate(journal.newDir, plan, built, opts);
    await swapIn(journal);
    swapped = true;
    if (journal.oldDir && !journal.cleanExisting) await fsp.rm(path.join(journal.oldDir, LOCK_FILE), { force: true });
    const result: RestoreResult = {
      ...base,
      movedAside: journal.cleanExisting ? null : journal.oldDir,
      repaired,
      linesRestored: built.linesRestored,
      shipped: built.shipped,
      lastLine: built.lastLine,
      lastTimestamp: built.lastTimestamp,
      ...counts,
    };
    try {
      await opts.hooks?.afterRestore?.(result);
    } catch (err) {
      result.hookErrors.push(`afterRestore: ${(err as Error).message}`);
      await opts.hooks?.onError?.(err, plan);
    }
    return result;
  } catch (err) {
    if (!swapped) {
      await fsp.rm(journal.newDir, { recursive: true, force: true });
      if (fs.existsSync(path.join(path.dirname(target), `.${path.basename(target)}.restore.json`))) await removeJournal(target);
    }
    try {
      await opts.hooks?.onError?.(err, plan);
    } catch {
      // the original error is the one to report
    }
    if (isBriError(err)) throw err;
    throw restoreError(`restore failed: ${(err as Error).message}`, 'Nothing was swapped in; the target is as it was.', err);
  } finally {
    if (lock && !swapped) await lock.release();
    await Promise.all(temporary.map((f) => fsp.rm(f, { force: true })));
  }
}
