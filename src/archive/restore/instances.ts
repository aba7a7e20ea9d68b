/**
 * Which instance a restore takes when nobody said (no --instance, no
 * instance of the data directory's own): the newest archive's, only when
 * every instance the sources hold is one database. A restore that starts a
 * new instance (to an earlier point, a shipped WAL cut short) starts its
 * first archive where the restore started, on a line of the old instance's
 * chain; instances linked so, one after the other in time, are one
 * database's. Two databases sharing a bucket and prefix, or a clone that
 * archives beside its origin, are not: the newest of them may be the other
 * database's, so the restore asks which. The order of one database's instances
 * is taken from where each began (on a line of another's chain: after it),
 * not from the hosts' clocks; where only clocks can tell and an archive proves
 * its clock wrong (made before its own last line), the restore asks too.
 */
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { madeBeforeItsLastLine } from '../create/retention-date.js';
import { linesAfter } from '../../format/text/line-range.js';

interface InstanceArchives {
  instanceId: string;
  /** Its archives, by line. */
  chain: Manifest[];
  firstCreated: number;
  newest: Manifest;
}

function byInstance(all: ReadonlyArray<{ manifest: Manifest }>): InstanceArchives[] {
  const groups = new Map<string, Manifest[]>();
  for (const { manifest: m } of all) {
    const group = groups.get(m.instanceId);
    if (group) group.push(m);
    else groups.set(m.instanceId, [m]);
  }
  return [...groups].map(([instanceId, ms]) => {
    const byCreated = [...ms].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    return { instanceId, chain: [...ms].sort((a, b) => a.timeRange.walLines.start - b.timeRange.walLines.start), firstCreated: byCreated[0]!.createdAt.getTime(), newest: byCreated[byCreated.length - 1]! };
  });
}

/**
 * The point where an archive's chain begins, as a line of another's would be named: a line after 0 by its
 * pointer (a hash of every line before it), or by its time when the chain starts again from '' there (a
 * restore that restored no line); line 0 by the first line's pointer and time (two databases may well
 * write the same first entry, not in the same millisecond). Null: nothing to know it by.
 */
function startPoint(m: Manifest): string | null {
  const { start, end } = m.timeRange.walLines;
  if (start > 0) return m.chain.prevPointer === '' ? `${start}@${m.timeRange.start.getTime()}` : `${start}:${m.chain.prevPointer}`;
  return end > 0 ? `0:${m.chain.firstPointer}@${m.timeRange.start.getTime()}` : null;
}

/** Every point of an instance's chain its archives name: where each starts and ends, by pointer and by time. */
function chainPoints(i: InstanceArchives): Set<string> {
  const points = new Set<string>();
  for (const m of i.chain) {
    const s = startPoint(m);
    if (s !== null) points.add(s);
    const { start, end } = m.timeRange.walLines;
    if (start > 0) points.add(`${start}@${m.timeRange.start.getTime()}`);
    points.add(`${end}:${m.chain.lastPointer}`).add(`${end}@${m.timeRange.end.getTime()}`);
  }
  return points;
}

/** The instances grouped into databases: an instance whose chain begins on a line of another's is that one's continuation. */
function databases(instances: InstanceArchives[]): InstanceArchives[][] {
  const parent = new Map(instances.map((i) => [i.instanceId, i.instanceId]));
  const root = (id: string): string => (parent.get(id) === id ? id : root(parent.get(id)!));
  const points = new Map(instances.map((i) => [i.instanceId, chainPoints(i)]));
  for (const child of instances) {
    const start = startPoint(child.chain[0]!);
    if (start === null) continue;
    for (const other of instances) if (other !== child && points.get(other.instanceId)!.has(start)) parent.set(root(child.instanceId), root(other.instanceId));
  }
  const out = new Map<string, InstanceArchives[]>();
  for (const i of instances) {
    const group = out.get(root(i.instanceId));
    if (group) group.push(i);
    else out.set(root(i.instanceId), [i]);
  }
  return [...out.values()];
}

/** Where the chain is known to pass, `line@time` (segments' first and last lines too) and `line:pointer`, by line. */
function linePoints(i: InstanceArchives): Array<{ line: number; key: string }> {
  const out = [...chainPoints(i)].map((key) => ({ line: Number(/^\d+/.exec(key)![0]), key }));
  for (const m of i.chain) {
    for (const s of m.contents.segments) {
      if (s.firstTimestamp !== null) out.push({ line: s.firstLine, key: `${s.firstLine}@${s.firstTimestamp}` });
      if (s.lastTimestamp !== null) out.push({ line: s.lastLine, key: `${s.lastLine}@${s.lastTimestamp}` });
    }
  }
  return out;
}

