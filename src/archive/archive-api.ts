/**
 * `db.archive`: create (and upload to every configured remote), list (every
 * source, merged by id), get, stats, delete, download, verify, repair,
 * inspect, upload.
 */
import { EventEmitter } from 'node:events';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, withTypedIoErrors } from '../errors.js';
import { ARCHIVE_EXTENSION, archiveFileName, assertArchiveId } from './package/ids.js';
import type { Manifest } from '../format/manifest.js';
import { catalogStats, listLocalArchives, type CatalogStats } from './copies/local-catalog.js';
import { parseArchiveConfig, type ArchiveConfig, type ParsedArchiveConfig } from './config.js';
import { readAllCopyRecords, readCopyRecord, type CopyRecord } from './copies/records.js';
import { readArchiveState } from '../store/archive-state.js';
import { checkCreateOptions, createArchive, type RecoveryWriter, type Retention } from './create/create.js';
import { DEFAULT_ZSTD_LEVEL } from './package/compress.js';
import type { SourceProblem } from './copies/fetch.js';
import { downloadTo, removeCopy, verifyRemoteCopy, type DeletedCopies, type DownloadedArchive } from './copies/copy-ops.js';
export type { DeletedCopies, DownloadedArchive } from './copies/copy-ops.js';
import { readManifest } from './package/reader.js';
import type { ProgressListener } from './package/progress.js';
import { applyLifecycles, uploadArchives, uploadEvents, uploadPending, type CopyStatus, type ReplicationEvent } from './copies/upload.js';
import { par2Repairer } from './package/repairer.js';
import { listSources, type CatalogArchive, type ManifestCache, type MergedListing } from './copies/catalog.js';
import { archiveObjectKey, ArchiveSources, LOCAL_SOURCE } from './copies/sources.js';
import { sameCopyAs } from './copies/identity.js';
import { assertRegularFileInput } from './package/input-file.js';
import { archiveDirFor, checkLocations } from './copies/locations.js';
import { verifyArchive, type VerifyReport } from './package/verify.js';
import { thawArchives, type ThawStatus } from './copies/thaw.js';
import type { ThawOptions } from '../remote/remote.js';
import { cleanupArchivedWal, isNothingToArchive, reported, type ArchiveRunResult, type CleanupReport, type RunReason } from './jobs/archive-job.js';
import type { CleanupStep } from '../store/wal-cleanup.js';
import type { ProgressEvent } from './package/progress.js';
import type { ReplicationEvent as UploadEvent } from './copies/upload.js';
import type { ShippingEvent } from './shipping/shipper.js';
import { hasPolicy, policyFromConfig, prune, type PruneReport } from './jobs/prune.js';
import { ArchiveScheduler, type SchedulerOptions, type WalGrowth } from './jobs/scheduler.js';
import type { Clock } from './jobs/scheduler.js';
import type { WalShipping } from './shipping/shipping.js';
import type { ShippingStatus } from './shipping/shipper.js';
import type { ShippingReport } from './shipping/report.js';
import { ShippingControl } from './shipping/shipping-control.js';
import { DEFAULT_REDUNDANCY, par2RecoveryWriter, repairArchive, type RepairResult } from './package/recovery.js';

export type { ArchiveConfig } from './config.js';
import type { ArchiveHost } from './archive-host.js';
export { offlineHost, type ArchiveHost } from './archive-host.js';

export { archiveDirFor, DEFAULT_ARCHIVE_SUBDIR } from './copies/locations.js';

export interface CreateOptions {
  /** Why this run (events, hooks); 'manual' by default. */
  reason?: RunReason;
  name?: string;
  retention?: Retention;
  level?: number;
  onProgress?: ProgressListener;
  /** Upload events (start, done or failed, per remote). */
  onUpload?: (e: ReplicationEvent) => void;
}

/** A created archive and what became of its copies on the remotes, the WAL and retention. */
export type CreatedAndStored = ArchiveRunResult;

