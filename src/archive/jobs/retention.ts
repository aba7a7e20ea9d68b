/**
 * Retention planning: which copies of which archives may be deleted. Pure (no
 * I/O) so that `prune --dry-run` and the real prune share one answer, and so
 * the rules can be tested against random histories.
 *
 * The planner leans towards keeping: anything it cannot prove expired (an
 * unreadable date, a copy it was not told about) stays, because a copy kept
 * too long costs storage while a copy removed too early can cost data.
 */
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { LOCAL_SOURCE } from '../copies/sources.js';

export interface RetentionPolicy {
  /** At most this many of the newest archives keep their local copy (others lose it once a remote copy remains). Undefined: no limit. */
  keepLocal?: number;
  /** Days an archive is kept after it was sealed, on every source (default for all). Undefined: no age limit. */
  retentionDays?: number;
  /** Per-source override of retentionDays (source name -> days). */
  sourceRetentionDays?: Record<string, number | undefined>;
}

export interface RetentionArchive {
  manifest: Manifest;
  copies: ReadonlyArray<{ source: string }>;
}

export type RemoveReason = 'expired' | 'beyond-keep-local';
/**
 * `same-location`: the copy is another name for a copy the plan decides on (one file, two sources): it goes only with it.
 * `other-database`: an archive of an instance that is not this database's (not its own, nor one its archive directory's owner file
 * records: a second database on the same bucket and prefix): its own retention is not known here, so this one's never applies to it.
 */
export type KeepReason = 'newest' | 'permanent' | 'retention-date' | 'within-retention' | 'no-age-limit' | 'keep-local' | 'only-copy' | 'same-location' | 'other-database';

export interface CopyDecision {
  archiveId: string;
  source: string;
  reason: RemoveReason | KeepReason;
}

export interface PrunePlan {
  remove: CopyDecision[];
  keep: CopyDecision[];
}

export { LOCAL_SOURCE };
const DAY_MS = 86_400_000;

/** Reasons that hold for every copy of an archive, whatever the source (rules 1-3). */
type ArchiveProtection = 'newest' | 'permanent' | 'retention-date';

interface Entry {
  manifest: Manifest;
  sources: string[];
  /** Set when rules 1-3 decide for the whole archive. */
  whole: ArchiveProtection | 'expired' | null;
  /** The age rule's answer per source (rule 4), used only when `whole` is null. */
  age: Map<string, 'within-retention' | 'no-age-limit' | 'expired'>;
}

function policyError(key: string, message: string): BriError {
  return new BriError(ErrorCodes.CONFIG_INVALID, `archive.${key}: ${message}`, {
    hint: 'fix the retention settings in the archive configuration',
    details: { key },
  });
}

