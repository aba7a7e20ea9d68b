/**
 * `db.restore` and `bri restore`: list what can be restored (every source,
 * merged), find the archive for a time, and restore the latest state, an
 * archive, a point in time, or a clone, fetching the archive from the first
 * source in priority order that has a good copy.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError, withCheckedArguments, withTypedIoErrors } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { recoverInterruptedRestoreSaying } from '../store/dir-swap.js';
import { readArchiveState, recordedArchiveDir, sameDirectory } from '../store/archive-state.js';
import { assertArchiveId, assertInstanceId } from './package/ids.js';
import { assertDirectoryInput } from './package/input-file.js';
import { archiveDirFor, carryOverFor, checkLocations, checkRestoreTarget, realPath, type LocationSettings } from './copies/locations.js';
import { planFor } from './restore/planner.js';
import { assertUnusedInstanceId, besideItsOriginal, sharedArchive, sharedMomentInstance } from './restore/own-database.js';
import { noReadableArchive, noteDamagedLocalCopies, repairedLocalListing } from './restore/sources-read.js';
import { parseTimeRange } from '../format/input.js';
import { parseArchiveConfig, type ArchiveConfig } from './config.js';
import { fetchGoodCopy, type FetchOptions, type SourceProblem } from './copies/fetch.js';
import { verifyRemoteCopy } from './copies/copy-ops.js';
import { archiveFileInput, fromAdoptedFile, namesArchiveFile, onArchiveFile, unreadableCopiesOf } from './copies/id-lookup.js';
import { par2Repairer } from './package/repairer.js';
import { withHarmless } from './jobs/caller-callbacks.js';
import { findForTimestamp, instanceArchives, parseRestoreTarget, planOfFile, unreadableArchive, parseTimestamp, timeline, type RestorePlan, type RestoreTarget, type RestoreTargetInput, type RestoreListing } from './restore/plan.js';
import { executeRestore, type RestoreHooks, type RestoreResult } from './restore/execute.js';
import { assertRestoreCallOptions, tellRestoreFailure, type RestoreCallOptions } from './restore/call-options.js';
import type { ArchiveRepairer } from './package/repairer.js';
import { listSources, type CatalogArchive, type ManifestCache, type MergedListing } from './copies/catalog.js';
import { ArchiveSources, LOCAL_SOURCE } from './copies/sources.js';
import { verifyArchive, type VerifyReport } from './package/verify.js';
import type { ShippedPlan } from './shipping/plan-shipped.js';
import type { ShippedInput } from './shipping/restore-shipped.js';
import type { ShipmentRef } from './shipping/shipment.js';
import { fetchShipment } from './shipping/shipped-catalog.js';
import { shippedRanges } from './shipping/shipped-ranges.js';
import type { AgeIdentity } from './crypto/age-keys.js';
import { dataDirEnd, dataDirTail, startSeed } from './timetravel/wal-tail.js';
import { notYetArchived, noteReplacedLines, noteUnreadable, tailEnd } from './timetravel/tail-end.js';
import { TimeTravel, type DiffAnswer, type HistoryAnswer, type ReadAnswer, type TimeTravelOptions } from './timetravel/time-travel.js';
import { rollbackKeys, type LiveStore, type RollbackResult, type RollbackTarget } from './timetravel/rollback.js';
import { resolveIdentity, verifyIdentity, type VerifyIdentityOptions } from './crypto/verify-identity.js';
import { openRestoreKey, RESTORE_OPTION_KEYS } from './api-options.js';

export { par2Repairer } from './package/repairer.js';

export type { RestoreCallOptions } from './restore/call-options.js';

export interface RestoreContext {
  dataDir: string;
  archiveDir: string;
  key?: EncryptionKey;
  /** True for a directory this process has open (the open database's own). */
  openHere?: (dir: string) => boolean;
  repair?: ArchiveRepairer;
  /** The remotes and the priority order (default: the local directory only). */
  sources?: ArchiveSources;
  /** Hooks of every restore that does not pass its own (the configuration's restoreHooks). */
  hooks?: RestoreHooks;
  /** The age identity file of the configuration (archive.encryption.identityFile). */
  identityFile?: string;
  /** The open database a rollback writes into (db.restore). */
  live?: LiveStore;
}

