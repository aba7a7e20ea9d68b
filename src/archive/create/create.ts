/**
 * Creating an archive: seal the WAL at a segment boundary, take the starting
 * state, stream the WAL since the previous archive into zstd members, write
 * manifest and checksums, package it as a tar in a temp file, fsync, rename.
 * The file appears under its final name only when complete and durable.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError, typedIoError } from '../../errors.js';
import { segmentName } from '../../store/layout.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { contentDigestInput } from '../../format/checksums.js';
import { MANIFEST_VERSION, snapshotMemberName, type Manifest } from '../../format/manifest.js';
import type { AgeIdentity, AgeRecipients } from '../crypto/age-keys.js';
import { endStateOfDir, stageSnapshot } from './snapshot-member.js';
import { literalCopyOf, literalDocumentPiece } from '../../format/literal-state.js';
import { snapshotTextChunks } from '../../format/snapshot-file.js';
import { commitFile, fsyncDir, makeDirs, makeOwnDir } from '../../store/durable-fs.js';
import { createHash } from 'node:crypto';
import { ARCHIVE_STATE_FILE, ensureArchiveState, readArchiveState, sameDirectory, writeArchiveState, type ArchiveTip } from '../../store/archive-state.js';
import { assertArchiveDirOf, assertContinues, chainTip, earliestBuildableLine, holdsNothing, lastArchiveGone, pointerAfterTip, realPathOr, snapshotIsWalReplayed } from './chain-start.js';
import { DEFAULT_ZSTD_LEVEL } from '../package/compress.js';
import { archiveFileName, assertArchiveName, newArchiveId } from '../package/ids.js';
import type { RecoveryWriter } from '../package/recovery.js';
import { writeArchivePackage } from './write-package.js';
import type { ProgressListener } from '../package/progress.js';
import { pruneSeeds, removeSeed, seedExists, writeSealedSeed, writeSeed } from './seeds.js';
import { adoptRestoreSeeds } from './seed-adoption.js';
import { resolveStartState, SNAPSHOT_MEMBER_VERSION, stateSnapshotText } from './start-state.js';
import { stageWalRange } from './wal-range.js';
import { archiveEndWithin, linesLeftFor } from './manifest-budget.js';
import { lockInstanceCreate, removeDeadStages } from './create-lock.js';
import { clockBehindWarning, retentionOfSealed, retentionUntil, type Retention } from './retention-date.js';
import { readAllCopyRecords, type CopyRecord } from '../copies/records.js';
import { lineAt, segmentSpans } from '../../store/wal/wal-spans.js';

export type { RecoveryWriter } from '../package/recovery.js';
// Rekey writes its packages as create does.
export { writeArchivePackage } from './write-package.js';
export const CREATED_BY = 'bri-archive/0.1.0';
const TMP_DIR = '.tmp';

import type { Sealer } from '../../store/offline.js';
export type { SealResult, Sealer } from '../../store/offline.js';

export type { Retention } from './retention-date.js';

export interface CreateArchiveOptions {
  dataDir: string;
  /** What opens the previous archives' sealed seed when the encryption setting changed (an identity file's path or identities; default the environment's). */
  identity?: string | AgeIdentity;
  archiveDir: string;
  seal: Sealer;
  key?: EncryptionKey;
  name?: string;
  retention?: Retention;
  /** zstd level 1..22 (default 19). */
  level?: number;
  /** zstd worker threads (default 2: the machine's cores). */
  workers?: number;
  /** Adds the recovery member (PAR2) computed over the package written so far. */
  recovery?: RecoveryWriter;
  onProgress?: ProgressListener;
  now?: () => Date;
  /**
   * Writes WAL lines `afterLine+1 .. throughLine` (absolute) to `file`, chaining from the pointer at `afterLine`:
   * lines WAL cleanup removed because they were shipped to every remote, fetched back for this archive.
   */
  fetchRemovedLines?: (afterLine: number, throughLine: number, pointer: string, file: string) => Promise<void>;
  /** Every archive the sources hold (asked only when the archive the state names as the last one was deleted). */
  knownArchives?: () => Promise<Manifest[]>;
  fetchArchive?: (archiveId: string, workDir: string) => Promise<string | null>; // a good copy in workDir (null: none), to replay the previous archive
  /** Encrypt every data member and the seed with age for these recipients (the archive config's `encryption`). */
  encryptTo?: AgeRecipients;
  /** The largest manifest to write (default the readers' MAX_MANIFEST_BYTES): lower only in tests, which cannot make 30,000 segments. */
  maxManifestBytes?: number;
}