function isPositiveDays(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

/**
 * Throws CONFIG_INVALID naming the bad key. Policies often come from JSON, so
 * the checks do not trust the static type: a NaN day count would otherwise make
 * every cutoff comparison false and quietly change what gets deleted.
 */
export function assertPolicy(policy: RetentionPolicy): void {
  if (typeof policy !== 'object' || policy === null) throw policyError('retention', 'must be an object');
  const { keepLocal, retentionDays, sourceRetentionDays } = policy;
  if (keepLocal !== undefined && !(Number.isSafeInteger(keepLocal) && keepLocal >= 0)) {
    throw policyError('keepLocal', `must be a non-negative integer (got ${String(keepLocal)})`);
  }
  if (retentionDays !== undefined && !isPositiveDays(retentionDays)) {
    throw policyError('retentionDays', `must be a positive number of days (got ${String(retentionDays)})`);
  }
  if (sourceRetentionDays === undefined) return;
  if (typeof sourceRetentionDays !== 'object' || sourceRetentionDays === null || Array.isArray(sourceRetentionDays)) {
    throw policyError('sourceRetentionDays', 'must map source names to days');
  }
  for (const [source, days] of Object.entries(sourceRetentionDays)) {
    if (days !== undefined && !isPositiveDays(days)) {
      throw policyError(`sourceRetentionDays.${source}`, `must be a positive number of days (got ${String(days)})`);
    }
  }
}

function time(d: Date): number {
  return d.getTime();
}

/** Tip of each instance's chain: the next archive continues from it, so it is never pruned. */
function newestPerInstance(archives: ReadonlyArray<Manifest>): Set<string> {
  const best = new Map<string, Manifest>();
  for (const m of archives) {
    const cur = best.get(m.instanceId);
    if (!cur) {
      best.set(m.instanceId, m);
      continue;
    }
    const dEnd = m.timeRange.walLines.end - cur.timeRange.walLines.end;
    const dCreated = time(m.createdAt) - time(cur.createdAt);
    if (dEnd > 0 || (dEnd === 0 && (dCreated > 0 || (dCreated === 0 && m.archiveId > cur.archiveId)))) best.set(m.instanceId, m);
  }
  return new Set([...best.values()].map((m) => m.archiveId));
}

function wholeArchiveRule(m: Manifest, newest: Set<string>, now: number): Entry['whole'] {
  if (newest.has(m.archiveId)) return 'newest';
  if (m.permanent) return 'permanent';
  if (m.retentionUntil === null) return null;
  // Written as "expired only when provably past" so an invalid date keeps the archive.
  return time(m.retentionUntil) <= now ? 'expired' : 'retention-date';
}

function ageRule(m: Manifest, source: string, policy: RetentionPolicy, now: number): 'within-retention' | 'no-age-limit' | 'expired' {
  const days = policy.sourceRetentionDays?.[source] ?? policy.retentionDays;
  if (days === undefined) return 'no-age-limit';
  // An archive sealed inside the window is needed to restore some instant in it;
  // one sealed before covers only instants older than the window.
  return time(m.timeRange.sealedAt) < now - days * DAY_MS ? 'expired' : 'within-retention';
}

/**
 * Newest first, by the seal (never before the archive's own lines, so one instance's archives follow their lines),
 * not by when each was made (a host clock that was behind would rank a new archive oldest, and keepLocal drop it);
 * ties go to the longer chain, the creation time, then the id, so the plan never depends on input order.
 */
function newerFirst(a: Manifest, b: Manifest): number {
  return (
    time(b.timeRange.sealedAt) - time(a.timeRange.sealedAt) ||
    b.timeRange.walLines.end - a.timeRange.walLines.end ||
    time(b.createdAt) - time(a.createdAt) ||
    (a.archiveId < b.archiveId ? 1 : a.archiveId > b.archiveId ? -1 : 0)
  );
}

/** One entry per archive id; the same archive listed twice (found on two sources) pools its copies. */
function collect(archives: ReadonlyArray<RetentionArchive>): Entry[] {
  const byId = new Map<string, Entry>();
  for (const a of archives) {
    let e = byId.get(a.manifest.archiveId);
    if (!e) {
      e = { manifest: a.manifest, sources: [], whole: null, age: new Map() };
      byId.set(a.manifest.archiveId, e);
    }
    for (const c of a.copies) if (!e.sources.includes(c.source)) e.sources.push(c.source);
  }
  for (const e of byId.values()) e.sources.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return [...byId.values()];
}

/**
 * Decides every copy of every archive; each appears once, in `remove` or `keep`.
 *  1. an instance's newest archive keeps every copy ('newest');
 *  2. so does a permanent one ('permanent');
 *  3. an explicit retentionUntil keeps ('retention-date') or removes ('expired')
 *     every copy, overriding the day counts both ways;
 *  4. otherwise each copy is aged against its source's days;
 *  5. of the surviving local copies only the keepLocal newest stay, unless rules
 *     1-3 protect the archive or no other copy of it is kept ('only-copy');
 *  6. an archive the shared retentionDays (or no age limit) still keeps never
 *     loses its last copy to a source's own shorter days ('only-copy').
 * Both lists are ordered oldest archive first, then by source name.
 */
export function planPrune(archives: ReadonlyArray<RetentionArchive>, policy: RetentionPolicy, now: Date): PrunePlan {
  assertPolicy(policy);
  const nowMs = time(now);
  if (!Number.isFinite(nowMs)) {
    throw new BriError(ErrorCodes.USAGE, 'retention: the current time is not a valid date', { hint: 'pass a valid Date as now' });
  }

  const entries = collect(archives);
  const newest = newestPerInstance(entries.map((e) => e.manifest));
  for (const e of entries) {
    e.whole = wholeArchiveRule(e.manifest, newest, nowMs);
    if (e.whole === null) for (const s of e.sources) e.age.set(s, ageRule(e.manifest, s, policy, nowMs));
  }

  const decisionOf = (e: Entry, source: string): CopyDecision['reason'] => e.whole ?? e.age.get(source) ?? 'no-age-limit';
  const isKept = (r: CopyDecision['reason']): boolean => r !== 'expired' && r !== 'beyond-keep-local';

  // Rule 5 ranks only local copies that survive rules 1-4: an expired archive
  // must not take one of the N places from a younger one.
  const localRank = new Map<string, number>();
  if (policy.keepLocal !== undefined) {
    const ranked = entries
      .filter((e) => e.sources.includes(LOCAL_SOURCE) && isKept(decisionOf(e, LOCAL_SOURCE)))
      .sort((a, b) => newerFirst(a.manifest, b.manifest));
    ranked.forEach((e, i) => localRank.set(e.manifest.archiveId, i));
  }

  const localReason = (e: Entry): CopyDecision['reason'] => {
    const base = decisionOf(e, LOCAL_SOURCE);
    if (policy.keepLocal === undefined || !isKept(base) || e.whole !== null) return base;
    const rank = localRank.get(e.manifest.archiveId) ?? 0;
    if (rank < policy.keepLocal) return 'keep-local';
    // Remote decisions never depend on rule 5, so this check cannot go in circles.
    const keptElsewhere = e.sources.some((s) => s !== LOCAL_SOURCE && isKept(decisionOf(e, s)));
    return keptElsewhere ? 'beyond-keep-local' : 'only-copy';
  };

  // The retention every source shares (retentionDays): a source's own shorter days drop its copy, never the archive.
  const shared: RetentionPolicy = policy.retentionDays === undefined ? {} : { retentionDays: policy.retentionDays };
  const daysOf = (source: string) => policy.sourceRetentionDays?.[source] ?? policy.retentionDays ?? Infinity;

  const plan: PrunePlan = { remove: [], keep: [] };
  const ordered = [...entries].sort((a, b) => newerFirst(b.manifest, a.manifest));
  for (const e of ordered) {
    const decided = e.sources.map((source) => ({ archiveId: e.manifest.archiveId, source, reason: source === LOCAL_SOURCE ? localReason(e) : decisionOf(e, source) }));
    // 6. an archive the shared retention still keeps keeps one copy: the one whose source keeps copies longest
    //    (a local copy gone to keepLocal, then the remote's own days, must not take its last copy).
    if (e.whole === null && ageRule(e.manifest, LOCAL_SOURCE, shared, nowMs) !== 'expired' && !decided.some((d) => isKept(d.reason))) {
      const last = decided.filter((d) => d.reason === 'expired').sort((a, b) => daysOf(b.source) - daysOf(a.source))[0];
      if (last) last.reason = 'only-copy';
    }
    for (const d of decided) (isKept(d.reason) ? plan.keep : plan.remove).push(d);
  }
  return plan;
}
