/**
 * A restore over a data directory whose own instance has nothing in the sources read (no archive, no shipped
 * WAL) takes another instance only when that one is its database's: the directory's instance began on a
 * line of that one's chain (restored or cloned from it), or that one began on a line of the directory's
 * (restored from it). Sources holding only another database's archives (a wrong --archive-dir, a config
 * naming another bucket or prefix) would otherwise put that database over this one, exit 0: refused, with
 * the instances found and --instance to take one on purpose. What bri-archive.json records of the chain
 * is all this knows: a directory that says nothing of it (never archived, begun at line 0) is not refused.
 * Of its database's, another instance's newest state is still not the directory's own (ownStateNotArchived).
 */
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readArchiveState, type ArchiveState } from '../../store/archive-state.js';
import { WAL_DIR } from '../../store/layout.js';
import type { RestorePlan } from './plan.js';
import { linesAfter, lineSpan } from '../../format/text/line-range.js';

/** What bri-archive.json says of the directory's chain: where it began (a restore past line 0) and its last archive's end. */
export type OwnChain = Pick<ArchiveState, 'origin' | 'last' | 'restoredThrough' | 'restoredThroughTime' | 'restoredTo' | 'restoredFrom'>;

/**
 * Up to when the directory's history is the instance's it began on: the moment a restore was asked for, or
 * the last line it took from it (no line of either is between the two), else where it began.
 */
export function sharedUntil(own: Pick<OwnChain, 'origin' | 'restoredThroughTime' | 'restoredTo'>): number | undefined {
  const through = own.restoredThroughTime ?? own.origin?.timestamp;
  return through === undefined ? undefined : Math.max(through, own.restoredTo ?? through);
}

/** A line of a chain and its time, where the directory's chain is known to pass. */
interface ChainPoint {
  line: number;
  pointer: string;
  timestamp: number;
}

function knownPoints(own: OwnChain): ChainPoint[] {
  const points: ChainPoint[] = own.origin ? [own.origin] : [];
  if (own.last) points.push({ line: own.last.endLine, pointer: own.last.lastPointer, timestamp: own.last.endTimestamp });
  return points;
}

/**
 * Whether the directory began on a line of `chain` (one instance's archives): by pointer where an archive
 * starts or ends there, by time inside one (not for an origin read from an archive, `atEdges`: only a
 * restore's record is trusted that far; another database's archive may span the same line and time).
 */
function beganOn(origin: ChainPoint, chain: readonly Manifest[], atEdges = false): boolean {
  return chain.some((m) => {
    const { start, end } = m.timeRange.walLines;
    // A restore that restored no line starts its chain from '' again: its origin is the archive's start by time.
    if (origin.line === start) return origin.pointer === m.chain.prevPointer || origin.timestamp === m.timeRange.start.getTime();
    if (origin.line === end) return origin.pointer === m.chain.lastPointer;
    return !atEdges && start < origin.line && origin.line < end && m.timeRange.start.getTime() <= origin.timestamp && origin.timestamp <= m.timeRange.end.getTime();
  });
}

/**
 * Whether `first` (an instance's first archive) begins on a line of the directory's chain: on a point it knows
 * by pointer, else between two by time (its start is the time of that line); past them, no later than the
 * directory's last line (`lastLine`, null: unknown).
 */
function beginsOnOwn(first: Manifest, own: OwnChain, lastLine: number | null): boolean {
  const at = first.timeRange.walLines.start;
  if (at === 0) return false;
  const points = knownPoints(own);
  const same = points.find((p) => p.line === at);
  if (same) return same.pointer === first.chain.prevPointer || same.timestamp === first.timeRange.start.getTime();
  const time = first.timeRange.start.getTime();
  const before = points.filter((p) => p.line < at).reduce((t, p) => Math.max(t, p.timestamp), -Infinity);
  const after = points.filter((p) => p.line > at).reduce((t, p) => Math.min(t, p.timestamp), Infinity);
  if (after === Infinity && (lastLine === null || at > lastLine)) return false;
  return before <= time && time <= after;
}

