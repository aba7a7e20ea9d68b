/**
 * One restore plan from what the sources hold: the archive (or none), the
 * shipped WAL that continues it, and where the restore stops. For a time T:
 * the archive whose range holds T, else the newest archive plus the shipped
 * lines up to T when T lies past it, else TIMESTAMP_NOT_FOUND naming every
 * range there is. An instance with no archive yet restores from its shipped
 * WAL alone when that starts at line 1 (a database lost before its first
 * archive). Pure decisions over listings; the only I/O is listing shipments and
 * reading their metadata (times).
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { linesAfter } from '../../format/text/line-range.js';
import { describeRanges, instanceArchives, planRestore, planShippedOnly, timeline, type PlanArchive, type RestorePlan, type RestoreTarget } from './plan.js';
import { newestInstanceOfOneDatabase, newestOfSuccession, type InstanceSpan } from './instances.js';
import { needsNoKey, opensWithIdentity, type OpensArchive } from './key-choice.js';
import { ancestry, type Ancestor, assertOwnDatabase, originInstance, ownStateNotArchived, sharedUntil, type OwnChain } from './own-database.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import type { ArchiveSources } from '../copies/sources.js';
import type { SourceFailure, UnreadableCopy } from '../copies/catalog.js';
import { assertArchiveId } from '../package/ids.js';
import { continuingPlan } from './chain-continuity.js';
import * as path from 'node:path';
import { findShipped, type ShipmentListings, type ShippedPlan } from '../shipping/plan-shipped.js';
import { listShipments } from '../shipping/shipped-catalog.js';

export interface PlannerContext {
  archives: PlanArchive[];
  sources: ArchiveSources;
  /** Sources in the order the restore tries them. */
  order: readonly string[];
  /** The sources the listing could not read, with why: a plan that finds nothing answers with their error. */
  unreachable: ReadonlyArray<SourceFailure>;
  /** The instance asked for (--instance), and the data directory's own (bri-archive.json), if any. */
  explicitInstance?: string;
  ownInstance?: string;
  /** Archive files that could not be read (their manifest cut or damaged on that copy): one newer than the latest readable stops `latest`. */
  unreadable?: ReadonlyArray<UnreadableCopy>;
  /**
   * Where the data directory's WAL ends (lines removed by a cleanup counted), read only for a time past every
   * line archived or shipped; null: no data directory. Without it such a time is never taken for the end state.
   */
  dataDirEnd?: () => Promise<DataDirEnd | null>;
  /** The identity the restore reads with (asked only when two archives hold a time and the newer needs a key). */
  identity?: () => Promise<AgeIdentity | null>;
  /** Where the data directory's own instance's chain begins and its last archive ends (bri-archive.json): whether the sources' instances are its database's. */
  ownChain?: OwnChain;
  /**
   * Planning for a question about the past (time travel reads the data directory itself), not for a restore:
   * `latest` is the archives' newest instance though the directory's own state is in none of them.
   */
  forQuestions?: boolean;
}

export interface DataDirEnd {
  /** The directory's instance (null: never archived). */
  instanceId: string | null;
  /** Its last whole line, absolute. */
  lastLine: number;
}

/** The archive id an unreadable copy is named as (its object name, or its file name), when it is one. */
function idOf(u: UnreadableCopy): string | null {
  const id = u.archiveId ?? path.basename(u.location).replace(/\.bri$/, '');
  try {
    return assertArchiveId(id);
  } catch {
    return null;
  }
}

/**
 * The latest state is the end of the newest archive: a file named as a newer archive that cannot be read
 * (on any source) may hold lines after it, so a restore of `latest` from the older one would lose them
 * silently. Said as damage, with the way to restore the older state on purpose.
 */