/** PAR2 support is plugged in by the layer that has it (see recovery-writer). */
export type RecoveryFactory = (redundancy: number) => RecoveryWriter;

/** An archive file a caller names: a regular file that exists (ARCHIVE_NOT_FOUND, or USAGE for /dev/zero, a FIFO, a directory). */
async function archiveFileInput(file: string): Promise<string> {
  assertRegularFileInput(file, 'the archive file');
  if (!(await fsp.stat(file).catch(() => null))) {
    throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `there is no archive file ${file}`, { hint: '`bri archive list` shows the archives there are; a path names a file.', details: { file } });
  }
  return file;
}

function notFound(id: string, where: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${id} in ${where}`, {
    hint: '`bri archive list` shows the archives there are, and where each copy is.',
    details: { archiveId: id },
  });
}

/** The events `db.archive` emits (an EventEmitter): one run's life, and its steps. */
export interface ArchiveEvents {
  started: [{ reason: RunReason }];
  progress: [ProgressEvent];
  upload: [UploadEvent];
  cleanup: [{ step: CleanupStep; item?: string }];
  finished: [ArchiveRunResult];
  /** Nothing new to archive: not a failure. */
  skipped: [{ reason: RunReason; error: BriError }];
  failed: [{ reason: RunReason; error: unknown }];
  /** Continuous shipping: a shipment made or a remote that failed (retried with backoff). */
  shipping: [ShippingEvent];
}

export class ArchiveApi extends EventEmitter<ArchiveEvents> {
  readonly archiveDir: string;
  readonly config: ParsedArchiveConfig;
  readonly sources: ArchiveSources;
  private running: Promise<unknown> = Promise.resolve();
  private readonly manifests: ManifestCache = new Map();
  private readonly lifecycles = new Set<string>();
  private readonly shippingCtl: ShippingControl;

  constructor(
    private readonly host: ArchiveHost,
    config: ArchiveConfig = {},
    private readonly recoveryFactory: RecoveryFactory = par2RecoveryWriter,
    sources?: ArchiveSources,
  ) {
    super();
    this.config = parseArchiveConfig(config);
    this.sources = sources ?? new ArchiveSources(this.config.remotes, this.config.restoreSources);
    this.archiveDir = archiveDirFor(host.dataDir, this.config);
    checkLocations({ dataDir: host.dataDir, archiveDir: this.archiveDir, remotes: this.sources.places() });
    this.shippingCtl = new ShippingControl({
      dataDir: host.dataDir,
      archiveDir: this.archiveDir,
      sources: this.sources,
      continuous: this.config.continuous,
      ...(host.key ? { key: host.key } : {}),
      onEvent: (e) => this.emit('shipping', e),
    });
  }

  /** An archive id (validated) in the archive directory, or a path to a file. */
  fileFor(idOrFile: string): string {
    return idOrFile.includes('/') || idOrFile.endsWith(ARCHIVE_EXTENSION) ? path.resolve(idOrFile) : path.join(this.archiveDir, archiveFileName(idOrFile));
  }

  /** Sources named by `--source` (a name or a provider), else every one in priority order. */
  private order(source?: string): string[] {
    return source === undefined ? this.sources.order : this.sources.select(source);
  }

  /**
   * The archive job: creates an archive, uploads it to every remote (and any earlier archive a
   * remote has no confirmed copy of), removes the WAL it made safe (cleanupWal) and prunes what
   * the retention policy lets go. One run at a time in this process; others wait their turn.
   * A failed upload, cleanup or prune does not fail the run: the archive is durable locally,
   * the result says what failed, and the next run tries again.
   */
  create(opts: CreateOptions = {}): Promise<CreatedAndStored> {
    const reason = opts.reason ?? 'manual';
    try {
      // Bad options are the caller's error, said before any hook runs or anything is sealed.
      checkCreateOptions({ ...opts, level: opts.level ?? this.config.compression?.level ?? DEFAULT_ZSTD_LEVEL });
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.running.then(async () => {
      this.emit('started', { reason });
      try {
        await this.config.hooks?.beforeArchive?.({ reason });
        const onProgress = (e: Parameters<ProgressListener>[0]) => {
          opts.onProgress?.(e);
          this.emit('progress', e);
        };
        const created = await this.host
          .exclusive(() => {
            const ec = this.config.errorCorrection;
            const redundancy = ec?.redundancy ?? DEFAULT_REDUNDANCY;
            const recovery = (ec?.enabled ?? true) && redundancy > 0 ? this.recoveryFactory(redundancy) : undefined;
            return createArchive({
              dataDir: this.host.dataDir,
              archiveDir: this.archiveDir,
              seal: this.host.seal,
              ...(this.host.key ? { key: this.host.key } : {}),
              ...(opts.name !== undefined ? { name: opts.name } : {}),
              ...(opts.retention !== undefined ? { retention: opts.retention } : {}),
              level: opts.level ?? this.config.compression?.level ?? DEFAULT_ZSTD_LEVEL,
              workers: this.config.compression?.workers ?? 2,
              ...(recovery ? { recovery } : {}),
              onProgress,
              ...(this.sources.remotes.length ? { fetchRemovedLines: (after: number, through: number, pointer: string, file: string) => this.shippingCtl.fetchRemovedLines(after, through, pointer, file) } : {}),
              knownArchives: async () => (await this.scan()).archives.map((a) => a.manifest),
            });
          })
          .catch(async (err: unknown) => {
            // Nothing new to archive: what an earlier run left undone (an upload, the cleanup) is still done.
            if (isNothingToArchive(err)) await this.afterSteps(opts).catch(() => undefined);
            throw err;
          });
        const result: ArchiveRunResult = { ...created, reason, ...(await this.afterSteps(opts)), hookErrors: [] };
        try {
          await this.config.hooks?.afterArchive?.(result);
        } catch (err) {
          // The archive is made and stored: a failing afterArchive is reported, it does not undo the run.
          result.hookErrors.push(`afterArchive: ${(err as Error).message}`);
          await Promise.resolve(this.config.hooks?.onError?.(err)).catch(() => undefined);
        }
        this.emit('finished', result);
        return result;
      } catch (err) {
        if (isNothingToArchive(err)) this.emit('skipped', { reason, error: err });
        else {
          this.emit('failed', { reason, error: err });
          await Promise.resolve(this.config.hooks?.onError?.(err)).catch(() => undefined);
        }
        throw err;
      } finally {
        this.host.releaseSeal?.();
      }
    });
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Uploads what a remote lacks, removes the WAL that is now safe, prunes: each step reported, none undoes the archive. */
  private async afterSteps(opts: CreateOptions): Promise<Pick<ArchiveRunResult, 'uploads' | 'cleanup' | 'prune'>> {
    const onUpload = uploadEvents(
      (e) => {
        opts.onUpload?.(e);
        this.emit('upload', e);
      },
      (p) => {
        opts.onProgress?.(p);
        this.emit('progress', p);
      },
    )!;
    if (this.sources.remotes.length) await applyLifecycles(this.sources, this.lifecycles, onUpload);
    const uploads = this.sources.remotes.length ? await uploadPending(await listLocalArchives(this.archiveDir), this.sources, this.archiveDir, { onEvent: onUpload }) : [];
    const out: Pick<ArchiveRunResult, 'uploads' | 'cleanup' | 'prune'> = { uploads };
    await this.shippingCtl.absorb();
    if (this.config.cleanupWal) out.cleanup = await reported(() => this.cleanupNow());
    const policy = policyFromConfig(this.config, this.sources);
    if (hasPolicy(policy)) out.prune = await reported(() => this.pruneNow({}));
    return out;
  }

  /** Runs `fn` after every run queued before it (creates, cleanups, prunes never interleave). */
  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.running.then(fn);
    this.running = run.catch(() => undefined);
    return run;
  }

  private cleanupNow(): Promise<CleanupReport> {
    return this.host.exclusive(() =>
      cleanupArchivedWal({
        dataDir: this.host.dataDir,
        archiveDir: this.archiveDir,
        shippedEverywhere: () => this.shippingCtl.shippedEverywhere(),
        storedEverywhere: (id) => this.isStoredEverywhere(id),
        remove: this.host.removeSegments,
        onStep: (step, item) => this.emit('cleanup', { step, ...(item !== undefined ? { item } : {}) }),
      }),
    );
  }

  /**
   * Removes the WAL segments whose every line is in an archive that is durable locally and
   * confirmed on every remote (what `cleanupWal: true` does after each archive).
   */
  cleanupWal(): Promise<CleanupReport> {
    return this.queued(() => this.cleanupNow());
  }

  private async pruneNow(opts: { dryRun?: boolean; now?: Date }): Promise<PruneReport> {
    const listing = await this.scan();
    return prune(listing, policyFromConfig(this.config, this.sources), this.sources, this.archiveDir, opts);
  }

  /** Applies the retention policy (keepLocal, retentionDays, each remote's retentionDays); `dryRun` only reports. */
  prune(opts: { dryRun?: boolean; now?: Date } = {}): Promise<PruneReport> {
    return this.queued(() => this.pruneNow(opts));
  }

  private scheduler: ArchiveScheduler | null = null;
  /** Starts continuous shipping to every remote (createDB does, when `continuous.enabled`); `endLine`: the absolute last line. */
  async startShipping(growth: WalGrowth, endLine: () => Promise<number>, clock?: Clock): Promise<WalShipping | null> {
    const shipping = await this.shippingCtl.start(growth, endLine, clock);
    // Shipping continues an archive (or line 0 of a WAL complete from line 1): without one, nothing
    // would be shipped until the first scheduled archive. One is made now, so the loss window is the
    // same from the first day. Its failure is reported like any run's ('failed', onError) and retried by the triggers.
    if (shipping && (await this.shippingCtl.waitsForArchive())) void this.create({ reason: 'first-archive' }).catch(() => undefined);
    return shipping;
  }

  /** Per remote: what is shipped, the lag in lines and seconds, the last error. Empty without continuous shipping. */
  shippingStatus(): ShippingStatus[] {
    return this.shippingCtl.status();
  }

  /** The shipping status as Prometheus text (gauges per remote: lag in lines and seconds, shipments, failures). */
  metrics(): string {
    return this.shippingCtl.metrics();
  }

  /** How far each remote's shipped WAL reaches against the data directory, from the remotes (a stopped database too). */
  shippingReport(): Promise<ShippingReport[]> {
    return this.shippingCtl.report();
  }

  /** Ships everything written so far, now. */
  flushShipping(): Promise<void> {
    return this.shippingCtl.flush();
  }

  /** Stops shipping after a last shipment of what is written (close() does). */
  stopShipping(): Promise<void> {
    return this.shippingCtl.stop();
  }

  /** Starts the configured triggers (createDB does, when `enabled` is not false). */
  startTriggers(growth?: WalGrowth, opts: SchedulerOptions = {}): ArchiveScheduler | null {
    if (this.config.enabled === false || this.scheduler) return this.scheduler;
    const s = new ArchiveScheduler(
      this.config.triggers ?? {},
      async (reason) => {
        try {
          await this.create({ reason });
        } catch (err) {
          // Nothing to archive is a quiet success; anything else was emitted as 'failed' and is retried.
          if (!isNothingToArchive(err)) throw err;
        }
      },
      growth,
      opts,
    );
    if (!s.hasTriggers) return null;
    this.scheduler = s;
    s.start();
    return s;
  }

  /** Stops the triggers and waits for a run in progress to end. */
  async stopTriggers(): Promise<void> {
    const s = this.scheduler;
    this.scheduler = null;
    await s?.stop();
  }

  /** Uploads what a remote has no confirmed copy of (one archive, or all), to every remote or the one named. */
  upload(opts: { archiveId?: string; source?: string; onUpload?: (e: ReplicationEvent) => void; onProgress?: ProgressListener } = {}): Promise<CopyStatus[]> {
    return this.queued(() => {
      const onEvent = uploadEvents(opts.onUpload, opts.onProgress);
      return uploadArchives(this.archiveDir, this.sources, {
        ...(opts.archiveId !== undefined ? { archiveId: opts.archiveId } : {}),
        ...(opts.source !== undefined ? { only: this.sources.select(opts.source).filter((n) => n !== LOCAL_SOURCE) } : {}),
        ...(onEvent ? { onEvent } : {}),
      });
    });
  }

  /** Every source (for listings), or the ones `--source` names. */
  private listed(source?: string): string[] {
    return this.sources.selectOrAll(source);
  }

  /** Every archive of every source (or of `source`), merged by id, oldest first. */
  async list(opts: { source?: string } = {}): Promise<CatalogArchive[]> {
    return (await this.scan(opts)).archives;
  }

  /** The listing, with the copies whose manifest cannot be read and the sources that could not be reached. */
  scan(opts: { source?: string } = {}): Promise<MergedListing> {
    return listSources(this.archiveDir, this.sources, { only: this.listed(opts.source), cache: this.manifests, dataDir: this.host.dataDir });
  }

  async get(id: string, opts: { source?: string } = {}): Promise<CatalogArchive> {
    assertArchiveId(id);
    const found = (await this.list(opts)).find((a) => a.manifest.archiveId === id);
    if (!found) throw notFound(id, opts.source ?? 'any source');
    return found;
  }

  /** Counts, sizes, covered lines and gaps, with the copies that could not be read and the sources that could not be listed (the figures leave them out). */
  async stats(opts: { source?: string } = {}): Promise<CatalogStats & Pick<MergedListing, 'unreadable' | 'unreachable'>> {
    const listing = await this.scan(opts);
    return { ...catalogStats(listing.archives), unreadable: listing.unreadable, unreachable: listing.unreachable };
  }

  /** The confirmed remote copies recorded for an archive. */
  async copies(id: string): Promise<CopyRecord[]> {
    return (await readAllCopyRecords(this.archiveDir)).get(assertArchiveId(id)) ?? [];
  }

  /**
   * True when the archive is durable in the local directory and confirmed (size and
   * checksum) on every configured remote: only then may the WAL it holds leave the data directory.
   */
  async isStoredEverywhere(id: string): Promise<boolean> {
    const file = path.join(this.archiveDir, archiveFileName(id));
    const st = await fsp.stat(file).catch(() => null);
    if (!st?.isFile()) return false;
    for (const r of this.sources.remotes) {
      const rec = await readCopyRecord(this.archiveDir, id, r.name);
      if (!rec || rec.size !== st.size) return false;
      // A record says a copy was confirmed; only a copy at another location counts.
      if ((await sameCopyAs(r, archiveObjectKey(id), file, this.sources)) !== null) return false;
    }
    return true;
  }

  /** Deletes an archive's copy on one source (a name or a provider), or every copy when `source` is absent. */
  async delete(id: string, opts: { source?: string; force?: boolean } = {}): Promise<DeletedCopies> {
    assertArchiveId(id);
    const names = this.sources.selectOrAll(opts.source);
    // Every source is listed, whatever --source says: what would remain decides whether this is the last copy.
    const entry = (await this.scan()).archives.find((a) => a.manifest.archiveId === id);
    const doomed = entry?.copies.filter((c) => names.includes(c.source)) ?? [];
    if (!entry || doomed.length === 0) throw notFound(id, opts.source ?? 'any source');
    if (!opts.force) await this.refuseLoss(entry, doomed);
    const deleted: DeletedCopies['deleted'] = [];
    for (const copy of doomed) {
      await removeCopy(copy, id, this.sources, this.archiveDir);
      deleted.push({ source: copy.source, location: copy.location });
    }
    return { archiveId: id, deleted };
  }

  /**
   * Deleting a permanent archive, or the last copy of lines wal/ no longer holds, loses what no
   * later step can give back: it takes `force`. (The last copy of lines still in wal/ may go:
   * the next archive holds them again.)
   */
  private async refuseLoss(entry: CatalogArchive, doomed: CatalogArchive['copies']): Promise<void> {
    const m = entry.manifest;
    if (m.permanent) {
      throw new BriError(ErrorCodes.USAGE, `archive ${m.archiveId} is permanent`, { hint: 'Pass --force (force: true) to delete it anyway.', details: { archiveId: m.archiveId } });
    }
    const gone = new Set(doomed.map((c) => c.identity ?? `${c.source}\n${c.location}`));
    const remaining = entry.copies.filter((c) => !doomed.includes(c) && !c.damaged && !gone.has(c.identity ?? `${c.source}\n${c.location}`));
    if (remaining.length > 0) return;
    const state = await readArchiveState(this.host.dataDir).catch(() => null);
    if (state?.instanceId === m.instanceId && m.timeRange.walLines.start >= state.removedLines) return;
    throw new BriError(ErrorCodes.USAGE, `this is the only copy of archive ${m.archiveId}, and lines ${m.timeRange.walLines.start + 1}..${m.timeRange.walLines.end} are no longer in the data directory's wal/: they would be lost`, {
      hint: 'Pass --force (force: true) to delete it anyway, or keep another copy first (`bri archive upload`).',
      details: { archiveId: m.archiveId },
    });
  }

  /**
   * A verified copy of an archive at `file`, from the first source in priority order that has
   * a good one (repaired with its PAR2 data if need be); sources passed over are in `skipped`.
   */
  async download(id: string, file: string, opts: { source?: string; verify?: boolean; onProblem?: (p: SourceProblem) => void; onProgress?: ProgressListener } = {}): Promise<DownloadedArchive> {
    assertArchiveId(id);
    // A directory as the target means "into it", under the archive's own name (as cp does).
    const named = path.resolve(file);
    const target = (await fsp.stat(named).catch(() => null))?.isDirectory() ? path.join(named, archiveFileName(id)) : named;
    const listing = await this.scan(opts.source !== undefined ? { source: opts.source } : {});
    const entry = listing.archives.find((a) => a.manifest.archiveId === id);
    if (!entry) throw notFound(id, opts.source ?? `any source${listing.unreachable.length ? ` (unreachable: ${listing.unreachable.map((u) => u.source).join(', ')})` : ''}`);
    return downloadTo(entry, target, {
      sources: this.sources,
      archiveDir: this.archiveDir,
      order: this.order(opts.source),
      workDir: path.dirname(target),
      ...(this.host.key ? { key: this.host.key } : {}),
      ...(opts.verify !== undefined ? { verify: opts.verify } : {}),
      repair: par2Repairer,
      unreachable: listing.unreachable,
      ...(opts.onProblem ? { onProblem: opts.onProblem } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }

  /** Verifies an archive by id (the local copy, else the first remote copy, downloaded) or by file path. */
  async verify(idOrFile: string, opts: { onProgress?: ProgressListener; source?: string } = {}): Promise<VerifyReport> {
    // A damaged manifest must not stop verification: resolve the file without reading it.
    const file = this.fileFor(idOrFile);
    const neighbours = await this.list().catch(() => []);
    const key = this.host.key ? { key: this.host.key } : {};
    const local = opts.source === undefined || opts.source === LOCAL_SOURCE ? await fsp.access(file).then(() => true, () => false) : false;
    if (local) assertRegularFileInput(file, 'the archive file');
    if (local) return verifyArchive(file, { ...key, neighbours, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    const entry = idOrFile.includes('/') || idOrFile.endsWith(ARCHIVE_EXTENSION) ? undefined : neighbours.find((a) => a.manifest.archiveId === idOrFile && a.copies.some((c) => c.source !== LOCAL_SOURCE && (opts.source === undefined || this.sources.select(opts.source).includes(c.source))));
    if (!entry) throw notFound(idOrFile, opts.source ?? 'any source');
    const fetch = { sources: this.sources, archiveDir: this.archiveDir, order: this.order(opts.source).filter((s) => s !== LOCAL_SOURCE), workDir: this.archiveDir };
    return verifyRemoteCopy(entry, fetch, { ...key, neighbours, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  }

  /**
   * Repairs a damaged archive with its PAR2 data: into `out` (default: beside it, `<id>.repaired.bri`),
   * or in place (through a temp file and a rename) with `inPlace`.
   */
  async repair(idOrFile: string, opts: { out?: string; inPlace?: boolean } = {}): Promise<RepairResult> {
    const file = await archiveFileInput(this.fileFor(idOrFile));
    const out = opts.inPlace ? file : path.resolve(opts.out ?? file.replace(/\.bri$/, '') + '.repaired.bri');
    return repairArchive(file, out);
  }

  /**
   * Asks the remotes to make an archive in an archive tier (S3 Glacier, Azure Archive) readable
   * again: one archive, or every archive on them with `all`. Hours on S3 Glacier standard;
   * `tier: 'expedited'` minutes, at a price. Each copy's status is reported; nothing is thrown for one copy.
   */
  thaw(opts: { archiveId?: string; all?: boolean; source?: string; days?: number; tier?: ThawOptions['tier']; onStatus?: (s: ThawStatus) => void }): Promise<ThawStatus[]> {
    if ((opts.archiveId === undefined) === (opts.all !== true)) {
      throw new BriError(ErrorCodes.USAGE, 'thaw takes an archive id or all, not both and not neither', { hint: 'Name the archive to restore from its archive tier, or pass all (every archive: each restore is billed).' });
    }
    if (opts.archiveId !== undefined) assertArchiveId(opts.archiveId);
    if (opts.days !== undefined && !(Number.isSafeInteger(opts.days) && opts.days >= 1 && opts.days <= 365_000)) {
      throw new BriError(ErrorCodes.USAGE, `thaw days ${opts.days} is not a whole number of days from 1 to 365000`, { hint: 'Give how many days the restored copy stays readable, e.g. 7.' });
    }
    return thawArchives(this.sources, this.listed(opts.source), opts.archiveId, {
      ...(opts.days !== undefined ? { days: opts.days } : {}),
      ...(opts.tier !== undefined ? { tier: opts.tier } : {}),
      ...(opts.onStatus ? { onStatus: opts.onStatus } : {}),
    });
  }

  /** The manifest of an archive file, read without unpacking the rest. */
  async inspect(file: string): Promise<Manifest> {
    return readManifest(await archiveFileInput(path.resolve(file)));
  }

  /** Resolves when every run queued so far has ended. */
  async idle(): Promise<void> {
    await this.running;
  }

  /** Stops the triggers (waiting for a run in progress), then releases the remotes' clients. */
  async close(): Promise<void> {
    await this.stopTriggers();
    await this.stopShipping();
    await this.running;
    await this.sources.close();
  }
}

// Every public operation answers a failed system call as a typed IO_ERROR with a hint (a full disk, a permission, a missing folder).
withTypedIoErrors(ArchiveApi.prototype, ['create', 'cleanupWal', 'prune', 'upload', 'list', 'scan', 'get', 'stats', 'delete', 'download', 'verify', 'repair', 'thaw', 'inspect', 'shippingReport', 'isStoredEverywhere', 'copies'], 'archive');