/**
 * Whether `older` wrote past the line where `newer` left its chain after `newer` began writing as itself: a
 * clone archiving beside an origin that went on, not a restore in place (which begins after the old one's
 * last line). A newer one holding no line of its own past that point cannot be told from a clone: forked too.
 * Null: its first own line's time is unknown (no segment of its own begins there): the archives' times decide.
 */
function forkedPast(older: InstanceArchives, newer: InstanceArchives): boolean | null {
  const olderKeys = new Set(linePoints(older).map((p) => p.key));
  const shared = linePoints(newer).filter((p) => olderKeys.has(p.key)).reduce((l, p) => Math.max(l, p.line), -1);
  const olderEnd = older.chain.reduce((a, b) => (b.timeRange.walLines.end > a.timeRange.walLines.end ? b : a));
  if (olderEnd.timeRange.walLines.end <= shared) return false;
  if (newer.chain.every((m) => m.timeRange.walLines.end <= shared)) return true;
  const own = newer.chain.flatMap((m) => m.contents.segments).filter((s) => s.firstLine > shared && s.firstTimestamp !== null);
  if (own.length === 0) return null;
  return olderEnd.timeRange.end.getTime() > Math.min(...own.map((s) => s.firstTimestamp!));
}

/** Whether `child`'s chain begins on a line of `parent`'s (a restore or clone of it), not where both begin alike. */
function beganOn(child: InstanceArchives, parent: InstanceArchives): boolean {
  const start = startPoint(child.chain[0]!);
  return start !== null && start !== startPoint(parent.chain[0]!) && chainPoints(parent).has(start);
}

/** How many instances lie before `i` on the way back to where its database began (a clock-free order: a child after its parent). */
function depthOf(i: InstanceArchives, db: InstanceArchives[], seen: ReadonlySet<string> = new Set()): number {
  const parents = db.filter((p) => !seen.has(p.instanceId) && p !== i && beganOn(i, p));
  const inPath = new Set([...seen, i.instanceId]);
  return parents.reduce((d, p) => Math.max(d, depthOf(p, db, inPath) + 1), 0);
}

/**
 * One database's instances in the order they began: a child after the instance it began on (by its chain, no
 * clock), instances at the same depth (siblings) by when their first archive was made.
 */
function inOrderBegun(db: InstanceArchives[]): InstanceArchives[] {
  const depth = new Map(db.map((i) => [i.instanceId, depthOf(i, db)]));
  return [...db].sort((a, b) => depth.get(a.instanceId)! - depth.get(b.instanceId)! || a.firstCreated - b.firstCreated);
}

/**
 * Whether one database's instances were made one after the other, as restores in place leave them (`ordered`:
 * inOrderBegun): each began after the one before stopped, by line (nothing written past where the next began:
 * else 'forked') and by its archives' times (else what contradicts the order of the lines, said).
 */
function oneAfterAnother(ordered: InstanceArchives[]): 'yes' | 'forked' | string {
  if (ordered.some((i, k) => ordered.slice(0, k).some((o) => forkedPast(o, i) === true))) return 'forked';
  const k = ordered.findIndex((i, k) => k > 0 && ordered[k - 1]!.newest.createdAt.getTime() > i.firstCreated);
  if (k < 0) return 'yes';
  const [older, newer] = [ordered[k - 1]!, ordered[k]!];
  return `archive ${older.newest.archiveId} of ${older.instanceId} made ${older.newest.createdAt.toISOString()}, after ${newer.instanceId}, which began on its chain, made its first archive at ${new Date(newer.firstCreated).toISOString()}`;
}

/** The archives whose clock is proved wrong, said: made, by that clock, before their own last line (see madeBeforeItsLastLine). */
function archivesMadeBeforeTheirLines(archives: readonly Manifest[]): string[] {
  return archives.filter((m) => madeBeforeItsLastLine(m.createdAt, m.timeRange.end)).map((m) => `archive ${m.archiveId} made ${m.createdAt.toISOString()}, before its last line's ${m.timeRange.end.toISOString()}`);
}

function describe(i: InstanceArchives): string {
  const m = i.newest;
  return `${i.instanceId} (newest archive ${m.archiveId}, ${linesAfter(m.timeRange.walLines.start, m.timeRange.walLines.end)} to ${m.timeRange.end.toISOString()}, made ${m.createdAt.toISOString()})`;
}