export type { RestoreListing } from './restore/plan.js';

export type { ShippedRange } from './shipping/shipped-ranges.js';

export class RestoreApi {
  private readonly sources: ArchiveSources;
  private readonly manifests: ManifestCache = new Map();

  constructor(private readonly ctx: RestoreContext) {
    this.sources = ctx.sources ?? new ArchiveSources([]);
    checkLocations(this.locations());
  }

  private locations(): LocationSettings {
    return { dataDir: this.ctx.dataDir, archiveDir: this.ctx.archiveDir, remotes: this.sources.places() };
  }

  private localListing(): ReturnType<typeof repairedLocalListing> {
    return repairedLocalListing(this.ctx.archiveDir, this.ctx.repair);
  }

  private order(source?: string): string[] {
    return source === undefined ? this.sources.order : this.sources.select(source);
  }

  /** Every source's archives merged; fails loudly when nothing is readable but something is there. */
  private async listing(source?: string): Promise<MergedListing> {
    const only = this.order(source);
    const merged = await listSources(this.ctx.archiveDir, this.sources, { only, cache: this.manifests, dataDir: this.ctx.dataDir, ...(only.includes(LOCAL_SOURCE) ? { localListing: await this.localListing() } : {}) });
    const none = noReadableArchive(merged, only.length);
    if (none) throw none;
    return merged;
  }

  /** An archive asked for by id that the listing holds only as copies that cannot be read: their damage, said before planning ("no archive" otherwise). */
  private async assertReadable(id: string, listing: MergedListing, source: string | undefined): Promise<void> {
    if (listing.archives.some((a) => a.manifest.archiveId === id)) return;
    const order = this.order(source);
    const copies = await unreadableCopiesOf(listing.unreadable, id, order, { sources: this.sources, archiveDir: this.ctx.archiveDir });
    if (copies.length > 0) throw unreadableArchive(id, copies, this.sources.all.filter((s) => !order.includes(s)));
  }

  private async defaultInstance(all: CatalogArchive[], explicit?: string, ts?: number): Promise<string | undefined> {
    if (explicit) return explicit;
    const state = await readArchiveState(this.ctx.dataDir).catch(() => null);
    if (!state) return undefined;
    return all.some((a) => a.manifest.instanceId === state.instanceId) ? state.instanceId : ts === undefined ? undefined : sharedMomentInstance(state, all, ts);
  }

  /** Archives (optionally by time: overlapping [after, before]) and the restorable ranges. */
  async list(opts: { source?: string; after?: number | string; before?: number | string } = {}): Promise<RestoreListing> {
    // One parser for both ends, which also refuses an `after` later than `before` (nothing could match).
    const range = parseTimeRange({ after: opts.after, before: opts.before });
    const after = range.after ?? -Infinity;
    const before = range.before ?? Infinity;
    // A listing shows every source, not only those restore tries (restoreSources).
    const only = this.sources.selectOrAll(opts.source);
    const merged = await listSources(this.ctx.archiveDir, this.sources, {
      only,
      cache: this.manifests,
      dataDir: this.ctx.dataDir,
      ...(only.includes(LOCAL_SOURCE) ? { localListing: await this.localListing() } : {}),
    });
    const archives = merged.archives.filter((a) => a.manifest.timeRange.sealedAt.getTime() >= after && a.manifest.timeRange.start.getTime() <= before);
    const shipped = await shippedRanges(this.sources, merged, only);
    const sources = [...new Set(archives.flatMap((a) => a.copies.map((c) => c.source)))];
    const bySource = sources.map((source) => ({ source, ranges: timeline(archives.filter((a) => a.copies.some((c) => c.source === source))) }));
    const shippedOnly = shipped.filter((x) => x.afterLine === 0 && !archives.some((a) => a.manifest.instanceId === x.instanceId));
    return { archives, ranges: timeline(archives), unreadable: merged.unreadable, unreachable: merged.unreachable, shipped, bySource, shippedOnly };
  }

