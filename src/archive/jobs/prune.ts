/**
 * Carrying out retention: the plan (retention.ts, pure) over every source's
 * copies of this database's archives, then the deletions, each reported. A
 * remote copy counts toward "another copy remains" only when it is whole (its
 * size is the local copy's, and its checksum the archive's); a source that
 * cannot be listed keeps every local copy it might have been the other copy of.
 */
import { createHash } from 'node:crypto';
import { BriError, isBriError } from '../../errors.js';
import { fileSha256 } from '../copies/upload.js';
import { readAllCopyRecords, type CopyRecord } from '../copies/records.js';
import { removeCopy } from '../copies/copy-ops.js';
import { planPrune, type CopyDecision, type RetentionPolicy } from './retention.js';
import type { ArchiveCopy, MergedListing } from '../copies/catalog.js';
import { LOCAL_SOURCE, type ArchiveSources } from '../copies/sources.js';

export interface PruneReport {
  dryRun: boolean;
  /** Copies removed (or, in a dry run, that would be). */
  removed: Array<CopyDecision & { location: string }>;
  kept: CopyDecision[];
  /** Deletions that failed; the copy is still there. */
  failed: Array<CopyDecision & { error: BriError }>;
  /** False when no retention setting is configured (keepLocal, retentionDays, a remote's retentionDays): nothing can expire. */
  policyConfigured: boolean;
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

/**
 * Whether a copy other than the local one is still the archive, before the local copy goes on its word.
 * A cloud copy is asked (one HEAD): the SHA-256 recorded with the object at upload, or the checksum the
 * remote confirmed then, must be the archive's; an object replaced behind our back by other bytes of the
 * same size is not. A copy on a local remote (a NAS, a USB disk, where bits rot unseen) is read and
 * hashed. The archive's SHA-256 is the one the upload confirmed (the local file's, when no record says it).
 */
async function anotherCopyWhole(copies: ArchiveCopy[], sources: ArchiveSources, records: ReadonlyArray<CopyRecord>): Promise<boolean> {
  const local = copies.find((c) => c.source === LOCAL_SOURCE);
  let localSha: string | undefined;
  const archiveSha = async (record: CopyRecord | undefined) => record?.sha256 ?? (localSha ??= local?.file === undefined ? '' : (await fileSha256(local.file)).sha256);
  for (const c of copies) {
    const store = sources.remote(c.source)?.store;
    if (c.source === LOCAL_SOURCE || c.key === undefined || store === undefined) continue;
    const record = records.find((r) => r.source === c.source);
    const want = await archiveSha(record);
    try {
      if (c.provider !== 'local') {
        const head = await store.head(c.key);
        if (head.checksums.sha256 !== undefined ? head.checksums.sha256 === want : record !== undefined && head.checksums[record.checksum.algorithm] === record.checksum.value) return true;
        continue;
      }
      const hash = createHash('sha256');
      for await (const chunk of await store.get(c.key)) hash.update(chunk as Buffer);
      if (hash.digest('hex') === want) return true;
    } catch {
      continue;
    }
  }
  return false;
}

/**
 * The archives whose copies this prune decides on: this data directory's instance, and any archive this
 * archive directory holds or uploaded (its earlier instances). Another database's archives on a shared
 * bucket and prefix are left alone: their retention is theirs.
 */
function oursOnly(listing: MergedListing, records: ReadonlyMap<string, unknown>, ownInstance: string | undefined): { ours: MergedListing['archives']; others: MergedListing['archives'] } {
  const ours: MergedListing['archives'] = [];
  const others: MergedListing['archives'] = [];
  for (const a of listing.archives) {
    const mine = a.manifest.instanceId === ownInstance || records.has(a.manifest.archiveId) || a.copies.some((c) => c.source === LOCAL_SOURCE);
    (mine ? ours : others).push(a);
  }
  return { ours, others };
}

export async function prune(listing: MergedListing, policy: RetentionPolicy, sources: ArchiveSources, archiveDir: string, opts: { dryRun?: boolean; now?: Date; ownInstance?: string } = {}): Promise<PruneReport> {
  const down = new Set(listing.unreachable.map((u) => u.source));
  const twinsOf = new Map<string, Map<string, ArchiveCopy[]>>();
  const records = await readAllCopyRecords(archiveDir);
  const { ours, others } = oursOnly(listing, records, opts.ownInstance);
  const archives = ours.map((a) => {
    const local = a.copies.find((c) => c.source === LOCAL_SOURCE);
    const whole = a.copies.filter((c) => c.source === LOCAL_SOURCE || !c.damaged).filter((c) => !local || c.source === LOCAL_SOURCE || c.bytes === local.bytes);
    const { distinct, twins } = oneCopyPerLocation(whole);
    twinsOf.set(a.manifest.archiveId, twins);
    return { manifest: a.manifest, copies: distinct, all: a.copies };
  });
  const plan = planPrune(
    archives.map((a) => ({ manifest: a.manifest, copies: a.copies })),
    policy,
    opts.now ?? new Date(),
  );
  // With a source down, a local copy must not go on the word of the remaining ones only.
  const remove = plan.remove.filter((d) => !(d.source === LOCAL_SOURCE && d.reason === 'beyond-keep-local' && down.size > 0));
  // Nor on the word of a copy on a disk of ours whose bytes changed since the upload (its size is the same): it is read first.
  const relying = remove.filter((d) => d.source === LOCAL_SOURCE && d.reason === 'beyond-keep-local');
  for (const d of relying) {
    const a = archives.find((x) => x.manifest.archiveId === d.archiveId)!;
    if (!(await anotherCopyWhole(a.copies, sources, records.get(d.archiveId) ?? []))) remove.splice(remove.indexOf(d), 1);
  }
  // A copy's other names go with it when it goes (its bytes are theirs), and stay when it stays.
  for (const d of [...remove]) for (const t of twinsOf.get(d.archiveId)?.get(d.source) ?? []) remove.push({ ...d, source: t.source });
  const twinsKept = plan.keep.flatMap((d) => (twinsOf.get(d.archiveId)?.get(d.source) ?? []).map((t) => ({ archiveId: d.archiveId, source: t.source, reason: 'same-location' as const })));
  const othersKept = others.flatMap((a) => a.copies.map((c) => ({ archiveId: a.manifest.archiveId, source: c.source, reason: 'other-database' as const })));
  const kept = [...plan.keep, ...twinsKept, ...plan.remove.filter((d) => !remove.includes(d)).map((d) => ({ ...d, reason: 'only-copy' as const })), ...othersKept];
  const report: PruneReport = { dryRun: opts.dryRun === true, removed: [], kept, failed: [], policyConfigured: hasPolicy(policy) };
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
