/**
 * Where a data directory's own WAL ends, for the answers a restore gives about it. The lines
 * written since the last archive are in that WAL and nowhere else (without shipping): a restore
 * that replaces the directory leaves them out (kept aside, or deleted with --clean-existing), and
 * a point in time among them is in no archive yet. Both used to be said by nothing: `restore
 * latest` looked like the newest state while it was older than the directory it replaced.
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { linesAfter } from '../../format/text/line-range.js';
import type { RestoreResult } from '../restore/execute.js';
import { parseWalLine } from '../../format/wal-line.js';
import { dataDirTail, type WalTail } from './wal-tail.js';
import { listSegments, type SegmentInfo } from '../../store/layout.js';
import { segmentTail } from '../../store/wal/wal-reader.js';

export interface TailEnd {
  instanceId: string | null;
  /** Absolute number of the last whole line (null: not counted, the WAL on disk is past the budget). */
  lastLine: number | null;
  /** Its time (null when it does not parse: a damaged directory). */
  lastTimestamp: number | null;
  /** The time of the first line on disk (null: not read, or it does not parse). */
  firstTimestamp: number | null;
  /** A directory restored to an earlier moment (or a clone): the last line it took from the archives of the instance it came from (its origin's line when the restore did not record it). */
  originLine?: number;
}

/**
 * Past this many bytes of WAL on disk its lines are not counted (a restore would first wait for a read
 * of all of it, and the directory replaced may be on a failing disk): only its last line's time is read.
 */
export const COUNT_BUDGET = 1 << 30;

/** The end of the WAL of `dataDir`; null when it is not a data directory, holds no line, or cannot be read. */
export async function tailEnd(dataDir: string, countBudget = COUNT_BUDGET): Promise<TailEnd | null> {
  try {
    const tail = await dataDirTail(dataDir);
    if (tail === null) return null;
    const segments = await listSegments(dataDir);
    return segments.reduce((n, s) => n + s.size, 0) > countBudget ? await lastTimeOnly(tail, segments) : await endOf(tail);
  } catch {
    return null; // a directory that cannot be read (the reason for the restore, perhaps) says nothing here
  }
}

async function endOf(tail: WalTail): Promise<TailEnd | null> {
  const segments = await tail.segments();
  const last = segments[segments.length - 1];
  if (last === undefined) return null;
  const { lines } = await tail.fetch(last);
  const text = lines[lines.length - 1];
  const lastLine = last.firstLine + lines.length - 1;
  const first = segments[0] === last ? lines[0] : (await tail.fetch(segments[0]!)).lines[0];
  const timeOf = (t: string | undefined) => (t === undefined ? null : (parseWalLine(t)?.timestamp ?? null));
  return { instanceId: tail.instanceId, lastLine, lastTimestamp: timeOf(text), firstTimestamp: timeOf(first), ...originOf(tail) };
}

/** The time of the last line on disk (a torn one's, when its time reads), from the last segment that holds one. */
async function lastTimeOnly(tail: WalTail, segments: readonly SegmentInfo[]): Promise<TailEnd | null> {
  for (let i = segments.length - 1; i >= 0; i--) {
    const { last } = await segmentTail(segments[i]!.path);
    if (last === null) continue;
    const time = /^(\d{1,16})\|/.exec(last);
    return { instanceId: tail.instanceId, lastLine: null, lastTimestamp: time ? Number(time[1]) : null, firstTimestamp: null, ...originOf(tail) };
  }
  return null;
}

// Lines up to restoredThrough are the other instance's, archived there: a directory rolled back in place twice is not said to hold them "in no archive".
const originOf = (tail: WalTail): { originLine?: number } => {
  const line = tail.restoredThrough ?? tail.origin?.line;
  return line !== undefined ? { originLine: line } : {};
};

/**
 * Says, among a restore's warnings, the lines of the directory it replaced that it leaves out (same
 * instance: the lines after the restored one in that directory's WAL; another instance: those of its
 * lines no archive of it holds), and where they went.
 */
export function noteReplacedLines(result: RestoreResult, end: TailEnd | null, archives: ReadonlyArray<{ manifest: Manifest }>, cleanExisting: boolean): void {
  if (end === null) return;
  const own = archives.filter((a) => a.manifest.instanceId === end.instanceId);
  const fate = cleanExisting ? `${result.dryRun ? 'the restore would delete' : 'deleted'} them with it (--clean-existing)` : `${result.dryRun ? 'they would be kept' : 'kept'} in ${result.movedAside}`;
  const keep = '(`bri archive create` before a restore keeps them)';
  const when = end.lastTimestamp === null ? '' : `, to ${new Date(end.lastTimestamp).toISOString()}`;
  // Another instance's lines (a fork written to since, another database) are no continuation of what is restored: counted on their own.
  if (end.instanceId === null || end.instanceId !== result.plan.instanceId) return noteOtherInstance(result, end, own, { fate, keep, when });
  if (end.lastLine === null) {
    // Not counted (a WAL past the budget): said by time, when its last line is newer than the restore's.
    if (end.lastTimestamp === null || end.lastTimestamp <= (result.lastTimestamp ?? 0)) return;
    const newestEnd = Math.max(0, ...own.map((a) => a.manifest.timeRange.end.getTime()));
    const none = end.lastTimestamp > newestEnd ? `; the newest of them are in no archive ${keep}` : '';
    result.warnings.push(`the directory replaced holds lines newer than this restore (its WAL is too large to count them here${when})${none}: ${fate}`);
    return;
  }
  const restored = result.lastLine;
  if (end.lastLine <= restored) return;
  const n = end.lastLine - restored;
  const newestArchived = Math.max(0, ...own.map((a) => a.manifest.timeRange.walLines.end));
  const unarchived = Math.min(n, end.lastLine - newestArchived);
  const which = unarchived === n ? (n === 1 ? 'it is not' : 'none of them is') : `${unarchived} of them ${unarchived === 1 ? 'is' : 'are'} not`;
  const none = unarchived > 0 ? `; ${which} in an archive ${keep}` : '';
  result.warnings.push(`the directory replaced holds ${n} ${n === 1 ? 'line' : 'lines'} newer than this restore (${linesAfter(restored, end.lastLine)}${when})${none}: ${fate}`);
}