  async findForTimestamp(ts: number | string, instanceId?: string): Promise<CatalogArchive> {
    const { archives: all, unreachable } = await this.listing();
    const t = parseTimestamp(ts);
    const { archives } = instanceArchives(all, await this.defaultInstance(all, instanceId, t), unreachable);
    try {
      return findForTimestamp(archives, t);
    } catch (err) {
      const plan = instanceId === undefined && isBriError(err, ErrorCodes.TIMESTAMP_NOT_FOUND) ? await this.plan({ kind: 'timestamp', timestamp: t }).catch(() => null) : null;
      return sharedArchive(plan, archives, all, t) ?? Promise.reject(err);
    }
  }

  /** What a restore to `target` would use: the archive and, for the latest state or a time past the archives, the shipped WAL after it. */
  plan(target: RestoreTargetInput, instanceId?: string, source?: string): Promise<RestorePlan> {
    return this.planned(target, { ...(instanceId ? { instanceId } : {}), ...(source ? { source } : {}) }, false);
  }

  /** `forQuestions`: for time travel, which reads the data directory's own lines itself (planner.ts). */
  private async planned(target: RestoreTargetInput, opts: RestoreCallOptions, forQuestions: boolean): Promise<RestorePlan> {
    if (target.kind === 'archive' && namesArchiveFile(target.archiveId)) return onArchiveFile(target.archiveId, this.ctx.archiveDir, { source: opts.source, keepFor: null, check: false }, (a) => this.planned({ kind: 'archive', archiveId: a.archiveId }, { ...opts, source: LOCAL_SOURCE }, forQuestions).then((p) => planOfFile(p, a.file)));
    const parsed = parseRestoreTarget(target);
    const listing = await this.listing(opts.source);
    if (parsed.kind === 'archive') await this.assertReadable(parsed.archiveId, listing, opts.source);
    return this.planWithShipped(listing, parsed, opts, forQuestions);
  }

  private async run(target: RestoreTarget, given: RestoreCallOptions, newInstanceId?: string): Promise<RestoreResult> {
    assertRestoreCallOptions(given, newInstanceId !== undefined, newInstanceId !== undefined ? 'clone' : `restore ${target.kind}`);
    const planned: { plan?: RestorePlan } = {};
    // An archive handed over as a file (`bri restore from ./backup.bri`): kept in the archive directory by a restore in place only (the directory's own archive).
    const keep = !given.dryRun && newInstanceId === undefined && (given.targetDir === undefined || realPath(given.targetDir) === realPath(this.ctx.dataDir));
    const work = target.kind === 'archive' && namesArchiveFile(target.archiveId)
      ? onArchiveFile(target.archiveId, this.ctx.archiveDir, { source: given.source, keepFor: keep ? this.ctx.dataDir : null, check: given.verify !== false }, (a) => this.runChecked({ kind: 'archive', archiveId: a.archiveId }, { ...given, source: LOCAL_SOURCE }, planned, newInstanceId).then((r) => fromAdoptedFile(r, a)))
      : this.runChecked(target, given, planned, newInstanceId);
    return work.catch(async (err: unknown) => {
      await tellRestoreFailure(err, given.hooks ?? this.ctx.hooks, given, path.resolve(given.targetDir ?? this.ctx.dataDir), planned.plan);
      throw err;
    });
  }

