/**
 * Carrying out retention: the plan (retention.ts, pure) over every source's
 * copies of this database's archives, then the deletions, each reported. A
 * copy counts toward "another copy remains" only when it is whole (the local
 * one read and hashed; a remote one of the local copy's size, and its checksum
 * the archive's); a source that cannot be listed keeps every local copy it
 * might have been the other copy of, and a local copy past keepLocal stays
 * until every remote it belongs on holds a confirmed copy (one its upload
 * record still vouches for: not gone, nor written again since).
 */
import { BriError, isBriError } from '../../errors.js';
import { isColdObject } from '../../remote/index.js';
import { someCopyWhole } from '../copies/whole-copy.js';
import { isRecordedHere, readAllCopyRecords, recordedCopyProblem, type CopyRecord } from '../copies/records.js';
import { remotesWanting } from '../copies/upload.js';
import type { Manifest } from '../../format/manifest.js';
import { removeCopy } from '../copies/copy-ops.js';
import { planPrune, type CopyDecision, type RetentionPolicy } from './retention.js';
import type { ArchiveCopy, MergedListing } from '../copies/catalog.js';
import { LOCAL_SOURCE, type ArchiveSources, type RemoteSource } from '../copies/sources.js';

/**
 * Why prune keeps a copy: the plan's reasons (retention.ts), and two of its own for a local copy past keepLocal.
 * `not-on-every-remote`: a remote it belongs on has no confirmed copy of it (`lacking` names them): it is the copy the
 * next upload sends there. `source-unreachable`: a source could not be listed, and it may have been the other copy.
 */
export type PruneKeepReason = CopyDecision['reason'] | 'not-on-every-remote' | 'source-unreachable';

export interface KeptCopy {
  archiveId: string;
  source: string;
  reason: PruneKeepReason;
  /** With `not-on-every-remote`: the remotes that lack a confirmed copy. */
  lacking?: string[];
}

export interface PruneReport {
  dryRun: boolean;
  /** Copies removed (or, in a dry run, that would be). */
  removed: Array<CopyDecision & { location: string }>;
  kept: KeptCopy[];
  /** Deletions that failed; the copy is still there. */
  failed: Array<CopyDecision & { error: BriError }>;
  /** False when no retention setting is configured (keepLocal, retentionDays, a remote's retentionDays): nothing can expire. */
  policyConfigured: boolean;
  /**
   * Sources that could not be listed: their expired copies were not pruned (nor counted among those kept), and
   * the local copies past keepLocal they may hold the other copy of were kept.
   */
  unreachable: Array<{ source: string; error: BriError }>;
  /**
   * Copies kept because nothing says when they expire: their manifest cannot be read (`frozen`: in an archive tier,
   * `thaw` it; `damaged` beyond PAR2 repair) and no other copy of the archive was listed to read it from.
   */
  unreadable: UnreadableKept[];
}

export interface UnreadableKept {
  source: string;
  /** The id the copy's name gives (null: a local file whose name is no archive id). */
  archiveId: string | null;
  location: string;
  reason: 'frozen' | 'damaged';
  error: BriError;
}

/** The policy the configuration gives: keepLocal, retentionDays, and each remote's own retentionDays. */
export function policyFromConfig(config: { keepLocal?: number | undefined; retentionDays?: number | undefined }, sources: ArchiveSources): RetentionPolicy {
  const sourceRetentionDays: Record<string, number | undefined> = {};
  for (const r of sources.remotes) if (r.config.retentionDays !== undefined) sourceRetentionDays[r.name] = r.config.retentionDays;
  return {
    ...(config.keepLocal !== undefined ? { keepLocal: config.keepLocal } : {}),
    ...(config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {}),
    sourceRetentionDays,
  };
}

export function hasPolicy(p: RetentionPolicy): boolean {
  return p.keepLocal !== undefined || p.retentionDays !== undefined || Object.keys(p.sourceRetentionDays ?? {}).length > 0;
}

/**
 * Copies that are one file under two names (a remote whose location turned out to be the archive
 * directory, through a link made after the configuration was checked) count once: the first in
 * source order stands for them, the others are its twins.
 */
function oneCopyPerLocation(copies: ArchiveCopy[]): { distinct: ArchiveCopy[]; twins: Map<string, ArchiveCopy[]> } {
  const first = new Map<string, ArchiveCopy>();
  const distinct: ArchiveCopy[] = [];
  const twins = new Map<string, ArchiveCopy[]>();
  for (const c of copies) {
    const seen = c.identity !== undefined ? first.get(c.identity) : undefined;
    if (!seen) {
      if (c.identity !== undefined) first.set(c.identity, c);
      distinct.push(c);
      continue;
    }
    twins.set(seen.source, [...(twins.get(seen.source) ?? []), c]);
  }
  return { distinct, twins };
}