/** The sources' archives by instance, each chain by line. */
function chains(archives: ReadonlyArray<{ manifest: Manifest }>): Map<string, Manifest[]> {
  const out = new Map<string, Manifest[]>();
  for (const { manifest: m } of archives) out.set(m.instanceId, [...(out.get(m.instanceId) ?? []), m]);
  for (const chain of out.values()) chain.sort((a, b) => a.timeRange.walLines.start - b.timeRange.walLines.start);
  return out;
}

function describe(id: string, chain: readonly Manifest[]): string {
  const first = chain[0]!;
  const last = chain[chain.length - 1]!;
  return `${id} (archives ${first.archiveId}..${last.archiveId}, ${linesAfter(first.timeRange.walLines.start, last.timeRange.walLines.end)} to ${last.timeRange.end.toISOString()})`;
}

/**
 * USAGE when the directory's instance (`ownId`, its chain `own`, its last line `lastLine`) is known and no
 * instance whose archives the sources hold is its database's, `chosen` (shipped WAL only: `shippedLabel`) included.
 */
export function assertOwnDatabase(ownId: string, own: OwnChain, lastLine: number | null, archives: ReadonlyArray<{ manifest: Manifest }>, chosen: string, shippedLabel?: string): void {
  if (!own.origin && !own.last) return;
  const byInstance = chains(archives);
  const related = [...byInstance.values()].some((chain) => (own.origin !== undefined && beganOn(own.origin, chain)) || beginsOnOwn(chain[0]!, own, lastLine));
  // (An instance with shipped WAL only began at line 1, so never on the directory's chain; the newest of a database is taken with its archived one.)
  if (related) return;
  const found = [...byInstance].map(([id, chain]) => describe(id, chain));
  if (shippedLabel !== undefined && !byInstance.has(chosen)) found.push(shippedLabel);
  throw new BriError(ErrorCodes.USAGE, `the data directory's instance ${ownId} has no archive and no shipped WAL in the sources read, and the instances there are another database's (none began on its chain, nor it on theirs): ${found.join('; ')}`, {
    hint: `Point --archive-dir (or the remotes) at this database's archives; to put one of these over it on purpose, name it: --instance <id> (\`bri restore list\` shows them).`,
    details: { instanceId: ownId, instances: [...byInstance.keys(), ...(byInstance.has(chosen) ? [] : [chosen])] },
  });
}

/**
 * The instance whose chain the directory began on (its origin is a line of it): the one it was cloned or
 * restored from. Two may hold that line (a sibling restored from the same archive): the one reaching
 * furthest back holds the most of the history they share. Restored from an archive that starts at line 0,
 * the directory records no origin, only the last line the restore took and its time: the instance is one
 * whose chain starts at line 0 and holds that line then.
 */
export function originInstance(own: Pick<OwnChain, 'origin' | 'restoredThrough' | 'restoredThroughTime' | 'restoredFrom'>, archives: ReadonlyArray<{ manifest: Manifest }>): string | undefined {
  // The restore's record names it (records written before it was kept do not: the lines and times decide then).
  if (own.restoredFrom !== undefined && archives.some((a) => a.manifest.instanceId === own.restoredFrom)) return own.restoredFrom;
  if (own.origin !== undefined || own.restoredThrough === undefined || own.restoredThroughTime === undefined) return ancestry(own, undefined, archives)[0]?.instanceId;
  const [line, time] = [own.restoredThrough, own.restoredThroughTime];
  const holds = (m: Manifest) => {
    const { start, end } = m.timeRange.walLines;
    return start < line && line <= end && m.timeRange.start.getTime() <= time && time <= m.timeRange.end.getTime();
  };
  return [...chains(archives)].find(([, chain]) => chain[0]!.timeRange.walLines.start === 0 && chain.some(holds))?.[0];
}

/**
 * The instance whose archives hold moment `ts` of a directory with nothing of its own archived yet: the one
 * its record says it was restored from, when `ts` is up to where the two share one history.
 */
export function sharedMomentInstance(own: Pick<OwnChain, 'origin' | 'restoredThroughTime' | 'restoredTo' | 'restoredFrom'>, archives: ReadonlyArray<{ manifest: Manifest }>, ts: number): string | undefined {
  const from = own.restoredFrom;
  return from !== undefined && ts <= (sharedUntil(own) ?? -Infinity) && archives.some((a) => a.manifest.instanceId === from) ? from : undefined;
}