function assertNothingNewerUnread(ctx: PlannerContext, latest: RestorePlan, ts?: number): void {
  const chosen = latest.archive!.manifest.archiveId;
  const readable = new Set(ctx.archives.map((a) => a.manifest.archiveId));
  const newer = (ctx.unreadable ?? []).filter((u) => {
    const id = idOf(u);
    return id !== null && !readable.has(id) && id > chosen && (u.error.details as { misplaced?: boolean } | undefined)?.misplaced !== true;
  });
  if (newer.length === 0) return;
  const first = newer[0]!;
  // A time past the newest readable archive is in the unreadable one, as far as anything here can tell: not "in no archive".
  const lost = ts === undefined ? `the newest readable one, ${chosen}, may end before it` : `it may hold ${new Date(ts).toISOString()}, which the newest readable one, ${chosen}, ends before`;
  const older = ts === undefined ? `to restore the older state on purpose: \`bri restore from ${chosen}\`` : `a time the archives read hold can be restored meanwhile (\`bri restore list\`)`;
  throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `the newest archive cannot be read: ${first.source}: ${first.location} (${first.error.message}); ${lost}`, {
    hint: `Repair it (\`bri archive verify --all\`, \`bri archive repair\`) or bring a good copy back; ${older}.`,
    details: { unreadable: newer.map((u) => u.location), newestReadable: chosen, ...(ts !== undefined ? { timestamp: ts } : {}) },
  });
}

/** The archive whose range holds `ts` (start <= ts <= sealedAt), the newest such; undefined when none does. */
export function archiveHolding<A extends { manifest: Manifest }>(archives: readonly A[], ts: number): A | undefined {
  return archives.filter((a) => a.manifest.timeRange.start.getTime() <= ts && ts <= a.manifest.timeRange.sealedAt.getTime()).pop();
}

/**
 * No archive or shipment holds `ts`. Past the last of them (`after`: its line, and the data directory's end
 * when it was read), the way on is the newest state, or archiving the lines only the directory's WAL holds.
 */
function notFound(ts: number, archives: ReadonlyArray<{ manifest: Manifest }>, shipped: ShippedPlan | null, after?: { line: number; dir: DataDirEnd | null; instance?: string }, before?: string): BriError {
  const ranges = timeline(archives);
  // An instance with no archive yet has its shipped WAL for its whole range.
  const whole = shipped?.afterLine === 0 && shipped.startTime !== null ? ` holds ${new Date(shipped.startTime).toISOString()} .. ` : ' reaches ';
  const reach = shipped?.endTime ? `; shipped WAL on ${shipped.source}${whole}${new Date(shipped.endTime).toISOString()}${whole === ' reaches ' ? '' : ` (lines 1..${shipped.throughLine})`}` : '';
  return new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `no archive holds ${new Date(ts).toISOString()}; available: ${describeRanges(ranges)}${reach}`, {
    hint: before ?? (after === undefined ? 'Pick a time inside one of the available ranges (`bri restore list`).' : pastTheEndHint(ts, after.line, after.dir, after.instance)),
    details: { timestamp: ts, available: ranges.map((r) => ({ start: r.start, end: r.end })), ...(shipped?.endTime ? { shippedThrough: new Date(shipped.endTime) } : {}) },
  });
}

/** `instance`: the one the user named, kept in the command offered (without it, `latest` may pick another). */
function pastTheEndHint(ts: number, line: number, dir: DataDirEnd | null, instance?: string): string {
  const latest = `\`bri restore latest${instance === undefined ? '' : ` --instance ${instance}`}\` restores the newest state there is (line ${line})`;
  if (ts > Date.now()) return `That moment has not come yet: ${latest}.`;
  if (dir !== null && dir.lastLine > line) return `The data directory's WAL holds ${linesAfter(line, dir.lastLine)}, in no archive: \`bri archive create\` archives them, then restore to that moment; or ${latest}.`;
  return `${latest[0]!.toUpperCase()}${latest.slice(1)}; lines written after it, if any, are only in the WAL of the database that wrote them (\`bri archive create\` there archives them).`;
}

