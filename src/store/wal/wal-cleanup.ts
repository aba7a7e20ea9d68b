/**
 * Removing WAL segments from the front of wal/ without ever breaking line
 * numbers. BRI numbers lines from the first segment on disk and snapshot.jss
 * says how many of them it holds (walLine), so removing n lines means writing
 * a snapshot whose walLine is n lower, and raising `removedLines` in
 * bri-archive.json (absolute = removedLines + local) by n. Neither order of
 * "delete segments" and "rewrite the snapshot" is safe on its own, so a small
 * journal makes the three changes one:
 *
 *   1. journal (segments, n, SHA-256 of the new snapshot) written durably
 *   2. the new snapshot.jss renamed into place        <- the commit point
 *   3. removedLines raised, 4. segments deleted, 5. journal removed
 *
 * After a crash, `completeWalCleanup` looks at snapshot.jss: if it is the
 * journal's new one, steps 3-5 are finished (each is idempotent); if not,
 * nothing was changed and the journal is dropped.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { readArchiveState, writeArchiveState } from '../archive-state.js';
import { clearName, fsyncDir, writeFileDurable } from '../durable-fs.js';
import { ARCHIVE_STATE_FILE, CLEANUP_JOURNAL, listSegments, SNAPSHOT_FILE, WAL_DIR, type SegmentInfo } from '../layout.js';
import { computePointer } from '../../format/pointer.js';
import { parseWalLine, type WalLine } from '../../format/wal-line.js';
import { countSegmentLinesCached, readSegmentLines, segmentTail } from './wal-reader.js';
import { entryPlaintext, isEncryptedEntry } from './wal-entry.js';

export { CLEANUP_JOURNAL } from '../layout.js';

export interface CleanupJournal {
  version: 1;
  /** Segment file names removed, from the first on disk. */
  segments: string[];
  lines: number;
  removedLinesBefore: number;
  /** SHA-256 of the snapshot.jss text that commits the cleanup. */
  snapshotSha256: string;
}

export interface RemovableSegment extends SegmentInfo {
  lines: number;
  /** Local number of its last line. */
  lastLine: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The SHA-256 of a text in pieces, with a turn for the event loop between pieces (a running database's writers wait otherwise). */
async function sha256OfPieces(pieces: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (let i = 0; i < pieces.length; i++) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    hash.update(pieces[i]!);
  }
  return hash.digest('hex');
}

/**
 * The leading segments whose lines all lie at or below `limitLine` (local numbers), excluding
 * `beforeSegment` and later. At least one line always stays on disk: the chain continues from the
 * WAL's last line (BRI, and our recovery, start the next pointer from it), so a WAL emptied to
 * nothing would restart the chain from the empty string.
 */
export async function removableSegments(dataDir: string, limitLine: number, beforeSegment: number): Promise<RemovableSegment[]> {
  const out: RemovableSegment[] = [];
  let last = 0;
  let open = true;
  let remaining = 0;
  const segments = await listSegments(dataDir);
  for (const [i, seg] of segments.entries()) {
    const { lines, torn } = await countSegmentLinesCached(seg.path);
    if (open && (seg.index >= beforeSegment || last + lines > limitLine)) open = false;
    // A closed segment ending mid-line is damage for someone to look at, not something to delete, unless that line is whole.
    if (open && torn && !(await endsWithWholeLine(segments[i - 1], seg, segments[i + 1]))) open = false;
    if (!open) {
      remaining += lines;
      continue;
    }
    last += lines;
    out.push({ ...seg, lines, lastLine: last });
  }
  while (out.length > 0 && remaining === 0) remaining += out.pop()!.lines;
  return out;
}

/**
 * Whether a closed segment's last line, which has no newline, is whole: it parses and chains from the line
 * before it, and the next segment's first line chains from it, as the store's open and archive create take it
 * (create archives it with its newline). An encrypted entry cannot be hashed without the key: its parse is all
 * there is to check here. Read only for such a segment (rare), so reading it through costs nothing in the usual case.
 */
async function endsWithWholeLine(prev: SegmentInfo | undefined, seg: SegmentInfo, next: SegmentInfo | undefined): Promise<boolean> {
  if (next === undefined) return false;
  let before: WalLine | null = null;
  let tail: WalLine | null = null;
  let lines = 0;
  for await (const batch of readSegmentLines(seg.path, seg.name, 1)) {
    for (const line of batch) [before, tail, lines] = [tail, parseWalLine(line.text), lines + 1];
  }
  if (lines > 1 && before === null) return false;
  if (lines === 1 && prev !== undefined) before = lastLineOf((await segmentTail(prev.path)).last);
  const head = await firstLineOf(next);
  // (The first line on disk, nothing before it, is anchored on trust as every reader anchors it.)
  return tail !== null && head !== null && (before === null || chains(before, tail)) && chains(tail, head);
}

function lastLineOf(text: string | null): WalLine | null {
  return text === null ? null : parseWalLine(text);
}

/** Whether `line` carries the pointer that follows `before` (an encrypted entry: not known without the key). */
function chains(before: WalLine, line: WalLine): boolean {
  return isEncryptedEntry(line.entry) || computePointer(before.pointer, entryPlaintext(line, undefined)) === line.pointer;
}

/** A segment's first line, parsed (null: none, unterminated, or not a WAL line). */
async function firstLineOf(seg: SegmentInfo): Promise<WalLine | null> {
  for await (const batch of readSegmentLines(seg.path, seg.name, 1)) {
    const first = batch[0]!;
    return first.terminated ? parseWalLine(first.text) : null;
  }
  return null;
}

async function readJournal(dataDir: string): Promise<CleanupJournal | null> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dataDir, CLEANUP_JOURNAL), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const j = JSON.parse(text) as CleanupJournal;
    if (j.version !== 1 || !Array.isArray(j.segments) || !Number.isSafeInteger(j.lines) || typeof j.snapshotSha256 !== 'string') throw new Error('bad fields');
    if (j.segments.some((s) => typeof s !== 'string' || !/^\d{6,}\.wal$/.test(s))) throw new Error('bad segment name');
    return j;
  } catch {
    // A torn journal was never acted on: the snapshot it would commit was not yet written.
    return { version: 1, segments: [], lines: 0, removedLinesBefore: 0, snapshotSha256: '' };
  }
}

