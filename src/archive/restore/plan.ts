/**
 * Planning a restore: which archive, up to which line or time. Pure: a plan is
 * a value that `restore` carries out and `--dry-run` prints.
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import { liftChainsToEffectiveTimes } from '../../format/line-time.js';
import type { Manifest } from '../../format/manifest.js';
import { linesAfter } from '../../format/text/line-range.js';
import { parseTime } from '../../format/input.js';
import { notFoundUnlessUnread, type ArchiveCopy, type CatalogArchive, type SourceFailure, type UnreadableCopy } from '../copies/catalog.js';
import type { ShippedRange } from '../shipping/shipped-ranges.js';
import { unreadableNotVerified, type UnreadableArchiveCopy } from '../copies/id-lookup.js';
import type { ShippedPlan } from '../shipping/plan-shipped.js';
import { newestInstanceOfOneDatabase } from './instances.js';
import { assertArchiveId } from '../package/ids.js';
import { easiestToRead, type OpensArchive } from './key-choice.js';

/** An archive as planning sees it: a manifest, and where its copies are (`file`: the local one, if any). */
export interface PlanArchive {
  manifest: Manifest;
  bytes: number;
  file: string | null;
  copies?: ArchiveCopy[];
}

export interface RestoreListing {
  archives: CatalogArchive[];
  /** What can be restored: ranges of archives that chain with no gap. */
  ranges: TimelineRange[];
  unreadable: UnreadableCopy[];
  /** Sources that could not be listed. */
  unreachable: SourceFailure[];
  /** Per source and instance: the shipped WAL after the instance's newest archive. */
  shipped: ShippedRange[];
  /** Per source that holds a listed archive: the ranges its copies alone can restore. */
  bySource: Array<{ source: string; ranges: TimelineRange[] }>;
  /** Instances with no archive yet, restorable from their shipped WAL alone (from line 1): one entry per source. */
  shippedOnly: ShippedRange[];
}

/** A plan made on an archive file adopted for the question (and removed again): its copy is the file the caller gave. */
export function planOfFile(plan: RestorePlan, file: string): RestorePlan {
  if (!plan.archive) return plan;
  return { ...plan, archive: { ...plan.archive, file, ...(plan.archive.copies ? { copies: plan.archive.copies.map((c) => ({ ...c, location: file })) } : {}) } };
}

export type RestoreTarget = { kind: 'latest' } | { kind: 'archive'; archiveId: string } | { kind: 'timestamp'; timestamp: number };

/** A target as a caller gives it: a time in any form `parseTimestamp` takes. */
export type RestoreTargetInput = RestoreTarget | { kind: 'timestamp'; timestamp: string | Date };

export interface RestorePlan {
  target: RestoreTarget;
  /**
   * The archive the restore starts from; null when the instance has no archive yet and its shipped
   * WAL starts at line 1: the restore starts from the empty state at line 0 and replays `shipped`.
   */
  archive: PlanArchive | null;
  instanceId: string;
  /** Restore the lines with timestamp <= this (the longest such prefix); null: the whole archive. */
  untilTimestamp: number | null;
  /** Absolute line of the starting snapshot. */
  startLine: number;
  /** Lines of the archive that will be replayed (exact for a whole archive, an upper bound for a time). */
  linesToReplay: number;
  /** The archive's time range. */
  timeRange: { start: Date; end: Date };
  bytesToFetch: number;
  /** Uncompressed bytes written (at most). */
  bytesToWrite: number;
  /** True when the result is the end of the newest archive: the chain goes on with the same instance. */
  continuesChain: boolean;
  /** Shipped WAL restored after the archive (latest, or a time past the archives). */
  shipped?: ShippedPlan | null;
  /** A time past the last line of a quiet database (nothing written since): the end state is the state then, this line's. */
  pastLastLine?: { line: number; timestamp: number };
  /** Why the result starts a new instance though it is the newest state read (a source that could not be read may hold more): a warning to say. */
  newInstanceBecause?: string;
}

/**
 * The plan for an instance that has shipped WAL from its first line and no archive (a new database
 * lost before its first archive): the empty state at line 0, then the shipped lines, up to `until`.
 * A time before the first line is the empty state (nothing was written by then), as with a first
 * archive from line 0; one past the last line is the caller's to weigh (the planner's pastTheEnd).
 */
