/**
 * The data directory's own WAL, as the last place a time-travel answer reads from. The newest
 * changes of a database (those since its last archive, or since its last shipment) are there and
 * nowhere else yet: without them a history ended at the last archive as if nothing came after, and
 * a rollback to ten minutes ago was refused while the lines were on the local disk.
 *
 * The WAL is read as it is on disk (a running database goes on writing): only whole lines, numbered
 * as the archives number them (the lines a cleanup removed are added back to the local numbers). It
 * is used only where it continues the chain the archives and shipments hold (the scan checks the
 * first line it takes against the pointer before it), so a directory restored to an earlier moment,
 * whose WAL went another way, is never read as their continuation.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { readArchiveState } from '../../store/archive-state.js';
import { listSegments, WAL_DIR, type SegmentInfo } from '../../store/layout.js';
import { countSegmentLinesCached, readSegmentLines, segmentTail } from '../../store/wal/wal-reader.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import { isLiveOwner, readLockOwner } from '../../store/lock/dir-lock.js';
import { GENESIS_POINTER } from '../../format/pointer.js';
import { parseWalLine } from '../../format/wal-line.js';
import { segmentsRemovedBelow } from '../../store/wal/wal-cleanup.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { decodeSnapshot } from '../../format/snapshot-file.js';
import type { DbState } from '../../format/state.js';
import { readSeed } from '../create/seeds.js';
import { restoreSeedsDir } from '../create/seed-adoption.js';

/** How the data directory is named where an answer names its sources. */
export const DATA_DIR_SOURCE = 'data directory';

/** One segment of the data directory's WAL, with the absolute lines it held when listed. */
export interface TailSegment {
  key: string;
  firstLine: number;
  lastLine: number;
  size: number;
}

export interface WalTail {
  source: string;
  /** The instance the directory belongs to (null: never archived, it has no id yet). */
  instanceId: string | null;
  /** The first line the directory can hold (the lines before it were removed once archived). */
  startsAt: number;
  /** Where a clone (or a restore to an earlier moment) starts: the line before its first, with that line's pointer and time. */
  origin: { line: number; pointer: string; timestamp: number } | null;
  /** A directory a restore made as a new instance: the last line it took from the instance it came from (lines up to it are that one's). */
  restoredThrough?: number;
  /** That line's time (which of two instances that began on one origin it came from). */
  restoredThroughTime?: number;
  /** The instance it took those lines from, where its record names it. */
  restoredFrom?: string;
  /** When it was opened: a line written later is stamped after this, so any moment up to it is answered whole. */
  readAt: number;
  /**
   * The segments with their absolute lines, listed when first asked: a query that stops before the
   * tail reads nothing of it (listing counts the lines of every segment). `key` reads an encrypted
   * last line that lacks its newline (without it, that line is left out).
   */
  segments(key?: EncryptionKey): Promise<readonly TailSegment[]>;
  /** The lines of one segment, from its first (whole lines only, at most its listed last). */
  fetch(ref: TailSegment): Promise<{ lines: readonly string[] }>;
}

/** A directory never archived has no state yet: no line was removed from it. */
const NEVER_ARCHIVED = { instanceId: null, removedLines: 0, origin: undefined };

/** The directory's instance and removed lines; null when it is not a data directory (or its state cannot be read). */
async function tailState(dataDir: string): Promise<{ instanceId: string | null; removedLines: number; origin?: WalTail['origin'] | undefined; restoredThrough?: number; restoredThroughTime?: number; restoredFrom?: string } | null> {
  const state = await readArchiveState(dataDir).catch(() => undefined);
  if (state === undefined) return null;
  if (state !== null) return state;
  return (await fsp.stat(path.join(dataDir, WAL_DIR)).catch(() => null))?.isDirectory() ? NEVER_ARCHIVED : null;
}

/** The WAL of `dataDir` and the instance it belongs to; null when it is not a data directory. */
export async function dataDirTail(dataDir: string): Promise<WalTail | null> {
  const opened = await tailState(dataDir);
  if (opened === null) return null;
  const readAt = Date.now();
  const listed = new Map<EncryptionKey | undefined, Promise<TailSegment[]>>();
  return {
    source: DATA_DIR_SOURCE,
    instanceId: opened.instanceId,
    startsAt: opened.removedLines + 1,
    origin: opened.origin ?? null,
    ...(opened.restoredThrough !== undefined ? { restoredThrough: opened.restoredThrough } : {}),
    ...(opened.restoredThroughTime !== undefined ? { restoredThroughTime: opened.restoredThroughTime } : {}),
    ...(opened.restoredFrom !== undefined ? { restoredFrom: opened.restoredFrom } : {}),
    readAt,
    segments: (key) => listed.get(key) ?? listed.set(key, listStable(dataDir, key)).get(key)!,
    fetch: (ref) => segmentLines(ref),
  };
}

/** Where the WAL of `dataDir` ends (its last whole line, lines a cleanup removed counted); null when it is not a data directory or cannot be read. */
export async function dataDirEnd(dataDir: string): Promise<{ instanceId: string | null; lastLine: number } | null> {
  const tail = await dataDirTail(dataDir).catch(() => null);
  const segments = await tail?.segments().catch(() => null);
  if (!tail || !segments) return null;
  return { instanceId: tail.instanceId, lastLine: segments.at(-1)?.lastLine ?? tail.startsAt - 1 };
}