export interface CreatedArchive {
  archiveId: string;
  file: string;
  manifest: Manifest;
  bytes: number;
  /** Lines before this archive that no archive holds (its previous one was deleted after wal/ lost them), said rather than skipped. */
  gap: ArchiveGap | null;
  /** What the archive holds as it is but a reader should know (WAL times that go backwards). */
  warnings: string[];
}

function nothingToArchive(line: number, tip: ArchiveTip | null): BriError {
  return new BriError(ErrorCodes.NOTHING_TO_ARCHIVE, `nothing to archive: no WAL line after line ${line}`, {
    hint: tip ? `Write to the database first; archive ${tip.archiveId} already holds everything through line ${tip.endLine}.` : 'Write to the database first: it holds no line yet.',
    // The archive that holds it all, for an answer that names it; null: no archive yet.
    details: { line, heldBy: tip ? { archiveId: tip.archiveId, endLine: tip.endLine } : null },
  });
}

/** A first archive that starts at the snapshot although wal/ starts at line 1: the lines before it are said, not archived. */
function historyBefore(line: number): string {
  return `the data directory's snapshot (line ${line}) holds a state that the WAL's lines 1..${line} do not replay to (its first segments were removed, and walLine lowered): this archive starts from that state at line ${line}, without the history of lines 1..${line}`;
}

/** Lines between the previous archive and this one that no archive holds: the history of those lines is lost, their effect is in this archive's starting state. */
export interface ArchiveGap {
  fromLine: number;
  toLine: number;
  reason: string;
}

/** The caller's options, checked with the rules the manifest reader applies (USAGE). */
export function checkCreateOptions(opts: { name?: string; level?: number; retention?: Retention }, createdAt = new Date()): { retentionUntil: Date | null; permanent: boolean } {
  const level = opts.level ?? DEFAULT_ZSTD_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new BriError(ErrorCodes.USAGE, `zstd level must be 1..22, got ${level}`, { hint: 'Use a level from 1 (fast) to 22 (smallest); 19 is the default.' });
  }
  if (opts.name !== undefined) assertArchiveName(opts.name);
  return retentionUntil(opts.retention, createdAt);
}