/** The listing's unreadable copies that no listed archive's manifest speaks for: kept, as nothing says when they expire. */
function unreadableKept(listing: MergedListing): UnreadableKept[] {
  const known = new Set(listing.archives.map((a) => a.manifest.archiveId));
  return listing.unreadable
    .filter((u) => u.archiveId === undefined || !known.has(u.archiveId))
    .map((u) => ({ source: u.source, archiveId: u.archiveId ?? null, location: u.location, reason: isColdObject(u.error) ? 'frozen' : 'damaged', error: u.error }));
}

/**
 * Copies that are not whole (a damaged one whose manifest PAR2 repaired, or another copy gave; one of another size than
 * the local copy) never count as the copy that remains, but their archive's expiry is known: they are decided as
 * copies of their own, by a second plan that includes them, and go when their source's copy expires. One that is
 * another name for a whole copy is left to it.
 */
function decideNotWhole(archives: Array<{ manifest: Manifest; copies: ArchiveCopy[]; notWhole: ArchiveCopy[] }>, policy: RetentionPolicy, now: Date): { remove: CopyDecision[]; keep: CopyDecision[] } {
  if (!archives.some((a) => a.notWhole.length > 0)) return { remove: [], keep: [] };
  const plan = planPrune(archives.map((a) => ({ manifest: a.manifest, copies: [...a.copies, ...a.notWhole] })), policy, now);
  const isNotWhole = (d: CopyDecision) => archives.some((a) => a.manifest.archiveId === d.archiveId && a.notWhole.some((c) => c.source === d.source));
  return { remove: plan.remove.filter(isNotWhole), keep: plan.keep.filter(isNotWhole) };
}

/**
 * The archives whose copies this prune decides on: this data directory's instance, and the instances it
 * archived into its archive directory before (its earlier ones, after a restore in place: `lineage`).
 * Another database's archives, on a shared bucket and prefix or in an archive directory it also wrote
 * into, are left alone whatever this one holds of them: their retention is theirs.
 */
function oursOnly(listing: MergedListing, ownInstance: string | undefined, lineage: ReadonlySet<string>): { ours: MergedListing['archives']; others: MergedListing['archives'] } {
  const ours: MergedListing['archives'] = [];
  const others: MergedListing['archives'] = [];
  for (const a of listing.archives) {
    const mine = a.manifest.instanceId === ownInstance || lineage.has(a.manifest.instanceId);
    (mine ? ours : others).push(a);
  }
  return { ours, others };
}

/**
 * The remotes (of those it belongs on) that hold no confirmed copy of an archive's local copy: none listed whole there
 * at the local copy's size whose upload record still vouches for it. A record alone, or with the size, is not enough:
 * a copy rewritten there since (other bytes, the same size) or gone is no copy, and the local one is what the next
 * upload sends. Asked as `archive list` asks (the listing's `recorded`: `unvouched`, size and not written since it was
 * confirmed, by the remote's clock) and as upload and isStoredEverywhere ask (a HEAD, `recordedCopyProblem`: the
 * SHA-256 too, where the remote keeps one); a remote that does not answer holds nothing confirmed.
 */
function lackingRemotes(archives: Array<{ manifest: Manifest; all: ArchiveCopy[] }>, records: Map<string, CopyRecord[]>, sources: ArchiveSources, now: Date): (archiveId: string) => Promise<string[]> {
  const wanted = remotesWanting(archives.map((a) => a.manifest), sources, now);
  return async (archiveId) => {
    const a = archives.find((x) => x.manifest.archiveId === archiveId)!;
    const local = a.all.find((c) => c.source === LOCAL_SOURCE);
    const has = async (r: RemoteSource) => {
      const rec = (records.get(archiveId) ?? []).find((x) => x.source === r.name && x.size === local?.bytes && isRecordedHere(x, r));
      if (!rec || !a.all.some((c) => c.source === r.name && c.recorded && !c.damaged && c.bytes === local?.bytes)) return false;
      return (await recordedCopyProblem(r.store, rec).catch(() => 'no answer')) === null;
    };
    const lacking: string[] = [];
    for (const r of wanted(a.manifest)) if (!(await has(r))) lacking.push(r.name);
    return lacking;
  };
}