/**
 * The segments, listed again when a cleanup removed lines meanwhile; those a cleanup still deletes after
 * raising removedLines are left out (numbered from the raised count, they would shift every line after them).
 * A directory that keeps changing under the listing (or is gone) is an error: an answer from none of its lines would look whole.
 */
async function listStable(dataDir: string, key: EncryptionKey | undefined): Promise<TailSegment[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await tailState(dataDir);
    if (before === null) break;
    const leaving = await segmentsRemovedBelow(dataDir, before.removedLines);
    const refs = await listTail(dataDir, before.removedLines, leaving, key).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
    if (refs !== null && (await tailState(dataDir))?.removedLines === before.removedLines) return refs;
  }
  throw new BriError(ErrorCodes.IO_ERROR, `the WAL of ${dataDir} changed under every reading of it (archived segments removed meanwhile)`, {
    hint: 'Ask again; or ask one source alone (--source), which leaves the data directory out.',
    details: { path: dataDir },
  });
}

/** The segments with their absolute lines; the last one's line without its newline only when the store's open would take it. */
async function listTail(dataDir: string, removedLines: number, leaving: ReadonlySet<string>, key: EncryptionKey | undefined): Promise<TailSegment[]> {
  const segments = (await listSegments(dataDir)).filter((s) => !leaving.has(s.name));
  const out: TailSegment[] = [];
  let next = removedLines + 1;
  for (const [i, seg] of segments.entries()) {
    const { lines, torn } = await countSegmentLinesCached(seg.path);
    const open = i === segments.length - 1 && torn;
    const whole = open && !(await openEndTaken(dataDir, segments.slice(0, i + 1), next === 1, key)) ? lines - 1 : lines;
    if (whole > 0) out.push({ key: seg.path, firstLine: next, lastLine: next + whole - 1, size: seg.size });
    next += lines;
  }
  return out;
}

/**
 * Whether the open segment's last line, which has no newline, is one the store's next open takes (it
 * terminates it: store/wal/tail.ts): no live process holds the directory (its writer may still be
 * writing that line), and the line parses, is an operation and chains from the line before it (an
 * encrypted one is read with the key; without it, left out: a cut ciphertext parses too).
 */
async function openEndTaken(dataDir: string, segments: readonly SegmentInfo[], fromLineOne: boolean, key: EncryptionKey | undefined): Promise<boolean> {
  if (isLiveOwner(await readLockOwner(dataDir))) return false;
  const seg = segments.at(-1)!;
  let before: string | null = null;
  let last: string | null = null;
  for await (const batch of readSegmentLines(seg.path, seg.name, 1)) for (const l of batch) [before, last] = [last, l.text];
  for (let i = segments.length - 2; before === null && i >= 0; i--) before = (await segmentTail(segments[i]!.path)).last;
  // (Nothing before it on disk: it starts the chain at line 1, else it joins the archives where the scan checks it.)
  const prev = before === null ? (fromLineOne ? GENESIS_POINTER : null) : (parseWalLine(before)?.pointer ?? undefined);
  if (last === null || prev === undefined) return false;
  const link = new ChainVerifier(prev, key, { decodeOperations: true });
  return link.push({ lineNo: 0, segment: seg.name, segmentLine: 0, text: last }) && link.state.pointersChecked;
}

async function segmentLines(ref: TailSegment): Promise<{ lines: string[] }> {
  const lines: string[] = [];
  const want = ref.lastLine - ref.firstLine + 1;
  try {
    for await (const batch of readSegmentLines(ref.key, ref.key, 1)) {
      for (const l of batch) {
        // The listing counted the lines to take: a closed segment's last line without its newline is one of them
        // (as the store's open and archive create take it); a last segment's line still being written is not.
        if (lines.length >= want) return { lines };
        lines.push(l.text);
      }
    }
  } catch (err) {
    throw new BriError(ErrorCodes.IO_ERROR, `the data directory's WAL segment ${ref.key} could not be read: ${(err as Error).message}`, {
      hint: 'A cleanup after an archive may have removed it meanwhile: ask again.',
      cause: err,
    });
  }
  return { lines };
}

/**
 * The state a seed keeps for `instanceId` at `line`: where a clone's WAL starts (its restore keeps it
 * as a seed). Null when there is none, or it cannot be opened here (sealed with age, or no key). Looked
 * for in the archive directory, then where the restore that made the data directory left it (`<data>/archives`:
 * it could not know the archive directory the database would be run with).
 */
export async function startSeed(archiveDir: string, dataDir: string, instanceId: string, line: number, key: EncryptionKey | undefined): Promise<DbState | null> {
  const text = (await readSeed(archiveDir, instanceId, line).catch(() => null)) ?? (await readSeed(restoreSeedsDir(dataDir), instanceId, line).catch(() => null));
  if (text === null) return null;
  try {
    return decodeSnapshot(text, key).state;
  } catch {
    return null;
  }
}