export async function createArchive(opts: CreateArchiveOptions): Promise<CreatedArchive> {
  const now = opts.now ?? (() => new Date());
  const level = opts.level ?? DEFAULT_ZSTD_LEVEL;
  const createdAt = now();
  const retention = checkCreateOptions(opts, createdAt);
  const archiveId = newArchiveId(createdAt);
  // A directory that holds nothing and was never archived: answered as an empty database is, before anything is written to it.
  if ((await readArchiveState(opts.dataDir)) === null && (await holdsNothing(opts.dataDir, opts.key))) throw nothingToArchive(0, null);
  const state = await ensureArchiveState(opts.dataDir);
  await assertArchiveDirOf(state, opts.dataDir, opts.archiveDir);
  await makeDirs(opts.archiveDir);
  const tmpRoot = path.join(opts.archiveDir, TMP_DIR);
  const lock = await lockInstanceCreate(tmpRoot, state.instanceId, opts.dataDir, opts.archiveDir);
  const stageDir = path.join(tmpRoot, `${state.instanceId}.${archiveId}`);
  const emit = (phase: Parameters<ProgressListener>[0]['phase'], doneBytes: number, totalBytes: number, item?: string) =>
    opts.onProgress?.({ operation: 'create', phase, doneBytes, totalBytes, ...(item ? { item } : {}) });
  try {
    await removeDeadStages(tmpRoot, state.instanceId);
    await makeOwnDir(stageDir);
    emit('prepare', 0, 0);
    const chain = await chainTip(state, opts.archiveDir, opts.knownArchives);
    // A first archive after a restore into a new directory starts where the restore did, wherever the archives go.
    if (!chain.tip) await adoptRestoreSeeds(opts.dataDir, opts.archiveDir, state.instanceId);
    const beforeSeal = Date.now() - 1;
    const sealed = await opts.seal(state.removedLines);
    // The archive is complete through this instant: later lines are stamped after it.
    const sealedAt = sealed.sealedAt ?? beforeSeal;
    const spans = await segmentSpans(opts.dataDir);
    // No segment at all (no wal/ yet) is a WAL complete from line 1 too: it holds none of its lines.
    const walComplete = (spans.length === 0 || spans[0]!.index === 0) && state.removedLines === 0;
    const walEnd = sealed.endLocalLine + state.removedLines;
    const { tip } = chain;
    if (tip) await assertContinues({ tip, endLine: walEnd, spans, dataDir: opts.dataDir, removedLines: state.removedLines, ...(opts.key ? { key: opts.key } : {}) });
    let startLine: number | null = null;
    let gap: ArchiveGap | null = null;
    let removedLinesFile: string | null = null;
    const warnings: string[] = chain.disagrees ? [chain.disagrees] : [];
    if (tip && tip.endLine >= state.removedLines) startLine = tip.endLine;
    else if (tip && opts.fetchRemovedLines) {
      // Lines the WAL cleanup removed once they were shipped everywhere: fetched back, as the segment before the first on disk.
      const file = path.join(stageDir, 'removed-lines.wal');
      try {
        await opts.fetchRemovedLines(tip.endLine, state.removedLines, tip.lastPointer, file);
        startLine = tip.endLine;
        removedLinesFile = file;
      } catch (err) {
        // A remote that could not answer may still hold them: wait for it. Only lines no remote has are a gap.
        if (!isBriError(err) || err.details.incomplete !== false) throw err;
      }
    }
    // The empty state starts a first archive only when the WAL replays to the snapshot: else the snapshot holds what the WAL lost.
    const fromEmpty = startLine === null && !tip && walComplete && (await snapshotIsWalReplayed(opts.dataDir, opts.key));
    if (startLine === null) {
      if (fromEmpty) startLine = 0;
      else {
        startLine = await earliestBuildableLine({ dataDir: opts.dataDir, archiveDir: opts.archiveDir, instanceId: state.instanceId, removedLines: state.removedLines, from: state.removedLines, endLine: walEnd, ...(opts.key ? { key: opts.key } : {}) });
        // Readers check an archive's line 1 against the empty pointer: a WAL whose first line continues removed lines starts after it.
        if (startLine === 0 && !walComplete && walEnd > 0) {
          startLine = 1;
          warnings.push(`the WAL's first line continues lines no longer in wal/ (the snapshot is at line 0): this archive starts from the state at line 1, that line applied to the snapshot, without its history`);
        }
        if (!tip && walComplete && startLine > 0) warnings.push(historyBefore(startLine));
        // Lines after the last archive (even one no source holds any more) that this one does not hold are said.
        const prevEnd = tip?.endLine ?? chain.deleted?.endLine;
        if (prevEnd !== undefined && startLine > prevEnd) {
          const why = tip ? await whyNotFetched(opts.archiveDir, tip.archiveId, opts.fetchRemovedLines !== undefined) : `archive ${chain.deleted!.archiveId}, which this directory continues, is in no source`;
          gap = { fromLine: prevEnd + 1, toLine: startLine, reason: `${why}; this archive starts from the state at line ${startLine}` };
        }
      }
    }
    // A first archive (or one after a gap) may hold the state alone; continuing an archive needs a new line.
    if (walEnd === startLine && gap === null && (tip !== null || fromEmpty)) throw nothingToArchive(startLine, tip);
    if (removedLinesFile !== null) {
      const first = spans[0];
      const index = Math.max(0, (first?.index ?? 1) - 1);
      spans.unshift({ name: segmentName(index), index, path: removedLinesFile, size: (await fsp.stat(removedLinesFile)).size, firstLine: startLine + 1 - state.removedLines, lastLine: 0 });
    }
    // As many segments as one manifest may list (else no reader would accept it): the lines after them are the next archive's.
    const endLine = archiveEndWithin(spans, startLine, walEnd, state.removedLines, { maxManifestBytes: opts.maxManifestBytes, recipients: opts.encryptTo?.recipients });
    if (endLine < walEnd) warnings.push(linesLeftFor(startLine, endLine, walEnd));
    if (chain.deleted && gap === null && startLine <= chain.deleted.endLine) warnings.push(lastArchiveGone(chain.deleted, opts.archiveDir, startLine, endLine));
    // The caller's end state is the seal's: an archive that stops before it makes its own.
    const endSnapshotText = endLine === walEnd ? sealed.endSnapshotText : undefined;
    const endLocalLine = endLine - state.removedLines;
    const start = await resolveStartState({
      dataDir: opts.dataDir,
      archiveDir: opts.archiveDir,
      instanceId: state.instanceId,
      removedLines: state.removedLines,
      startLine,
      walCompleteFromStart: fromEmpty,
      key: opts.key,
      timestamp: createdAt.getTime(),
      ...(startLine === tip?.endLine && (chain.tipFile || opts.fetchArchive) ? { previousArchive: chain.tipFile ?? (() => opts.fetchArchive!(tip.archiveId, stageDir)) } : {}),
      // With the end state's text from the caller, the start state is needed as text and counts only.
      needState: endSnapshotText === undefined,
      ...(opts.encryptTo ? { sealTo: opts.encryptTo } : {}), level,
      ...(opts.identity !== undefined ? { identity: opts.identity } : {}),
    });
    const M = start.walLine;

    // The line before the archive: its pointer continues the chain, its time starts the range.
    const before =
      M === 0 ? null : tip && tip.endLine === M ? { pointer: await pointerAfterTip(tip, { spans, removedLines: state.removedLines, key: opts.key }), timestamp: tip.endTimestamp } : state.origin?.line === M ? state.origin : await lineAt(spans, M - state.removedLines);
    // An origin with pointer '' is a chain that starts again after it (a restore that restored no line): checked from ''.
    const prevPointer = M === 0 ? '' : before === null ? null : before.pointer;
    const totalBytes = spans.filter((s) => s.lastLine > M - state.removedLines && s.firstLine <= endLocalLine).reduce((a, s) => a + s.size, 0);
    let done = 0;
    const endState = endSnapshotText === undefined && start.state ? literalCopyOf(start.state) : undefined;
    // A sealed seed cannot be opened here (recipients only): without the end state from the caller, it comes from the data directory itself.
    const dirEnd = start.sealedMember && endSnapshotText === undefined ? await endStateOfDir(opts.dataDir, opts.key, endLocalLine) : null;
    const wal = await stageWalRange({
      dataDir: opts.dataDir,
      spans,
      removedLines: state.removedLines,
      startLine: M,
      endLine,
      prevPointer,
      startTimestamp: M === 0 ? null : (before?.timestamp ?? null),
      key: opts.key,
      ...(opts.encryptTo ? { encryptTo: opts.encryptTo } : {}),
      ...(endState ? { replayInto: endState } : {}),
      stageDir,
      level,
      workers: opts.workers ?? 2,
      onBytes: (n) => emit('wal', (done += n), totalBytes),
    });

    const sealedArchive = opts.encryptTo !== undefined;
    const snapName = snapshotMemberName(sealedArchive);
    // The phases after the WAL have no byte count of their own here: named alone (the WAL's figures read 100% through them).
    emit('snapshot', 0, 0, snapName);
    const snap = await stageSnapshot(start, stageDir, level, opts.workers ?? 2, opts.encryptTo);
    const members: Record<string, string> = { [snapName]: snap.sha256 };
    for (const s of wal.segments) members[s.file] = s.sha256;
    const originalSize = snap.originalSize + wal.segments.reduce((a, s) => a + s.originalSize, 0);
    const compressedSize = snap.compressedSize + wal.segments.reduce((a, s) => a + s.compressedSize, 0);
    const startTs = M === 0 ? (wal.firstTimestamp ?? createdAt.getTime()) : (before?.timestamp ?? wal.firstTimestamp ?? createdAt.getTime());
    const sealedAtDate = new Date(Math.max(sealedAt, wal.lastTimestamp ?? startTs));
    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      archiveId,
      instanceId: state.instanceId,
      name: opts.name ?? null,
      previousArchiveId: tip?.archiveId ?? null,
      timeRange: {
        start: new Date(startTs),
        end: new Date(wal.lastTimestamp ?? startTs),
        sealedAt: sealedAtDate,
        walLines: { start: M, end: endLine },
      },
      chain: { prevPointer: M === 0 ? '' : (before?.pointer ?? ''), firstPointer: wal.firstPointer, lastPointer: wal.lastPointer, verified: wal.chainVerified },
      contents: {
        snapshot: {
          file: snapName,
          walLine: M,
          version: start.snapshotVersion,
          encrypted: start.encrypted,
          originalSize: snap.originalSize,
          compressedSize: snap.compressedSize,
          sha256: snap.sha256,
          contentSha256: snap.contentSha256,
        },
        segments: wal.segments.map(({ stagedPath: _, ...s }) => s),
        totalWalEntries: wal.entries,
        coldDocuments: start.coldDocuments,
      },
      compression: { algorithm: 'zstd', level, originalSize, compressedSize },
      integrity: { algorithm: 'sha256', members, contentSha256: createHash('sha256').update(contentDigestInput(members)).digest('hex') },
      errorCorrection: { enabled: opts.recovery !== undefined, algorithm: opts.recovery ? 'par2' : null, redundancy: opts.recovery?.redundancy ?? 0, blockSize: null, recoveryBlockCount: null },
      stats: {
        documentsAtSnapshot: start.documents,
        collectionsAtSnapshot: start.collections,
        operationsInWal: wal.entries,
        byOperation: wal.byOperation,
      },
      createdAt,
      createdBy: CREATED_BY,
      ...retentionOfSealed(opts.retention, retention, createdAt, sealedAtDate),
      ...(opts.encryptTo ? { encryption: { scheme: 'age' as const, recipients: [...opts.encryptTo.recipients], passphrase: opts.encryptTo.passphrase !== undefined } } : {}),
    };
    const behind = clockBehindWarning(createdAt, manifest.timeRange.end);
    if (behind !== null) warnings.push(behind);
    emit('package', 0, 0);
    // The seed for the next archive is durable before the archive is visible; it is written while the package is (the tar writer
    // mostly waits on the disk, the seed's encoding is CPU), streamed document by document when it is plaintext (memory: the state, not its text).
    const endTs = wal.lastTimestamp ?? createdAt.getTime();
    // The replayed end state holds its documents as their literals (format/literal-state.ts), which are their pieces as they are.
    const [endOf, piece] = endState !== undefined && wal.replayComplete ? [endState, literalDocumentPiece] : [dirEnd, undefined];
    const endSnap = endOf ? { version: SNAPSHOT_MEMBER_VERSION, walLine: endLine, timestamp: endTs, state: endOf } : null;
    const endText = endSnapshotText ?? (endSnap ? (start.encrypted && opts.key ? stateSnapshotText(endSnap.state, endLine, endSnap.timestamp, opts.key, piece) : snapshotTextChunks(endSnap, piece)) : undefined);
    const endFacts = endSnapshotText !== undefined ? sealed.endCounts : endSnap ? { documents: endSnap.state.documents.size, collections: endSnap.state.collections.size, version: SNAPSHOT_MEMBER_VERSION } : undefined;
    const seededBefore = endText !== undefined && (await seedExists(opts.archiveDir, state.instanceId, endLine));
    const seal = opts.encryptTo ? (t: string | Iterable<string>) => writeSealedSeed(opts.archiveDir, state.instanceId, endLine, t, endFacts, opts.encryptTo!, opts.key !== undefined || start.encrypted) : null;
    const seeding = endText === undefined ? Promise.resolve() : seal ? seal(endText) : writeSeed(opts.archiveDir, state.instanceId, endLine, endText, endFacts);
    seeding.catch(() => undefined);
    const file = path.join(opts.archiveDir, archiveFileName(archiveId));
    let written: Awaited<ReturnType<typeof writeArchivePackage>>;
    try {
      written = await writeArchivePackage(manifest, snap.path, wal.segments, stageDir, opts.recovery, emit);
      await seeding;
      // The package was fsynced whole by its writer: only the rename and the directory are left.
      await commitFile(written.path, file, { synced: true });
      // Placed, it is made once bri-archive.json names it: a state that cannot be written (a full data disk) takes it back out.
      const last = { archiveId, endLine, lastPointer: wal.lastPointer, endTimestamp: manifest.timeRange.end.getTime(), sealedAt: manifest.timeRange.sealedAt.getTime() };
      // Paths recorded before stay when they name these very directories (a bind mount's second path would otherwise
      // replace them, and name nothing once it is unmounted).
      const kept = (was: string | undefined, now: string) => (was !== undefined && sameDirectory(was, now) ? was : realPathOr(now));
      await writeArchiveState(opts.dataDir, { ...state, archiveDir: kept(state.archiveDir, opts.archiveDir), archivedFrom: kept(state.archivedFrom, opts.dataDir), last }).catch((e: unknown) => {
        // A failed write() names no file: the error says which one could not be written.
        const statePath = path.join(opts.dataDir, ARCHIVE_STATE_FILE);
        throw typedIoError(e, `archive create: recording the archive in ${ARCHIVE_STATE_FILE}`, statePath);
      });
    } catch (err) {
      // No archive, so no seed of it either: a failed create leaves the archive directory as it was.
      await seeding.catch(() => undefined);
      await withdrawArchive(file, archiveId, err);
      if (endText !== undefined && !seededBefore) await removeSeed(opts.archiveDir, state.instanceId, endLine).catch(() => undefined);
      throw err;
    }
    // The archive is made and recorded: older seeds that cannot go now go at the next run, and fail nothing.
    if (endText !== undefined) await pruneSeeds(opts.archiveDir, state.instanceId, endLine).catch(() => undefined);
    emit('done', totalBytes, totalBytes);
    return { archiveId, file, manifest: written.manifest, bytes: written.bytes, gap, warnings: wal.timesWentBack === null ? warnings : [...warnings, wal.timesWentBack] };
  } finally {
    // Retried: a compression the failure stopped may still make its file while the directory is removed (ENOTEMPTY).
    await fsp.rm(stageDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).finally(() => lock.release());
  }
}