/**
 * The plan for a time past every line archived or shipped (`line`, the last of them): the end state when the
 * instance's data directory is here and holds no line after it (a quiet database: nothing changed since),
 * else the refusal with the way on (lines may have been written elsewhere by then, or be in that WAL only).
 */
async function pastTheEnd(ctx: PlannerContext, latest: RestorePlan, shipped: ShippedPlan | null, ts: number, archives: ReadonlyArray<{ manifest: Manifest }>): Promise<RestorePlan> {
  const m = latest.archive?.manifest;
  const line = shipped ? shipped.throughLine : m!.timeRange.walLines.end;
  const found = (await ctx.dataDirEnd?.().catch(() => null)) ?? null;
  const dir = found?.instanceId === latest.instanceId ? found : null;
  // (A shipped chain with a gap restores only up to it, not to its end.)
  if (dir === null || dir.lastLine > line || (shipped !== null && shipped.gapAt !== null) || ts > Date.now()) throw notFound(ts, archives, shipped, { line, dir, instance: ctx.explicitInstance });
  const pastLastLine = { line, timestamp: shipped?.endTime ?? m!.timeRange.end.getTime() };
  return { ...latest, target: { kind: 'timestamp', timestamp: ts }, untilTimestamp: null, shipped, pastLastLine };
}

/** Instances with shipped WAL from line 1 and no archive, by the time their WAL reaches (newest last). */
async function shippedOnlyInstances(ctx: PlannerContext, listings: ShipmentListings): Promise<string[]> {
  const withArchives = new Set(ctx.archives.map((a) => a.manifest.instanceId));
  const found = new Set<string>();
  for (const name of ctx.order) {
    const remote = ctx.sources.remote(name);
    if (!remote || ctx.unreachable.some((u) => u.source === name)) continue;
    let listing = listings.get(name);
    if (!listing) {
      listing = listShipments(remote);
      listings.set(name, listing);
    }
    const byInstance = await listing.catch(() => new Map());
    for (const [id, refs] of byInstance) if (!withArchives.has(id) && refs.some((r: { firstLine: number }) => r.firstLine === 1)) found.add(id);
  }
  return [...found];
}

/**
 * The plan for an instance with shipped WAL from line 1 and no archive, at `target`: past its last line as
 * an archived instance's (the end state of a quiet database here, else TIMESTAMP_NOT_FOUND with the way on).
 */
async function planShippedAt(ctx: PlannerContext, target: RestoreTarget, id: string, shipped: ShippedPlan): Promise<RestorePlan> {
  if (target.kind !== 'timestamp' || shipped.endTime === null || target.timestamp <= shipped.endTime) return planShippedOnly(target, id, shipped);
  return pastTheEnd(ctx, planShippedOnly({ kind: 'latest' }, id, shipped), shipped, target.timestamp, []);
}

/** When the instance began writing as itself: its first shipment's storing (null: unknown). */
async function firstShipped(ctx: PlannerContext, shipped: ShippedPlan): Promise<number | null> {
  const ref = shipped.refs[0];
  const head = ref ? await ctx.sources.remote(shipped.source)?.store.head(ref.key).catch(() => null) : null;
  return head ? head.lastModified.getTime() : null;
}

/**
 * The instance a restore takes when nobody said: the archives' own choice (one database's newest), and
 * the instances with shipped WAL only (a restore in place or a clone that has not archived yet), by time:
 * a newer one that began after the older's last line replaced it; side by side, USAGE naming them.
 */