export async function prune(listing: MergedListing, policy: RetentionPolicy, sources: ArchiveSources, archiveDir: string, opts: { dryRun?: boolean; now?: Date; ownInstance?: string; lineage?: ReadonlySet<string> } = {}): Promise<PruneReport> {
  const down = new Set(listing.unreachable.map((u) => u.source));
  const twinsOf = new Map<string, Map<string, ArchiveCopy[]>>();
  const records = await readAllCopyRecords(archiveDir);
  const { ours, others } = oursOnly(listing, opts.ownInstance, opts.lineage ?? new Set());
  const archives = ours.map((a) => {
    const local = a.copies.find((c) => c.source === LOCAL_SOURCE);
    const isWhole = (c: ArchiveCopy) => c.source === LOCAL_SOURCE || (!c.damaged && (!local || c.bytes === local.bytes));
    const whole = a.copies.filter(isWhole);
    const { distinct, twins } = oneCopyPerLocation(whole);
    twinsOf.set(a.manifest.archiveId, twins);
    const wholeIdentities = new Set(whole.map((c) => c.identity).filter((i) => i !== undefined));
    const notWhole = a.copies.filter((c) => !isWhole(c) && (c.identity === undefined || !wholeIdentities.has(c.identity)));
    return { manifest: a.manifest, copies: distinct, all: a.copies, notWhole };
  });
  const plan = planPrune(
    archives.map((a) => ({ manifest: a.manifest, copies: a.copies })),
    policy,
    opts.now ?? new Date(),
  );
  // With a source down, a local copy must not go on the word of the remaining ones only.
  const pastKeepLocal = (d: CopyDecision) => d.source === LOCAL_SOURCE && d.reason === 'beyond-keep-local';
  // Nor before every remote it belongs on holds it (a failed upload): the local copy is what the next upload sends (issue: RETAIN 1).
  const lackingOf = lackingRemotes(archives, records, sources, opts.now ?? new Date());
  const held = new Map<CopyDecision, KeptCopy>();
  for (const d of plan.remove.filter(pastKeepLocal)) {
    if (down.size > 0) {
      held.set(d, { ...d, reason: 'source-unreachable' });
      continue;
    }
    const lacking = await lackingOf(d.archiveId);
    if (lacking.length > 0) held.set(d, { ...d, reason: 'not-on-every-remote', lacking });
  }
  const remove = plan.remove.filter((d) => !held.has(d));
  // A copy that goes while others of its archive stay goes on their word: one of them must be whole (read, or asked), else none goes.
  const goingOf = new Map<string, CopyDecision[]>();
  for (const d of remove) goingOf.set(d.archiveId, [...(goingOf.get(d.archiveId) ?? []), d]);
  for (const [id, going] of goingOf) {
    const a = archives.find((x) => x.manifest.archiveId === id)!;
    const staying = a.copies.filter((c) => !going.some((d) => d.source === c.source));
    if (staying.length === 0 || (await someCopyWhole(staying, a.all, id, sources, records.get(id) ?? []))) continue;
    for (const d of going) remove.splice(remove.indexOf(d), 1);
  }
  // A copy's other names go with it when it goes (its bytes are theirs), and stay when it stays.
  for (const d of [...remove]) for (const t of twinsOf.get(d.archiveId)?.get(d.source) ?? []) remove.push({ ...d, source: t.source });
  // Not whole: they go on nobody's word, so after the checks above.
  const notWhole = decideNotWhole(archives, policy, opts.now ?? new Date());
  remove.push(...notWhole.remove);
  const twinsKept = plan.keep.flatMap((d) => (twinsOf.get(d.archiveId)?.get(d.source) ?? []).map((t) => ({ archiveId: d.archiveId, source: t.source, reason: 'same-location' as const })));
  const othersKept = others.flatMap((a) => a.copies.map((c) => ({ archiveId: a.manifest.archiveId, source: c.source, reason: 'other-database' as const })));
  const kept = [...plan.keep, ...notWhole.keep, ...twinsKept, ...plan.remove.filter((d) => !remove.includes(d)).map((d): KeptCopy => held.get(d) ?? { ...d, reason: 'only-copy' }), ...othersKept];
  const report: PruneReport = { dryRun: opts.dryRun === true, removed: [], kept, failed: [], policyConfigured: hasPolicy(policy), unreachable: listing.unreachable.map((u) => ({ source: u.source, error: u.error })), unreadable: unreadableKept(listing) };
  for (const d of remove) {
    const copy = archives.find((a) => a.manifest.archiveId === d.archiveId)!.all.find((c) => c.source === d.source)!;
    if (!opts.dryRun) {
      try {
        await removeCopy(copy, d.archiveId, sources, archiveDir);
      } catch (err) {
        report.failed.push({ ...d, error: isBriError(err) ? err : new BriError('IO_ERROR', (err as Error).message, { cause: err }) });
        continue;
      }
    }
    report.removed.push({ ...d, location: copy.location });
  }
  return report;
}