/**
 * Whether `chain` holds the lines a restore took, through `restoredThrough` at `restoredThroughTime` (its
 * record): false when an archive of it holds that line at no such time, so past the origin it went another
 * way (two restores or clones from one archive begin on one origin, and only one of them is this
 * directory's); null when no archive of it holds that line, or the record does not say.
 */
function passesThrough(chain: readonly Manifest[], own: Pick<OwnChain, 'restoredThrough' | 'restoredThroughTime'>): boolean | null {
  const [line, time] = [own.restoredThrough, own.restoredThroughTime];
  if (line === undefined || time === undefined) return null;
  const holding = chain.filter((m) => m.timeRange.walLines.start < line && line <= m.timeRange.walLines.end);
  if (holding.length === 0) return null;
  // (A line's effective time lies within its archive's range: after the line the archive starts from, up to its last.)
  return holding.some((m) => m.timeRange.start.getTime() <= time && time <= m.timeRange.end.getTime());
}

/** An instance the directory's history came through: up to `line` (and the moment `until`), the two share one history. */
export interface Ancestor {
  instanceId: string;
  line: number;
  until: number;
}

/** Where an instance whose first archive is `first` began on another's chain: that archive's start, when it is the instance's first (none before it expired) and past line 0. */
function firstArchiveOrigin(first: Manifest | undefined): ChainPoint | undefined {
  if (first === undefined || first.previousArchiveId !== null || first.timeRange.walLines.start === 0) return undefined;
  return { line: first.timeRange.walLines.start, pointer: first.chain.prevPointer, timestamp: first.timeRange.start.getTime() };
}

/**
 * The instances the directory's history came through, nearest first: the one it began on (originInstance),
 * then the one that one began on, and so on: a restore of a restore, a clone of a clone. An instance began
 * on another's chain where its first archive starts (firstArchiveOrigin): the directory's own too, when its
 * record no longer says (a restore that continued its chain rewrote it). Each shares the history up to the
 * moment the nearer ones all began (`until`).
 */
export function ancestry(own: Pick<OwnChain, 'origin' | 'restoredThrough' | 'restoredThroughTime' | 'restoredTo' | 'restoredFrom'>, ownId: string | undefined, archives: ReadonlyArray<{ manifest: Manifest }>): Ancestor[] {
  const byInstance = chains(archives);
  const seen = new Set(ownId === undefined ? [] : [ownId]);
  const out: Ancestor[] = [];
  let origin: ChainPoint | undefined = own.origin ?? firstArchiveOrigin(ownId === undefined ? undefined : byInstance.get(ownId)?.[0]);
  let until = sharedUntil({ ...own, origin }) ?? -Infinity;
  let recorded = own.origin !== undefined;
  while (origin !== undefined) {
    const at: ChainPoint = origin;
    // The instance a restore's record names is the one (two can begin on one origin and pass through its line at the same time).
    const named = recorded && own.restoredFrom !== undefined && !seen.has(own.restoredFrom) ? byInstance.get(own.restoredFrom) : undefined;
    const on = named !== undefined ? [[own.restoredFrom!, named] as const] : [...byInstance].filter(([id, chain]) => !seen.has(id) && beganOn(at, chain, !recorded) && (!recorded || passesThrough(chain, own) !== false));
    // A restore's record says how far it took the instance's lines: one whose archives hold that line then is it.
    const holds = (chain: readonly Manifest[]) => (recorded && passesThrough(chain, own) === true ? 0 : 1);
    on.sort((a, b) => holds(a[1]) - holds(b[1]) || a[1][0]!.timeRange.walLines.start - b[1][0]!.timeRange.walLines.start);
    if (on[0] === undefined) break;
    const [instanceId, chain] = on[0];
    out.push({ instanceId, line: at.line, until });
    seen.add(instanceId);
    origin = firstArchiveOrigin(chain[0]);
    recorded = false;
    until = Math.min(until, chain[0]!.timeRange.start.getTime());
  }
  return out;
}

/**
 * The directory's own state (`ownId`, lines to `lastLine`) is in none of the sources read, while another
 * instance's is (`taken`, the newest; `from`, the one it began on, if the archives hold it). That one's newest
 * state is another line of history (it went on after the directory began): a restore of the directory's is
 * refused, with the way on. `ts`: a moment asked for (past where the directory began), else its newest state.
 */