/**
 * The instance of the newest archive, when the archives are one database's; USAGE listing the instances
 * when they are several databases' (or branches archived side by side), or when their order rests on
 * clocks that contradict each other, with the way to pick one. Where they cannot choose, the one a data
 * directory's record says its lines came from (`restoredFrom`) is that directory's line of history.
 */
export function newestInstanceOfOneDatabase(all: ReadonlyArray<{ manifest: Manifest }>, restoredFrom?: string): string | undefined {
  const instances = byInstance(all);
  if (instances.length <= 1) return instances[0]?.instanceId;
  const dbs = databases(instances);
  const wrong = dbs.length === 1 ? archivesMadeBeforeTheirLines(instances.flatMap((i) => i.chain)) : [];
  const ordered = dbs.length === 1 ? inOrderBegun(dbs[0]!) : instances;
  const succession = dbs.length === 1 && wrong.length === 0 ? oneAfterAnother(ordered) : null;
  if (succession === 'yes') return ordered[ordered.length - 1]!.instanceId;
  // (Whatever kept the archives from choosing: the directory's own record says which line of history it is on.)
  if (restoredFrom !== undefined && instances.some((i) => i.instanceId === restoredFrom)) return restoredFrom;
  const listed = [...instances].sort((a, b) => b.newest.createdAt.getTime() - a.newest.createdAt.getTime());
  const what =
    dbs.length > 1 ? `the archives of ${dbs.length} databases`
    : succession === 'forked' ? 'branches of one database archived side by side (a clone beside its origin)'
    : `instances of one database whose order only the hosts' clocks could tell, and those clocks contradict each other (${wrong.length > 0 ? wrong.join('; ') : succession})`;
  throw new BriError(ErrorCodes.USAGE, `the sources hold ${what}, and nothing says which one this restore is for (no --instance, no instance of the data directory's own): ${listed.map(describe).join('; ')}`, {
    hint: 'Name the one to restore: --instance <id> (instanceId); `bri restore list` shows each instance\'s archives and times.',
    details: { instances: listed.map((i) => ({ instanceId: i.instanceId, newestArchive: i.newest.archiveId, lastLine: i.newest.timeRange.walLines.end, end: i.newest.timeRange.end, createdAt: i.newest.createdAt })) },
  });
}

/** An instance a restore may take, by time: when it began, and its last line archived or shipped (null: unknown). */
export interface InstanceSpan {
  instanceId: string;
  /** When it began writing as itself, as far as the sources tell (its first archive made, its first shipment stored). */
  began: number | null;
  /** Its last line's time. */
  last: number | null;
  /** How a person recognises it in a refusal. */
  label: string;
}

/**
 * The newest of instances that replaced one another (each began after every older one's last line: a
 * restore in place to an earlier point, a database lost and restored); USAGE naming them when one kept
 * writing after a newer one began (a fork: a clone beside its origin, two databases), or when the
 * sources cannot tell (a time unknown), as the archives' rule asks.
 */
export function newestOfSuccession(spans: readonly InstanceSpan[]): string | undefined {
  if (spans.length <= 1) return spans[0]?.instanceId;
  const known = spans.every((s) => s.began !== null && s.last !== null);
  const ordered = [...spans].sort((a, b) => (a.began ?? 0) - (b.began ?? 0));
  let lastBefore = -Infinity;
  const succeeds = known && ordered.every((s, k) => {
    const ok = k === 0 || lastBefore <= s.began!;
    lastBefore = Math.max(lastBefore, s.last!);
    return ok;
  });
  if (succeeds) return ordered[ordered.length - 1]!.instanceId;
  const why = known ? 'instances that kept writing side by side (a clone beside its origin, or two databases)' : 'instances whose order the sources cannot tell';
  throw new BriError(ErrorCodes.USAGE, `the sources hold ${why}, and nothing says which one this restore is for (no --instance, no instance of the data directory's own): ${[...ordered].reverse().map((s) => s.label).join('; ')}`, {
    hint: 'Name the one to restore: --instance <id> (instanceId); `bri restore list` shows each instance\'s archives, shipped WAL and times.',
    details: { instances: [...ordered].reverse().map((s) => ({ instanceId: s.instanceId, began: s.began === null ? null : new Date(s.began), last: s.last === null ? null : new Date(s.last) })) },
  });
}