export function planShippedOnly(target: RestoreTarget, instanceId: string, shipped: ShippedPlan): RestorePlan {
  if (target.kind === 'archive') throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${target.archiveId}`, { hint: '`bri restore list` shows the archives there are.' });
  const end = shipped.endTime;
  if (target.kind === 'timestamp' && end !== null && target.timestamp > end) {
    const range = `shipped WAL of instance ${instanceId} on ${shipped.source}: ${shipped.startTime === null ? '?' : new Date(shipped.startTime).toISOString()} .. ${end === null ? '?' : new Date(end).toISOString()}`;
    throw new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `no archive or shipped WAL holds ${new Date(target.timestamp).toISOString()}; available: ${range}`, {
      hint: 'Pick a time inside the available range (`bri restore list`).',
      details: { timestamp: target.timestamp },
    });
  }
  const until = target.kind === 'timestamp' ? target.timestamp : null;
  return {
    target,
    archive: null,
    instanceId,
    untilTimestamp: until,
    startLine: 0,
    linesToReplay: 0,
    timeRange: { start: new Date(shipped.startTime ?? end ?? 0), end: new Date(end ?? shipped.startTime ?? 0) },
    bytesToFetch: shipped.refs.reduce((a, r) => a + r.size, 0),
    bytesToWrite: 0,
    // The latest state of the instance goes on as that instance (its shipping and first archive continue the chain).
    continuesChain: until === null,
    shipped,
  };
}

export interface TimelineRange {
  instanceId: string;
  start: Date;
  end: Date;
  firstLine: number;
  lastLine: number;
  archives: string[];
}

/** Each instance's archives grouped into ranges that chain with no gap (another instance's archive listed between two of them splits nothing). */
export function timeline(archives: ReadonlyArray<{ manifest: Manifest }>): TimelineRange[] {
  liftChainsToEffectiveTimes(archives.map((a) => a.manifest));
  const out: TimelineRange[] = [];
  const lastOf = new Map<string, TimelineRange>();
  for (const a of archives) {
    const m = a.manifest;
    const last = lastOf.get(m.instanceId);
    if (last && last.lastLine === m.timeRange.walLines.start) {
      last.end = m.timeRange.sealedAt;
      last.lastLine = m.timeRange.walLines.end;
      last.archives.push(m.archiveId);
    } else {
      const range = { instanceId: m.instanceId, start: m.timeRange.start, end: m.timeRange.sealedAt, firstLine: m.timeRange.walLines.start, lastLine: m.timeRange.walLines.end, archives: [m.archiveId] };
      out.push(range);
      lastOf.set(m.instanceId, range);
    }
  }
  return out;
}

export function describeRanges(ranges: TimelineRange[]): string {
  if (ranges.length === 0) return 'no archives';
  return ranges.map((r) => `${r.start.toISOString()} .. ${r.end.toISOString()} (${linesAfter(r.firstLine, r.lastLine)})`).join('; ');
}

/**
 * The archives of one instance: the one asked for, else the newest archive's when the archives are one
 * database's (USAGE naming the instances when they are several databases'). `unread`: the sources the listing could not read.
 */
export function instanceArchives<A extends { manifest: Manifest }>(all: A[], instanceId?: string, unread: ReadonlyArray<SourceFailure> = []): { instanceId: string; archives: A[] } {
  const id = instanceId ?? newestInstanceOfOneDatabase(all);
  if (id === undefined) {
    throw notFoundUnlessUnread(
      new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, 'there are no archives to restore from', {
        hint: 'If this database was archived, point --archive-dir at its archive directory, or --config at the remotes that hold its archives (restoreSources lists where a restore looks: `bri archive list` shows every configured source). A database never archived has none yet: `bri archive create` makes the first.',
      }),
      unread,
    );
  }
  const archives = all.filter((a) => a.manifest.instanceId === id).sort((a, b) => a.manifest.timeRange.walLines.start - b.manifest.timeRange.walLines.start);
  // Every range read from here on is at effective times, archives made before `timesBack` existed too.
  liftChainsToEffectiveTimes(archives.map((a) => a.manifest));
  if (archives.length === 0) throw notFoundUnlessUnread(new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archives of instance ${id}`, { hint: '`bri restore list` shows the instances there are.', details: { instanceId: id } }), unread);
  return { instanceId: id, archives };
}

/** A point in time given by a caller (ISO 8601 with a zone, a date: midnight UTC, ms since the epoch): the one time parser, USAGE otherwise. */
export function parseTimestamp(text: string | number | Date, label = 'timestamp'): number {
  return parseTime(text, label);
}

/**
 * A caller's target checked and its time parsed, as toTimestamp parses one: a time left out or unreadable
 * must not plan the newest state in its place (USAGE).
 */
export function parseRestoreTarget(input: RestoreTargetInput): RestoreTarget {
  const kind = (input as { kind?: unknown } | null | undefined)?.kind;
  const hint = "Give { kind: 'latest' }, { kind: 'archive', archiveId } or { kind: 'timestamp', timestamp }.";
  if (kind === 'latest') return { kind };
  if (kind === 'timestamp') return { kind, timestamp: parseTimestamp((input as { timestamp: string | number | Date }).timestamp) };
  if (kind === 'archive') {
    const id = (input as { archiveId?: unknown }).archiveId;
    if (typeof id === 'string' && id !== '') return { kind, archiveId: assertArchiveId(id) };
    throw new BriError(ErrorCodes.USAGE, 'a restore target of kind archive needs its archiveId', { hint: '`bri restore list` shows the archive ids there are.' });
  }
  throw new BriError(ErrorCodes.USAGE, `unknown restore target kind ${JSON.stringify(kind) ?? String(kind)}`, { hint });
}