/** The lines of a directory of another instance (or never archived) that no archive of it holds: the restore replaces them all. */
function noteOtherInstance(result: RestoreResult, end: TailEnd, own: ReadonlyArray<{ manifest: Manifest }>, say: { fate: string; keep: string; when: string }): void {
  const whose = end.instanceId === null ? 'a database never archived' : `instance ${end.instanceId}, not the one restored`;
  if (end.lastLine === null) {
    const newestEnd = Math.max(0, ...own.map((a) => a.manifest.timeRange.end.getTime()));
    if (end.lastTimestamp === null || end.lastTimestamp <= newestEnd) return;
    result.warnings.push(`the directory replaced is ${whose}; its newest lines are in no archive (its WAL is too large to count them here${say.when}) ${say.keep}: ${say.fate}`);
    return;
  }
  // Lines up to a fork's origin are the archives' of the instance it came from.
  const archivedThrough = Math.max(end.originLine ?? 0, ...own.map((a) => a.manifest.timeRange.walLines.end));
  const n = end.lastLine - archivedThrough;
  if (n <= 0) return;
  result.warnings.push(
    `the directory replaced is ${whose}; it holds ${n} ${n === 1 ? 'line' : 'lines'} in no archive (${linesAfter(archivedThrough, end.lastLine)}${say.when}) ${say.keep}: ${say.fate}`,
  );
}

/**
 * Says, among a restore's warnings, each archive file that could not be read (its manifest damaged past
 * what its recovery data mends, a copy cut short): what it holds may be newer than what was restored,
 * and a restore that looks whole would hide it. (Entries that are not archives at all are said by the listing.)
 */
export function noteUnreadable(
  result: RestoreResult,
  listing: { archives: ReadonlyArray<{ manifest: Manifest }>; unreadable: ReadonlyArray<{ source: string; location: string; archiveId?: string; error: { code: string; message: string; details?: unknown } }> },
): void {
  const readable = new Set(listing.archives.map((a) => a.manifest.archiveId));
  for (const u of listing.unreadable) {
    // (A copy of an archive read from another source, or an entry that is no archive at all, hides nothing.)
    if ((u.archiveId !== undefined && readable.has(u.archiveId)) || (u.error.details as { misplaced?: boolean } | undefined)?.misplaced === true) continue;
    result.warnings.push(`${u.source}: ${u.location} could not be read (${u.error.code}: ${u.error.message}); whatever it holds is not in this restore: \`bri archive verify --all\` says what is wrong, \`bri archive repair\` mends what its recovery data can`);
  }
}

/**
 * A point in time past every archive, which the data directory's own WAL holds: the restore's
 * TIMESTAMP_NOT_FOUND, said with where the lines are and how to restore them. Any other time (before
 * the directory's first line, inside a gap between archives) keeps the error as it was: archiving
 * the directory would not make it restorable.
 */
export function notYetArchived(err: unknown, end: TailEnd | null, instanceId: string | undefined, ts: number, archives: ReadonlyArray<{ manifest: Manifest }>): unknown {
  if (!isBriError(err, ErrorCodes.TIMESTAMP_NOT_FOUND) || end === null || end.lastTimestamp === null || ts > end.lastTimestamp || (instanceId !== undefined && end.instanceId !== instanceId)) return err;
  if (end.firstTimestamp !== null && ts < end.firstTimestamp) return err;
  const newestArchived = Math.max(-Infinity, ...archives.filter((a) => a.manifest.instanceId === end.instanceId).map((a) => a.manifest.timeRange.end.getTime()));
  if (ts <= newestArchived) return err;
  const upTo = `${end.lastLine === null ? '' : `lines to ${end.lastLine}, `}${new Date(end.lastTimestamp).toISOString()}`;
  return new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `${err.message}; the data directory's WAL holds it (${upTo}), in no archive yet`, {
    hint: '`bri archive create` puts those lines in an archive, then restore to that moment; or roll chosen documents back from them with `bri restore keys <key...> --at T`.',
    details: { ...(err.details ?? {}), dataDirThrough: new Date(end.lastTimestamp) },
  });
}