async function setRemovedLines(dataDir: string, before: number, after: number): Promise<void> {
  // bri-archive.json has one owner (archive-state.ts): read and written through it.
  const state = await readArchiveState(dataDir);
  if (state?.removedLines === after) return;
  if (state?.removedLines !== before) {
    throw new BriError(ErrorCodes.WAL_CORRUPTED, `${ARCHIVE_STATE_FILE} says removedLines ${state?.removedLines ?? '(missing)'}; the WAL cleanup journal expected ${before}`, {
      hint: 'Something else changed the data directory during a WAL cleanup; restore it from an archive.',
    });
  }
  await writeArchiveState(dataDir, { ...state, removedLines: after });
}

async function finish(dataDir: string, j: CleanupJournal): Promise<void> {
  await setRemovedLines(dataDir, j.removedLinesBefore, j.removedLinesBefore + j.lines);
  for (const name of j.segments) await clearName(path.join(dataDir, WAL_DIR, name));
  await fsyncDir(path.join(dataDir, WAL_DIR));
  await clearName(path.join(dataDir, CLEANUP_JOURNAL));
  await fsyncDir(dataDir);
}

/** Whether the journal's snapshot is the one on disk (the cleanup committed). */
async function committed(dataDir: string, j: CleanupJournal): Promise<boolean> {
  const text = await fsp.readFile(path.join(dataDir, SNAPSHOT_FILE), 'utf8').catch(() => null);
  return text !== null && j.snapshotSha256 !== '' && sha256(text) === j.snapshotSha256;
}

/** Finishes or rolls back a cleanup a crash interrupted. Returns what it did. Needs the directory's lock. */
export async function completeWalCleanup(dataDir: string): Promise<'none' | 'finished' | 'rolled-back'> {
  const j = await readJournal(dataDir);
  if (!j) return 'none';
  if (await committed(dataDir, j)) {
    await finish(dataDir, j);
    return 'finished';
  }
  await clearName(path.join(dataDir, CLEANUP_JOURNAL));
  await fsyncDir(dataDir);
  return 'rolled-back';
}

/** Segments a committed but unfinished cleanup removes: readers without the lock skip them. */
export async function segmentsBeingRemoved(dataDir: string): Promise<Set<string>> {
  const j = await readJournal(dataDir).catch(() => null);
  return j && (await committed(dataDir, j)) ? new Set(j.segments) : new Set();
}

