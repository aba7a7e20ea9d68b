/**
 * Where a data directory's own WAL ends, for the answers a restore gives about it. The lines
 * written since the last archive are in that WAL and nowhere else (without shipping): a restore
 * that replaces the directory leaves them out (kept aside, or deleted with --clean-existing), and
 * a point in time among them is in no archive yet. Both used to be said by nothing: `restore
 * latest` looked like the newest state while it was older than the directory it replaced.
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import type { RestoreResult } from '../restore/execute.js';
import { parseWalLine } from '../../format/wal-line.js';
import { dataDirTail, type WalTail } from './wal-tail.js';

export interface TailEnd {
  instanceId: string | null;
  /** Absolute number of the last whole line. */
  lastLine: number;
  /** Its time (null when it does not parse: a damaged directory). */
  lastTimestamp: number | null;
}

/** The end of the WAL of `dataDir`; null when it is not a data directory, holds no line, or cannot be read. */
export async function tailEnd(dataDir: string): Promise<TailEnd | null> {
  try {
    const tail = await dataDirTail(dataDir);
    return tail === null ? null : await endOf(tail);
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
  return { instanceId: tail.instanceId, lastLine, lastTimestamp: text === undefined ? null : (parseWalLine(text)?.timestamp ?? null) };
}

/**
 * Says, among a restore's warnings, the lines of the directory it replaced that it leaves out (same
 * instance: the lines after the restored one in that directory's WAL), and where they went.
 */
export function noteReplacedLines(result: RestoreResult, end: TailEnd | null, archives: ReadonlyArray<{ manifest: Manifest }>, cleanExisting: boolean): void {
  const restored = result.lastLine;
  if (end === null || end.instanceId !== result.plan.instanceId || end.lastLine <= restored) return;
  const n = end.lastLine - restored;
  const newestArchived = Math.max(0, ...archives.filter((a) => a.manifest.instanceId === end.instanceId).map((a) => a.manifest.timeRange.walLines.end));
  const unarchived = Math.min(n, end.lastLine - newestArchived);
  const which = unarchived === n ? (n === 1 ? 'it is' : 'none of them is') : `${unarchived} of them ${unarchived === 1 ? 'is' : 'are'} not`;
  const none = unarchived > 0 ? `; ${which} in an archive (\`bri archive create\` before a restore keeps them)` : '';
  const when = end.lastTimestamp === null ? '' : `, to ${new Date(end.lastTimestamp).toISOString()}`;
  const fate = cleanExisting ? `${result.dryRun ? 'the restore would delete' : 'deleted'} them with it (--clean-existing)` : `${result.dryRun ? 'they would be kept' : 'kept'} in ${result.movedAside}`;
  result.warnings.push(`the directory replaced holds ${n} ${n === 1 ? 'line' : 'lines'} newer than this restore (lines ${restored + 1}..${end.lastLine}${when})${none}: ${fate}`);
}

/**
 * A point in time past every archive, which the data directory's own WAL holds: the restore's
 * TIMESTAMP_NOT_FOUND, said with where the lines are and how to restore them.
 */
export function notYetArchived(err: unknown, end: TailEnd | null, instanceId: string | undefined, ts: number): unknown {
  if (!isBriError(err, ErrorCodes.TIMESTAMP_NOT_FOUND) || end === null || end.lastTimestamp === null || ts > end.lastTimestamp || (instanceId !== undefined && end.instanceId !== instanceId)) return err;
  return new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `${err.message}; the data directory's WAL holds it (lines to ${end.lastLine}, ${new Date(end.lastTimestamp).toISOString()}), in no archive yet`, {
    hint: '`bri archive create` puts those lines in an archive, then restore to that moment; or roll chosen documents back from them with `bri restore keys <key...> --at T`.',
    details: { ...(err.details ?? {}), dataDirThrough: new Date(end.lastTimestamp) },
  });
}