export function ownStateNotArchived(ownId: string, own: OwnChain, lastLine: number, taken: string, from: string | undefined, ts?: number): BriError {
  const o = own.origin;
  const began = o === undefined ? 'its lines' : `it began at line ${o.line} of ${from === undefined ? 'another instance' : `instance ${from}`} (${new Date(o.timestamp).toISOString()}); its lines since`;
  const lines = lineSpan(o?.line ?? 0, lastLine);
  const what = ts === undefined ? 'its newest state' : `its state at ${new Date(ts).toISOString()}`;
  const message = `the data directory's instance ${ownId} has no archive and no shipped WAL in the sources read: ${began} (${lines}) are in its WAL only, so ${what} is in no archive; instance ${taken}'s is another line of history`;
  const steps = [
    `\`bri archive create\` archives the directory's lines, then restore${ts === undefined ? '' : ' to that moment'}`,
    'if it has archives elsewhere, point --archive-dir or the remotes at them',
    ...(o !== undefined && from !== undefined ? [`a moment up to ${new Date(sharedUntil(own)!).toISOString()} restores from instance ${from}'s archives`] : []),
    `instance ${taken}'s ${ts === undefined ? 'newest state' : 'state then'} is restored on purpose with --instance ${taken}`,
  ];
  const hint = `${steps.join('; ')}.`;
  const details = { instanceId: ownId, instances: [taken], ...(o !== undefined ? { origin: { ...o, ...(from !== undefined ? { instanceId: from } : {}) } } : {}), ...(ts !== undefined ? { timestamp: ts } : {}) };
  return new BriError(ts === undefined ? ErrorCodes.ARCHIVE_NOT_FOUND : ErrorCodes.TIMESTAMP_NOT_FOUND, message, { hint, details });
}

/**
 * A restore elsewhere (`target`) while the data directory still holds the instance the plan would continue
 * (its WAL and its record): two directories would write one instance's chain, the archives of one refused
 * by the other's next create, and a restore of either could bring back the other's lines. The copy starts a
 * new instance, as a clone does, and says why. With the directory gone (a lost disk), it carries the chain on.
 */
export async function besideItsOriginal(plan: RestorePlan, dataDir: string, target: string): Promise<RestorePlan> {
  if (!plan.continuesChain) return plan;
  const state = await readArchiveState(dataDir).catch(() => null);
  if (state?.instanceId !== plan.instanceId || !(await fsp.stat(path.join(dataDir, WAL_DIR)).then((s) => s.isDirectory(), () => false))) return plan;
  const because = `${dataDir} still holds instance ${plan.instanceId}: the copy at ${target} starts a new instance, so that the two never write one chain of archives (to move the database itself, stop it and move its directory, or restore in place)`;
  return { ...plan, continuesChain: false, newInstanceBecause: because };
}

/** A clone's id (`--new-instance-id`) that archives in the sources already use: two directories under one id would write one chain of archives and shipments, each breaking the other's. */
export function assertUnusedInstanceId(archives: ReadonlyArray<{ manifest: Manifest }>, id: string, source: string | undefined): void {
  if (!archives.some((a) => a.manifest.instanceId === id)) return;
  throw new BriError(ErrorCodes.USAGE, `instance id ${id} is already used by archives in ${source ?? 'the sources'}`, {
    hint: 'A clone is a new instance: give it an id no archive uses (or leave it out for a random one).',
    details: { instanceId: id },
  });
}

/**
 * The archive holding `t` of the instance the directory came from, when a restore to `t` (`plan`) is made
 * from there: a moment before the directory's own instance (its archives `own`) began (planner.ts).
 */
export function sharedArchive<A extends { manifest: Manifest }>(plan: RestorePlan | null, own: readonly A[], all: readonly A[], t: number): A | undefined {
  const m = plan?.archive?.manifest;
  if (!m || plan!.instanceId === own[0]?.manifest.instanceId || t < m.timeRange.start.getTime() || t > m.timeRange.sealedAt.getTime()) return undefined;
  return all.find((a) => a.manifest.archiveId === m.archiveId);
}