/**
 * The archive whose range holds T: one whose start <= T <= sealedAt (it is complete up to its seal),
 * so that lines written in the same millisecond as a boundary are included. Two hold T when it falls
 * between an archive's last line and its seal: of those, the one that can be read (`opens`: with the
 * identity given), as key-choice.ts says.
 */
export function findForTimestamp<A extends { manifest: Manifest }>(archives: A[], ts: number, opens?: OpensArchive): A {
  const ranges = timeline(archives);
  const candidates = archives.filter((a) => a.manifest.timeRange.start.getTime() <= ts && ts <= a.manifest.timeRange.sealedAt.getTime());
  const hit = easiestToRead(candidates, opens);
  if (!hit) {
    throw new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `no archive holds ${new Date(ts).toISOString()}; available: ${describeRanges(ranges)}`, {
      hint: 'Pick a time inside one of the available ranges (`bri restore list`).',
      details: { timestamp: ts, available: ranges.map((r) => ({ start: r.start, end: r.end })) },
    });
  }
  return hit;
}

/**
 * An archive asked for by id that no copy read holds, while copies named as it cannot be read (damaged beyond
 * what PAR2 mends, or in an archive tier): that, not "no archive", with what still works. `others`: the
 * sources left out by --source, which may hold a good copy.
 */
export function unreadableArchive(id: string, copies: readonly UnreadableArchiveCopy[], others: readonly string[]): BriError {
  const base = unreadableNotVerified(id, copies);
  const frozen = copies.every((u) => u.frozen);
  const elsewhere = others.length > 0 ? `Another source's copy may be whole: \`bri restore from ${id} --source ${others[0]}\`. ` : '';
  return new BriError(frozen ? ErrorCodes.REMOTE_ERROR : ErrorCodes.ARCHIVE_CORRUPTED, base.message, {
    hint: `${elsewhere}${base.hint ?? ''} A restore can start from an earlier archive (\`bri restore list\`).`,
    details: { ...base.details, ...(frozen ? { cold: true } : {}) },
  });
}

/**
 * The plan for `target` over the archives listed; `unread`: the sources the listing could not read (an archive not
 * found may be there); `opens`: the archives the identity given opens (of two holding a time, that one is read).
 */
export function planRestore(all: PlanArchive[], target: RestoreTarget, instanceId?: string, unread: ReadonlyArray<SourceFailure> = [], opens?: OpensArchive): RestorePlan {
  let chosen: PlanArchive;
  let inst: { instanceId: string; archives: PlanArchive[] };
  if (target.kind === 'archive') {
    const found = all.find((a) => a.manifest.archiveId === target.archiveId);
    if (!found) throw notFoundUnlessUnread(new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${target.archiveId}`, { hint: '`bri restore list` shows the archives there are.', details: { archiveId: target.archiveId } }), unread);
    chosen = found;
    inst = instanceArchives(all, found.manifest.instanceId);
  } else {
    inst = instanceArchives(all, instanceId, unread);
    try {
      chosen = target.kind === 'latest' ? inst.archives[inst.archives.length - 1]! : findForTimestamp(inst.archives, target.timestamp, opens);
    } catch (err) {
      // A moment no archive listed holds may be in one a source that could not be read keeps.
      throw isBriError(err, ErrorCodes.TIMESTAMP_NOT_FOUND) ? notFoundUnlessUnread(err, unread) : err;
    }
  }
  const m = chosen.manifest;
  const until = target.kind === 'timestamp' && target.timestamp < m.timeRange.end.getTime() ? target.timestamp : null;
  const segs = until === null ? m.contents.segments : m.contents.segments.filter((s) => s.firstTimestamp === null || s.firstTimestamp <= until);
  const newest = inst.archives[inst.archives.length - 1]!;
  return {
    target,
    archive: chosen,
    instanceId: inst.instanceId,
    untilTimestamp: until,
    startLine: m.timeRange.walLines.start,
    linesToReplay: segs.reduce((a, s) => a + s.entries, 0),
    timeRange: { start: m.timeRange.start, end: m.timeRange.end },
    bytesToFetch: chosen.bytes,
    bytesToWrite: m.contents.snapshot.originalSize + segs.reduce((a, s) => a + s.originalSize, 0),
    continuesChain: until === null && newest.manifest.archiveId === m.archiveId,
  };
}