/**
 * Segments a cleanup that already raised removedLines to `removedLines` has yet to delete: a reader that
 * numbers wal/ from `removedLines` leaves them out (their lines are counted in it). Raising follows the
 * commit, so the journal's numbers alone say so, without hashing the snapshot.
 */
export async function segmentsRemovedBelow(dataDir: string, removedLines: number): Promise<Set<string>> {
  const j = await readJournal(dataDir).catch(() => null);
  return j !== null && j.lines > 0 && j.removedLinesBefore + j.lines === removedLines ? new Set(j.segments) : new Set();
}

/** What a cleanup removed. */
export interface CleanupResult {
  /** Segment files removed, from the first on disk. */
  segments: string[];
  lines: number;
  /** The walLine of the snapshot written with it. */
  snapshotLine: number;
}

export interface CleanupPlan {
  segments: RemovableSegment[];
  lines: number;
  removedLinesBefore: number;
}

/** Each step of a cleanup as it happens (events for the API, and for crash tests that kill in between). */
export type CleanupStep = 'journal-written' | 'snapshot-committed' | 'offset-raised' | 'segment-removed' | 'done';

/**
 * The new snapshot could not be written for want of space: the cleanup that would free space needs room for a
 * whole snapshot first (its commit point comes before any segment goes). Said with the figures, so that the
 * user frees enough once, not a little at a time.
 */
function snapshotNoSpace(err: unknown, dataDir: string, pieces: readonly string[], plan: CleanupPlan): unknown {
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (errno !== 'ENOSPC' && errno !== 'EDQUOT') return err;
  const needed = pieces.reduce((n, p) => n + Buffer.byteLength(p), 0);
  const freed = plan.segments.reduce((n, s) => n + s.size, 0);
  return new BriError(ErrorCodes.IO_ERROR, `WAL cleanup of ${dataDir}: no space for the new ${SNAPSHOT_FILE} (${needed} bytes): ${errno}`, {
    hint: `A WAL cleanup writes the new ${SNAPSHOT_FILE} beside the old one before it removes any segment (nothing is lost if it stops): free at least ${needed} bytes on the disk holding ${dataDir} and run it again; it then frees ${freed} bytes of archived WAL. A local archive copy that a remote holds too can go (\`bri archive list\` shows each archive's copies); never WAL segments or ${SNAPSHOT_FILE} by hand.`,
    details: { errno, path: path.join(dataDir, SNAPSHOT_FILE), bytesNeeded: needed, bytesFreed: freed },
    cause: err,
  });
}

/**
 * Carries out a cleanup: `snapshotText` is the snapshot to commit with (its walLine already
 * lowered by `plan.lines`). Throws if any step fails; `completeWalCleanup` then decides.
 */
export async function applyWalCleanup(dataDir: string, plan: CleanupPlan, snapshotText: string | readonly string[], onStep?: (step: CleanupStep, item?: string) => void): Promise<void> {
  const pieces = typeof snapshotText === 'string' ? [snapshotText] : snapshotText;
  const journal: CleanupJournal = {
    version: 1,
    segments: plan.segments.map((s) => s.name),
    lines: plan.lines,
    removedLinesBefore: plan.removedLinesBefore,
    snapshotSha256: await sha256OfPieces(pieces),
  };
  await writeFileDurable(path.join(dataDir, CLEANUP_JOURNAL), JSON.stringify(journal) + '\n');
  onStep?.('journal-written');
  await writeFileDurable(path.join(dataDir, SNAPSHOT_FILE), pieces).catch((err: unknown) => Promise.reject(snapshotNoSpace(err, dataDir, pieces, plan)));
  onStep?.('snapshot-committed');
  await setRemovedLines(dataDir, journal.removedLinesBefore, journal.removedLinesBefore + journal.lines);
  onStep?.('offset-raised');
  for (const name of journal.segments) {
    await clearName(path.join(dataDir, WAL_DIR, name));
    onStep?.('segment-removed', name);
  }
  await fsyncDir(path.join(dataDir, WAL_DIR));
  await clearName(path.join(dataDir, CLEANUP_JOURNAL));
  await fsyncDir(dataDir);
  onStep?.('done');
}