  private async runChecked(target: RestoreTarget, given: RestoreCallOptions, planned: { plan?: RestorePlan }, newInstanceId?: string): Promise<RestoreResult> {
    // The caller's callbacks never fail the restore (one that threw after the swap was reported "nothing was swapped in").
    const opts = withHarmless(given, ['onProgress', 'onSourceProblem'], 'a restore');
    if (target.kind === 'archive') assertArchiveId(target.archiveId);
    // A target that exists must be a directory (refused before anything is read); the directory is replaced, not a link to it.
    if (opts.targetDir !== undefined) assertDirectoryInput(realPath(path.dirname(opts.targetDir)) + path.sep + path.basename(opts.targetDir), '--target');
    const targetDir = realPath(opts.targetDir ?? this.ctx.dataDir);
    const inPlace = targetDir === realPath(this.ctx.dataDir);
    // The archives may be made elsewhere than this call was told (-a left out): that directory is kept as safe as the configured one.
    const recorded = recordedArchiveDir(await readArchiveState(this.ctx.dataDir).catch(() => null), this.ctx.dataDir);
    checkRestoreTarget(targetDir, { ...this.locations(), ...(recorded !== undefined ? { recordedArchiveDir: recorded } : {}) });
    // Before planning: an interrupted in-place restore may have the archives in the directory moved aside.
    if (!opts.dryRun) await recoverInterruptedRestoreSaying(targetDir);
    const listing = await this.listing(opts.source);
    if (newInstanceId !== undefined) assertUnusedInstanceId(listing.archives, newInstanceId, opts.source);
    if (target.kind === 'archive') await this.assertReadable(target.archiveId, listing, opts.source);
    const plan = await this.planWithShipped(listing, target, opts)
      .then((p) => (inPlace || newInstanceId !== undefined ? p : besideItsOriginal(p, this.ctx.dataDir, targetDir)))
      .catch(async (err: unknown) => Promise.reject(target.kind === 'timestamp' ? notYetArchived(err, await tailEnd(this.ctx.dataDir), opts.instanceId, target.timestamp, listing.archives) : err));
    planned.plan = plan;
    // The directory replaced is read before it is moved aside: the lines of it this restore leaves out are said.
    const replaced = await tailEnd(targetDir);
    const age = await this.identity(opts.identity);
    const shipRemote = plan.shipped ? this.sources.remote(plan.shipped.source) : undefined;
    const result = await executeRestore(plan, {
      ...(plan.shipped && shipRemote ? { shipped: this.shippedInput(plan.shipped, age), ...(opts.onBrokenShipment === 'fail' ? { shippedMustBeWhole: true } : {}) } : {}),
      targetDir,
      ...(this.ctx.key ? { key: this.ctx.key } : {}),
      ...(age ? { age } : {}),
      ...(opts.verify !== undefined ? { verify: opts.verify } : {}),
      ...(opts.cleanExisting !== undefined ? { cleanExisting: opts.cleanExisting } : {}),
      ...(opts.force !== undefined ? { force: opts.force } : {}),
      ...(opts.dryRun !== undefined ? { dryRun: opts.dryRun } : {}),
      ...(opts.hooks ?? this.ctx.hooks ? { hooks: opts.hooks ?? this.ctx.hooks } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(newInstanceId ? { newInstanceId } : {}),
      ...(this.ctx.openHere ? { openHere: this.ctx.openHere } : {}),
      // The default <target>/archives too, when it leads to the archive directory (a link made before the first archive: the path recorded is where it leads).
      carryOver: [...new Set([this.ctx.archiveDir, ...(recorded !== undefined ? [recorded] : []), ...[archiveDirFor(targetDir, {})].filter((d) => sameDirectory(d, this.ctx.archiveDir))].flatMap((dir) => carryOverFor(dir, targetDir)))],
      // In place, the directory keeps this archive directory (recorded, so that commands not told -a find it); a copy elsewhere gets the default one.
      seedDir: inPlace ? this.ctx.archiveDir : archiveDirFor(targetDir, {}),
      ...(inPlace ? { archiveRecord: { archiveDir: realPath(this.ctx.archiveDir), archivedFrom: targetDir } } : {}),
      fetch: (p, workDir, verified) =>
        fetchGoodCopy(p.archive as CatalogArchive, {
          ...this.fetchOptions(opts.source, workDir, opts.onSourceProblem),
          // First the copy as it is (the build checks every member); verified and repaired first only when it does not match.
          verify: opts.verify === false ? false : verified ? true : 'on-doubt',
          pin: !inPlace,
          unreachable: listing.unreachable,
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        }),
    });
    noteReplacedLines(result, replaced, listing.archives, opts.cleanExisting === true);
    noteUnreadable(result, noteDamagedLocalCopies(result.warnings, listing, { archiveId: result.dryRun ? null : (plan.archive?.manifest.archiveId ?? null), source: result.source }));
    const shipped = result.shipped;
    for (const f of shipped?.replaced ?? []) opts.onSourceProblem?.({ source: f.source, reason: `shipped WAL lines ${f.fromLine}..${f.toLine}: ${f.reason}; taken from another source` });
    if (shipped?.broken) {
      opts.onSourceProblem?.({ source: shipped.source, reason: `shipped WAL lines ${shipped.broken.fromLine}..${shipped.broken.toLine}: ${shipped.broken.reason}; restored up to line ${shipped.throughLine}` });
    }
    return result;
  }

  /** Where the restore takes shipped lines from: the chosen source's chain, then the others'. */
  private shippedInput(p: ShippedPlan, age: AgeIdentity | null): ShippedInput {
    const input = (source: string, refs: ShipmentRef[]) => {
      const remote = this.sources.remote(source)!;
      return { source, refs, fetch: (ref: ShipmentRef) => fetchShipment(remote, ref, this.ctx.key, age) };
    };
    return { sources: [input(p.source, p.refs), ...p.others.map((o) => input(o.source, o.refs))], gapAt: p.gapAt };
  }

  /** The one plan for a target: the archive (or none), the shipped WAL after it, where it stops. */
  private async planWithShipped(listing: MergedListing, target: RestoreTarget, opts: RestoreCallOptions, forQuestions = false): Promise<RestorePlan> {
    const own = await readArchiveState(this.ctx.dataDir).catch(() => null);
    return planFor(
      {
        archives: listing.archives,
        sources: this.sources,
        order: this.order(opts.source),
        unreachable: listing.unreachable,
        unreadable: listing.unreadable,
        ...(opts.instanceId !== undefined ? { explicitInstance: opts.instanceId } : {}),
        // Its chain too: the instances the sources hold are taken for it only when they are its database's.
        ...(own !== null ? { ownInstance: own.instanceId, ownChain: own } : {}),
        // Of two archives holding a time, the one this identity opens is read.
        identity: () => this.identity(opts.identity),
        // A time past every line archived or shipped is the end state when this directory wrote nothing since.
        dataDirEnd: () => dataDirEnd(this.ctx.dataDir),
        forQuestions,
      },
      target,
    );
  }

  /** The end of the newest archive. */
  fromLatest(opts: RestoreCallOptions = {}): Promise<RestoreResult> {
    return this.run({ kind: 'latest' }, opts);
  }

  /** The end of a given archive: its id, or the path of an archive file (adopted into the archive directory, copies/id-lookup.ts). */
  from(archiveId: string, opts: RestoreCallOptions = {}): Promise<RestoreResult> {
    return this.run({ kind: 'archive', archiveId }, opts);
  }

  /** The state at T: every WAL line with timestamp <= T. */
  toTimestamp(ts: number | string, opts: RestoreCallOptions = {}): Promise<RestoreResult> {
    return this.run({ kind: 'timestamp', timestamp: parseTimestamp(ts) }, opts);
  }

  /** A restore into another directory with a new instance id (a dry run's is null: the real run draws its own); the source is untouched. `clonedTo`: the design note's name for the copy's directory. */
  async clone(opts: { archiveId?: string; timestamp?: number | string; targetDir: string; newInstanceId?: string } & Omit<RestoreCallOptions, 'targetDir'>): Promise<RestoreResult & { clonedTo: string }> {
    assertRestoreCallOptions(opts, true, 'clone');
    if (realPath(opts.targetDir) === realPath(this.ctx.dataDir)) {
      throw new BriError(ErrorCodes.USAGE, 'a clone needs a target other than the data directory', { hint: 'Pass targetDir (--target) for the copy.' });
    }
    const target: RestoreTarget = opts.archiveId ? { kind: 'archive', archiveId: opts.archiveId } : opts.timestamp !== undefined ? { kind: 'timestamp', timestamp: parseTimestamp(opts.timestamp) } : { kind: 'latest' };
    return this.run(target, opts, opts.newInstanceId !== undefined ? assertInstanceId(opts.newInstanceId, 'new instance id') : randomUUID()).then((r) => ({ ...r, ...(r.dryRun && opts.newInstanceId === undefined ? { instanceId: null } : {}), clonedTo: r.targetDir }));
  }

  /** The identity given, else the configuration's file, else $BRI_AGE_IDENTITY / $BRI_AGE_PASSPHRASE (null: none). */
  private identity(given: string | AgeIdentity | undefined): Promise<AgeIdentity | null> {
    return resolveIdentity(given, this.ctx.identityFile);
  }

  /**
   * Verifies the first good-looking copy of an archive (local, else downloaded from a remote). An archive
   * encrypted with age is verified as stored without an identity (checksums, sizes, PAR2); with one
   * (`identity`, or the defaults of a restore), its contents too: the age authentication, the chain, the counts.
   */
  async verify(archiveId: string, opts: { source?: string } & VerifyIdentityOptions = {}): Promise<VerifyReport> {
    const keys = async () => {
      const age = await verifyIdentity(opts, this.ctx.identityFile);
      return { ...(this.ctx.key ? { key: this.ctx.key } : {}), ...(age ? { age } : {}), ...(opts.deep ? { deep: true } : {}) };
    };
    // An archive file is verified as it is, on its own (nothing is adopted: a verify changes nothing).
    if (namesArchiveFile(archiveId)) return verifyArchive(await archiveFileInput(path.resolve(archiveId)), { ...(await keys()), name: archiveId });
    assertArchiveId(archiveId);
    const listing = await this.listing(opts.source);
    await this.assertReadable(archiveId, listing, opts.source);
    const a = listing.archives.find((x) => x.manifest.archiveId === archiveId);
    if (!a) throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${archiveId}`, { hint: '`bri restore list` shows the archives there are.' });
    const key = await keys();
    if (a.file && this.order(opts.source).includes(LOCAL_SOURCE)) return verifyArchive(a.file, { ...key, neighbours: listing.archives });
    return verifyRemoteCopy(a, this.fetchOptions(opts.source, this.ctx.archiveDir), { ...key, neighbours: listing.archives });
  }

  /** How a good copy is fetched from `source` (or every source in order), scratch files in `workDir`. */
  private fetchOptions(source: string | undefined, workDir: string, onProblem?: (p: SourceProblem) => void): FetchOptions {
    const { key, repair, archiveDir } = this.ctx;
    return { sources: this.sources, archiveDir, order: this.order(source), workDir, ...(key ? { key } : {}), ...(repair ? { repair } : {}), ...(onProblem ? { onProblem } : {}) };
  }

  /** Questions about the past answered from the archives and the shipped WAL, without a restore (timetravel/). */
  private timeTravel(): TimeTravel {
    return new TimeTravel({
      // Passed-over sources are told by the query (with the copy repaired or used instead).
      goodCopy: (archive, source) => fetchGoodCopy(archive, { ...this.fetchOptions(source, this.ctx.archiveDir), verify: true, pin: true }),
      archives: async (source) => (await this.listing(source)).archives,
      plan: (target, instanceId, source) => this.planned(target, { ...(instanceId ? { instanceId } : {}), ...(source ? { source } : {}) }, true),
      shipped: (p, age) => this.shippedInput(p, age),
      sources: this.sources,
      order: (source) => this.order(source),
      ...(this.ctx.key ? { key: this.ctx.key } : {}),
      identity: (given) => this.identity(given),
      tail: () => dataDirTail(this.ctx.dataDir),
      seed: (instanceId, line) => startSeed(this.ctx.archiveDir, this.ctx.dataDir, instanceId, line, this.ctx.key),
    });
  }

  /** The changes to one document, oldest first (absolute line, time, action, value after), following renames both ways. */
  history(key: string, opts: TimeTravelOptions & { from?: number | string; to?: number | string } = {}): Promise<HistoryAnswer> {
    return this.timeTravel().history(key, opts);
  }

  /** The document `key` as it was at `at`, or that it did not exist. */
  read(key: string, opts: TimeTravelOptions & { at: number | string }): Promise<ReadAnswer> {
    return this.timeTravel().read(key, opts);
  }

  /** Documents added, changed and removed, and set members added and removed, between `at` and `to` (default: the newest restorable moment). */
  diff(opts: TimeTravelOptions & { at: number | string; to?: number | string }): Promise<DiffAnswer> {
    return this.timeTravel().diff(opts);
  }

  /**
   * Writes the values `keys` (or every name under `prefix`) had at `at` back into the live database
   * (the open one, or `live`), as new writes; documents absent at `at` are deleted. `dryRun` lists
   * each key with its value now and at `at`, and writes nothing.
   */
  rollback(target: RollbackTarget, opts: TimeTravelOptions & { at: number | string; dryRun?: boolean; live?: LiveStore }): Promise<RollbackResult> {
    const live = opts.live ?? this.ctx.live;
    if (!live) return Promise.reject(new BriError(ErrorCodes.USAGE, 'a rollback writes into an open database', { hint: 'Use db.restore.rollback on the open database, or `bri restore keys` on a stopped one.' }));
    return rollbackKeys(this.timeTravel(), live, target, opts);
  }

  /** Releases the remotes' clients (when this API made them). */
  async close(): Promise<void> {
    if (!this.ctx.sources) await this.sources.close();
  }
}

// Every public operation answers a failed system call as a typed IO_ERROR with a hint (a full disk, a permission, a missing folder).
withTypedIoErrors(RestoreApi.prototype, ['list', 'findForTimestamp', 'plan', 'fromLatest', 'from', 'toTimestamp', 'clone', 'verify', 'history', 'read', 'diff', 'rollback'], 'restore');
withCheckedArguments(RestoreApi.prototype, { list: ['options?'], findForTimestamp: ['any', 'id?'], plan: ['options', 'id?', 'id?'], fromLatest: ['options?'], from: ['id', 'options?'], toTimestamp: ['any', 'options?'], clone: ['options'], verify: ['id', 'options?'], history: ['key', 'options?'], read: ['key', 'options'], diff: ['options'], rollback: ['any', 'options'] }, 'db.restore', RESTORE_OPTION_KEYS);

/** Restore for a data directory that is not open in this process (the CLI, or after db.close()). */
export function openRestore(opts: { dataDir: string; archiveDir?: string; encryptionKey?: string; key?: EncryptionKey; repair?: ArchiveRepairer; config?: ArchiveConfig; sources?: ArchiveSources }): RestoreApi {
  const key = openRestoreKey(opts);
  const dataDir = path.resolve(opts.dataDir);
  const config = parseArchiveConfig(opts.config);
  return new RestoreApi({
    dataDir,
    archiveDir: (opts.archiveDir ?? config.localDir) !== undefined ? path.resolve((opts.archiveDir ?? config.localDir)!) : archiveDirFor(dataDir, {}),
    ...(key ? { key } : {}),
    repair: opts.repair ?? par2Repairer,
    sources: opts.sources ?? new ArchiveSources(config.remotes, config.restoreSources),
    ...(config.restoreHooks ? { hooks: config.restoreHooks } : {}),
    ...(config.encryption?.identityFile ? { identityFile: config.encryption.identityFile } : {}),
  });
}