/**
 * Takes back an archive a failed create may have placed (the rename done, then its directory's fsync or
 * bri-archive.json failed), so that the error's "nothing was made" is true. One that cannot be removed is
 * made, and said so: the next create continues from it (a newer archive on disk is the chain's tip).
 */
async function withdrawArchive(file: string, archiveId: string, cause: unknown): Promise<void> {
  try {
    await fsp.rm(file, { force: true });
  } catch (rmErr) {
    throw new BriError(ErrorCodes.IO_ERROR, `archive ${archiveId} was made (${file}) but what follows failed: ${(cause as Error).message}; it could not be taken back: ${(rmErr as Error).message}`, {
      hint: 'The archive is complete and counts: fix the first failure (free space where it names), then run `bri archive create` again; it continues from this archive and records it.',
      details: { archiveId, file, madeAnyway: true },
      cause,
    });
  }
  // Not durable, the removal may be undone by a crash: the archive then is a newer one on disk, which the next create finds.
  await fsyncDir(path.dirname(file)).catch(() => undefined);
}

/**
 * Why lines the WAL cleanup removed (once shipped) are not fetched back. With no remote configured this run cannot
 * ask one: the remotes the previous archive was uploaded to are named, as where the shipped lines most likely are.
 */
async function whyNotFetched(archiveDir: string, tipId: string, remotesAsked: boolean): Promise<string> {
  if (remotesAsked) return 'they are no longer in wal/ and no remote holds them';
  const uploadedTo = [...new Set((await readAllCopyRecords(archiveDir).catch(() => new Map<string, CopyRecord[]>())).get(tipId)?.map((r) => r.source) ?? [])];
  return uploadedTo.length
    ? `they are no longer in wal/, and this run has no remote configured to fetch them back from (shipped WAL is most likely on ${uploadedTo.join(', ')}: run with the configuration that names it, -c, to archive them as lines)`
    : 'they are no longer in wal/, and no remote is configured to fetch them back from';
}