async function newestInstance(ctx: PlannerContext, listings: ShipmentListings, shippedAfter: (id: string, after: number) => Promise<ShippedPlan | null>): Promise<{ id: string; shipped?: ShippedPlan } | undefined> {
  const archived = ctx.archives.length > 0 ? newestInstanceOfOneDatabase(ctx.archives, ctx.ownInstance !== undefined ? ctx.ownChain?.restoredFrom : undefined) : undefined;
  const spans: InstanceSpan[] = [];
  const shippedOf = new Map<string, ShippedPlan>();
  if (archived !== undefined) {
    const own = ctx.archives.filter((a) => a.manifest.instanceId === archived).map((a) => a.manifest);
    const newest = own.reduce((a, b) => (b.timeRange.walLines.end > a.timeRange.walLines.end ? b : a));
    const after = await shippedAfter(archived, newest.timeRange.walLines.end);
    const began = Math.min(...own.map((m) => m.createdAt.getTime()));
    spans.push({ instanceId: archived, began, last: after ? after.endTime : newest.timeRange.end.getTime(), label: `${archived} (archives to ${newest.timeRange.end.toISOString()}, lines to ${after?.throughLine ?? newest.timeRange.walLines.end})` });
  }
  for (const id of await shippedOnlyInstances(ctx, listings)) {
    const shipped = await shippedAfter(id, 0);
    if (!shipped) continue;
    shippedOf.set(id, shipped);
    const to = shipped.endTime === null ? '?' : new Date(shipped.endTime).toISOString();
    spans.push({ instanceId: id, began: await firstShipped(ctx, shipped), last: shipped.endTime, label: `${id} (no archive yet; shipped WAL on ${shipped.source}, lines 1..${shipped.throughLine} to ${to})` });
  }
  const id = newestOfSuccession(spans);
  if (id === undefined) return undefined;
  const shipped = shippedOf.get(id);
  return shipped ? { id, shipped } : { id };
}

/**
 * A restore that passed over a source it could not read continues the chain only when nothing of it can be
 * there: that source may hold lines past where this one stops (shipped while another was down), and the
 * same instance going on from here would number new lines like those, one chain forked in two.
 */
function forkPastUnread(ctx: PlannerContext, plan: RestorePlan): RestorePlan {
  if (!plan.continuesChain || ctx.unreachable.length === 0) return plan;
  const down = ctx.unreachable.map((u) => u.source).join(', ');
  const because = `${down} could not be read and may hold lines of instance ${plan.instanceId} after the ones restored: the restored directory starts a new instance, so that its new lines never mix with those (\`bri restore list\` once ${down} is back shows them)`;
  return { ...plan, continuesChain: false, newInstanceBecause: because };
}

/** The data directory's own instance has nothing here: another instance is taken only when it is the directory's database's (own-database.ts). */
async function assertOwnDatabaseTaken(ctx: PlannerContext, taken: { id: string; shipped?: ShippedPlan }): Promise<void> {
  const own = ctx.ownChain;
  if (ctx.ownInstance === undefined || own === undefined || (!own.origin && !own.last)) return;
  const end = (await ctx.dataDirEnd?.().catch(() => null)) ?? null;
  const shipped = taken.shipped ? `${taken.id} (no archive; shipped WAL on ${taken.shipped.source}, lines 1..${taken.shipped.throughLine})` : undefined;
  assertOwnDatabase(ctx.ownInstance, own, end?.lastLine ?? null, ctx.archives, taken.id, shipped);
}

/**
 * What the identity given opens, asked only when it decides something: two archives hold `ts` and the newer
 * needs a key. One that cannot be read (a missing file) decides nothing: the reading says what is wrong.
 */
async function opensAt(ctx: PlannerContext, archives: ReadonlyArray<{ manifest: Manifest }>, ts: number): Promise<OpensArchive | undefined> {
  const holding = archives.filter((a) => a.manifest.timeRange.start.getTime() <= ts && ts <= a.manifest.timeRange.sealedAt.getTime());
  if (holding.length < 2 || ctx.identity === undefined || needsNoKey(holding[holding.length - 1]!.manifest)) return undefined;
  return opensWithIdentity(await ctx.identity().catch(() => null));
}

/** The one plan for `target` (see the file's comment); a newest state read past an unreadable source starts a new instance. */
export async function planFor(ctx: PlannerContext, target: RestoreTarget): Promise<RestorePlan> {
  return forkPastUnread(ctx, continuingPlan(await planTarget(ctx, target), ctx.archives));
}

/**
 * A plan that stops at the newest archive's end continues its chain only if nothing of the instance was shipped
 * past it (an archive named, a moment between its last line and its seal): restored under the same id, new lines
 * would be numbered like the shipped ones it leaves out, and the shipper and WAL cleanup would take them for those.
 */
async function notPastShipped(plan: RestorePlan, shippedAfter: (id: string, after: number) => Promise<ShippedPlan | null>): Promise<RestorePlan> {
  const end = plan.archive?.manifest.timeRange.walLines.end;
  const shipped = plan.continuesChain && end !== undefined ? await shippedAfter(plan.instanceId, end) : null;
  if (!shipped) return plan;
  return { ...plan, continuesChain: false, newInstanceBecause: `instance ${plan.instanceId} shipped lines past line ${end}, where this restore stops (${shipped.source}, through line ${shipped.throughLine}): lines written after it must not be numbered like those` };
}

async function planTarget(ctx: PlannerContext, target: RestoreTarget): Promise<RestorePlan> {
  const listings: ShipmentListings = new Map();
  const down = new Set(ctx.unreachable.map((u) => u.source));
  const shippedAfter = (instanceId: string, afterLine: number) => findShipped(ctx.sources, ctx.order, down, instanceId, afterLine, listings);
  if (target.kind === 'archive') {
    return notPastShipped(planRestore(ctx.archives, { ...target, archiveId: assertArchiveId(target.archiveId) }, undefined, ctx.unreachable), shippedAfter);
  }
  const hasArchives = (id: string) => ctx.archives.some((a) => a.manifest.instanceId === id);
  let wanted = ctx.explicitInstance ?? ctx.ownInstance;
  // An instance without archives restores from its shipped WAL when that starts at line 1.
  if (wanted !== undefined && !hasArchives(wanted)) {
    const shipped = await shippedAfter(wanted, 0);
    if (shipped) return planShippedAt(ctx, target, wanted, shipped);
    if (ctx.explicitInstance !== undefined) {
      throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive and no shipped WAL of instance ${wanted}`, { hint: '`bri restore list` shows the instances there are.', details: { instanceId: wanted } });
    }
    wanted = undefined;
  }
  if (wanted === undefined) {
    const newest = await newestInstance(ctx, listings, shippedAfter);
    if (newest !== undefined) await assertOwnDatabaseTaken(ctx, newest);
    const from = newest === undefined ? undefined : await ownStateElsewhere(ctx, target, newest.id);
    // A moment the directory shares with the instance it began on: that one's, and never its chain going on.
    if (from !== undefined) return { ...(await planInstance(ctx, target, from, shippedAfter)), continuesChain: false };
    if (newest?.shipped) return planShippedAt(ctx, target, newest.id, newest.shipped);
    wanted = newest?.id;
  }
  return planInstance(ctx, target, wanted, shippedAfter);
}

/**
 * The directory's own instance has nothing in the sources and another (`taken`) would be restored in its
 * place: when the directory holds lines of its own, that one's newest state is not the directory's (it went
 * on after the directory began: restored, it would bring back what a rollback undid, or put production's
 * later writes in a clone). Only a moment up to where the directory began is the same in both: the
 * instance it began on is planned for it; anything else is refused (own-database.ts).
 */
async function ownStateElsewhere(ctx: PlannerContext, target: RestoreTarget, taken: string): Promise<string | undefined> {
  const ownId = ctx.ownInstance;
  if (ctx.explicitInstance !== undefined || ownId === undefined || ctx.forQuestions === true || taken === ownId) return undefined;
  const end = (await ctx.dataDirEnd?.().catch(() => null)) ?? null;
  if (end === null || end.instanceId !== ownId || end.lastLine === 0) return undefined;
  const own = ctx.ownChain ?? { last: null };
  // Nothing written since the restore that made it (a rerun of that restore): every line is the other instance's.
  if (own.restoredThrough !== undefined && end.lastLine !== null && end.lastLine <= own.restoredThrough) return undefined;
  const from = originInstance(own, ctx.archives);
  if (target.kind === 'timestamp' && from !== undefined && target.timestamp <= sharedUntil(own)!) return from;
  throw ownStateNotArchived(ownId, own, end.lastLine, taken, from, target.kind === 'timestamp' ? target.timestamp : undefined);
}

/**
 * The instance whose archives hold moment `ts` of an instance the history asked about passes through
 * (`instanceId`: the one named with --instance, else the data directory's own, or one it came from; its
 * archives `archives`, none holding `ts`): the one that instance was cloned or restored from, when `ts` is
 * before its first archive and no later than the history they share (own-database.ts, ancestry). Along an
 * instance's own timeline, a moment before it began is the state it began from.
 */
function sharedHistoryOf(ctx: PlannerContext, instanceId: string, archives: ReadonlyArray<{ manifest: Manifest }>, ts: number): string | undefined {
  const first = archives[0]?.manifest;
  const base = ctx.explicitInstance ?? ctx.ownInstance;
  if (base === undefined || first === undefined || ts >= first.timeRange.start.getTime()) return undefined;
  const line = historyLine(ctx, base);
  // The instance after `instanceId` in the line back (the first one after `base`).
  const at = instanceId === base ? 0 : line.findIndex((a) => a.instanceId === instanceId) + 1;
  const next = at === 0 && instanceId !== base ? undefined : line[at];
  return next !== undefined && ts <= next.until ? next.instanceId : undefined;
}

/** The instances the history of `base` came through, nearest first (the directory's record says where its instance began; any other's first archive does). */
function historyLine(ctx: PlannerContext, base: string): Ancestor[] {
  return ancestry(base === ctx.ownInstance ? (ctx.ownChain ?? {}) : {}, base, ctx.archives);
}

/**
 * A moment before the oldest archive the history of an instance (`archives`, its own) has in the sources
 * read, through the instances it came from: the ranges of that history (each one's archives up to where
 * the next began, then its own), not its own instance's alone, which would hide the older ones it can
 * restore; and where that history starts.
 */
function beforeHistoryKept(ctx: PlannerContext, ts: number, archives: ReadonlyArray<{ manifest: Manifest }>, shipped: ShippedPlan | null): BriError {
  const base = ctx.explicitInstance ?? ctx.ownInstance!;
  const line = historyLine(ctx, base);
  // An ancestor's archives that hold lines before the next one began on it (the ones after are another timeline).
  const began = new Map(line.map((a) => [a.instanceId, a]));
  const shared = ctx.archives.filter((a) => {
    const at = began.get(a.manifest.instanceId);
    return at !== undefined && a.manifest.timeRange.walLines.start < at.line && a.manifest.timeRange.start.getTime() <= at.until;
  });
  const kept = [...shared, ...archives].sort((a, b) => a.manifest.timeRange.start.getTime() - b.manifest.timeRange.start.getTime());
  const oldest = kept[0]!.manifest;
  const through = line.length === 1 ? `instance ${line[0]!.instanceId} (restored or cloned from it)` : `instances ${line.map((a) => a.instanceId).join(', ')} (each restored or cloned from the next)`;
  const hint = `That moment is before the oldest archive of this history in the sources read, instance ${oldest.instanceId}'s from ${oldest.timeRange.start.toISOString()}: the history came through ${through}, and their older archives expired or are in sources not read. Pick a time inside one of the available ranges.`;
  return notFound(ts, kept, shipped, undefined, hint);
}

/**
 * A moment before the data directory's own instance (`instanceId`, its archives `archives`) began: it was
 * cloned or restored from another instance, whose archives hold that moment (named when the sources hold them).
 */
function beganElsewhereHint(ctx: PlannerContext, instanceId: string, archives: ReadonlyArray<{ manifest: Manifest }>, ts: number): string | undefined {
  const o = ctx.ownChain?.origin;
  const first = archives[0]?.manifest;
  if (instanceId !== ctx.ownInstance || o === undefined || first === undefined || ts >= first.timeRange.start.getTime()) return undefined;
  const from = originInstance(ctx.ownChain!, ctx.archives.filter((a) => a.manifest.instanceId !== instanceId));
  const began = `That moment is before this directory's instance began (line ${o.line}, ${new Date(o.timestamp).toISOString()}): it was cloned or restored from`;
  if (from !== undefined) return `${began} instance ${from}, whose history it shares up to there: \`--instance ${from}\` asks its archives.`;
  return `${began} another instance, whose archives are not in the sources read: point --archive-dir or the remotes at them, and name it with --instance (\`bri restore list\` shows the instances).`;
}

/** The plan for `target` over instance `wanted`'s archives and shipped WAL (undefined: the archives' newest instance). */
async function planInstance(ctx: PlannerContext, target: Exclude<RestoreTarget, { kind: 'archive' }>, wanted: string | undefined, shippedAfter: (id: string, after: number) => Promise<ShippedPlan | null>): Promise<RestorePlan> {
  const latest = planRestore(ctx.archives, { kind: 'latest' }, wanted, ctx.unreachable);
  if (target.kind === 'latest') assertNothingNewerUnread(ctx, latest);
  if (target.kind === 'latest') return { ...latest, shipped: await shippedAfter(latest.instanceId, latest.archive!.manifest.timeRange.walLines.end) };
  const { archives } = instanceArchives(ctx.archives, latest.instanceId);
  if (archiveHolding(archives, target.timestamp)) return notPastShipped(planRestore(ctx.archives, target, latest.instanceId, [], await opensAt(ctx, archives, target.timestamp)), shippedAfter);
  // Past the newest archive's seal and no later than the last shipped line: the archive plus the shipped lines up to T.
  const shipped = await shippedAfter(latest.instanceId, latest.archive!.manifest.timeRange.walLines.end);
  const sealedAt = latest.archive!.manifest.timeRange.sealedAt.getTime();
  const ts = target.timestamp;
  if (ts < sealedAt) {
    const from = sharedHistoryOf(ctx, latest.instanceId, archives, ts);
    // The state then is the instance's it began on (the history they share): restored from that one, as a new timeline.
    const own = notFound(ts, archives, shipped, undefined, beganElsewhereHint(ctx, latest.instanceId, archives, ts));
    if (from === undefined) throw own;
    // (A moment that one does not hold either: the ranges of the whole history, and where it starts.)
    const shared = await planInstance(ctx, target, from, shippedAfter).catch((err: unknown) => Promise.reject(isBriError(err, ErrorCodes.TIMESTAMP_NOT_FOUND) ? beforeHistoryKept(ctx, ts, archives, shipped) : err));
    const whose = ctx.explicitInstance === undefined ? `this directory's instance ${ctx.ownInstance}` : `instance ${ctx.explicitInstance}`;
    const because = `${new Date(ts).toISOString()} is before ${whose} began: restored from instance ${shared.instanceId}, whose history it shares up to there, as a new instance`;
    return { ...shared, continuesChain: false, newInstanceBecause: because };
  }
  if (shipped && shipped.endTime !== null && ts <= shipped.endTime) return { ...latest, target, untilTimestamp: ts, continuesChain: false, shipped };
  // Past every line archived or shipped.
  assertNothingNewerUnread(ctx, latest, ts);
  // (Shipped WAL whose end's time is unknown may hold it.)
  if (shipped && shipped.endTime === null) throw notFound(ts, archives, shipped);
  return pastTheEnd(ctx, latest, shipped, ts, archives);
}
