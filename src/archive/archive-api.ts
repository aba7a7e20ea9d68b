/**
 * `db.archive`: the copies side (list, get, stats, upload, delete, download, verify, repair,
 * thaw, inspect: catalog-api.ts) and what runs archives: create and the job's steps (upload,
 * WAL cleanup, prune), the triggers and continuous shipping.
 */
import { assertKnownOptions, BriError, ErrorCodes, typedIoError } from '../errors.js';
import { readArchiveState } from '../store/archive-state.js';
import { startForeignBranchCheck, type LateForeignCheck } from './jobs/foreign-branch-check.js';
import type { ArchiveHost } from './archive-host.js';
import { ArchiveCatalogApi } from './catalog-api.js';
import { ageRecipientsOf, parseArchiveConfig, type ArchiveConfig } from './config.js';
import { checkArchiveApiCalls } from './api-arguments.js';
import { fetchGoodCopy } from './copies/fetch.js';
import { listLocalArchives } from './copies/local-catalog.js';
import { archiveDirFor, checkLocations } from './copies/locations.js';
import { assertArchiveDirOwner, instancesArchivedBy, recordArchiveDirOwner } from './copies/archive-dir-owner.js';
import { ArchiveSources } from './copies/sources.js';
import { acrossVia, uploadEvents, uploadPending, type ReplicationEvent } from './copies/upload.js';
import { applyLifecycles } from './jobs/lifecycles.js';
import { checkCreateOptions, createArchive, type RecoveryWriter, type Retention } from './create/create.js';
import { cleanupArchivedWal, isNothingToArchive, reported, RUN_REASONS, stepFailures, type ArchiveRunResult, type CleanupReport, type RunReason } from './jobs/archive-job.js';
import { hookFailureText, notAwaited, refuseInsideHook } from './jobs/function-hook.js';
import { guarded } from './jobs/caller-callbacks.js';
import { hasPolicy, policyFromConfig, prune, type PruneReport } from './jobs/prune.js';
import { ArchiveScheduler, assertManualAllowed, type Clock, type SchedulerOptions, type WalGrowth } from './jobs/scheduler.js';
import type { ProgressListener } from './package/progress.js';
import { par2RecoveryWriter } from './package/recovery.js';
import type { ShippingReport } from './shipping/report.js';
import type { ShippingStatus } from './shipping/shipper.js';
import { ShippingControl } from './shipping/shipping-control.js';
import { assertRecipients, type AgeIdentity, type AgeRecipients } from './crypto/age-keys.js';
import { resolveIdentity } from './crypto/verify-identity.js';
import { rekeyNeedsIdentity } from './crypto/errors.js';
import { rekeyCopies, type RekeyResult } from './rekey/rekey-copies.js';
import type { RestoreApi } from './restore-api.js';

/** The part of the restore API that db.archive answers history and read with. */
export type PastReader = Pick<RestoreApi, 'history' | 'read'>;
import type { WalShipping } from './shipping/shipping.js';

export type { ArchiveConfig } from './config.js';
export { offlineHost, type ArchiveHost } from './archive-host.js';
export { archiveDirFor, DEFAULT_ARCHIVE_SUBDIR } from './copies/locations.js';
export type { DeletedCopies, DownloadedArchive } from './copies/copy-ops.js';
export type { ArchiveEvents } from './catalog-api.js';

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

export class ArchiveApi extends ArchiveCatalogApi {
  private readonly lifecycles = new Set<string>();
  private readonly shippingCtl: ShippingControl;

  constructor(
    host: ArchiveHost,
    config: ArchiveConfig = {},
    private readonly recoveryFactory: RecoveryFactory = par2RecoveryWriter,
    sources?: ArchiveSources,
  ) {
    const parsed = parseArchiveConfig(config);
    const archiveDir = archiveDirFor(host.dataDir, parsed);
    super(host, parsed, sources ?? new ArchiveSources(parsed.remotes, parsed.restoreSources), archiveDir);
    checkLocations({ dataDir: host.dataDir, archiveDir: this.archiveDir, remotes: this.sources.places() });
    this.shippingCtl = new ShippingControl({
      dataDir: host.dataDir,
      archiveDir: this.archiveDir,
      sources: this.sources,
      continuous: this.config.continuous,
      ...(host.key ? { key: host.key } : {}),
      ...(this.config.encryption ? { encryptTo: ageRecipientsOf(this.config.encryption) } : {}),
      ...(this.config.encryption?.identityFile ? { identityFile: this.config.encryption.identityFile } : {}),
      // Shipping goes on without waiting for onError: from it, db.close() waits for nothing that waits for the hook.
      onEvent: (e) => this.emit('shipping', e), onFailing: (err) => void notAwaited(() => this.tellOnError(err)),
      archiveWanted: { create: () => this.create({ reason: 'first-archive' }), upload: () => this.upload({ onUpload: (e) => this.emit('upload', e) }) },
    });
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
      refuseInsideHook('db.archive.create');
      assertKnownOptions(opts, ['reason', 'name', 'retention', 'level', 'onProgress', 'onUpload'], 'create');
      if (!RUN_REASONS.includes(reason)) throw new BriError(ErrorCodes.USAGE, `create: reason ${JSON.stringify(reason)} is not one of ${RUN_REASONS.join(', ')}`, { hint: "Leave reason out (it is 'manual')." });
      checkCreateOptions({ ...opts, level: opts.level ?? this.config.compression.level });
      if (reason === 'manual') assertManualAllowed(this.config.triggers);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.running.then(async () => {
      this.emit('started', { reason });
      try {
        await this.config.hooks?.beforeArchive?.({ reason });
        const onProgress = (e: Parameters<ProgressListener>[0]) => {
          guarded(opts.onProgress, e);
          this.emit('progress', e);
        };
        // Another directory archiving this instance to a shared remote is said before this one adds a branch there.
        let lateForeign: LateForeignCheck | undefined;
        const created = await this.host
          .exclusive(async () => {
            lateForeign = await startForeignBranchCheck(this.sources, this.archiveDir, await readArchiveState(this.host.dataDir));
            await assertArchiveDirOwner(this.archiveDir, this.host.dataDir, (await readArchiveState(this.host.dataDir))?.instanceId ?? '');
            const ec = this.config.errorCorrection;
            const recovery = ec.enabled ? this.recoveryFactory(ec.redundancy) : undefined;
            const made = await createArchive({
              dataDir: this.host.dataDir,
              archiveDir: this.archiveDir,
              seal: this.scheduler?.watchSeal(this.host.seal) ?? this.host.seal,
              ...(this.host.key ? { key: this.host.key } : {}),
              ...(opts.name !== undefined ? { name: opts.name } : {}),
              ...(opts.retention !== undefined ? { retention: opts.retention } : {}),
              level: opts.level ?? this.config.compression.level,
              workers: this.config.compression.workers,
              ...(recovery ? { recovery } : {}),
              onProgress,
              ...(this.sources.remotes.length ? { fetchRemovedLines: (after: number, through: number, pointer: string, file: string) => this.shippingCtl.fetchRemovedLines(after, through, pointer, file) } : {}),
              knownArchives: async () => (await this.scan()).archives.map((a) => a.manifest),
              fetchArchive: (id, workDir) => this.fetchForReplay(id, workDir),
              ...(this.config.encryption ? { encryptTo: ageRecipientsOf(this.config.encryption) } : {}),
              // What opens the previous archives when the encryption setting changed since them (else the environment's).
              ...(this.config.encryption?.identityFile ? { identity: this.config.encryption.identityFile } : {}),
            });
            await recordArchiveDirOwner(this.archiveDir, this.host.dataDir, made.manifest.instanceId);
            return made;
          })
          .catch(async (err: unknown) => {
            // Nothing new to archive: what an earlier run left undone (an upload, the cleanup) is still done, and
            // what it did is told with the error (details.afterSteps), a failed upload as much as a made one.
            if (isNothingToArchive(err)) {
              await lateForeign?.();
              const steps = await this.afterSteps(opts).catch(() => null);
              if (steps && (steps.uploads.length > 0 || steps.cleanup || steps.prune)) err.details.afterSteps = steps;
            }
            throw err;
          });
        await lateForeign?.(created);
        const result: ArchiveRunResult = { ...created, reason, ...(await this.afterSteps(opts)), hookErrors: [] };
        try {
          await this.config.hooks?.afterArchive?.(result);
        } catch (err) {
          // The archive is made and stored: a failing afterArchive is reported, it does not undo the run.
          result.hookErrors.push(`afterArchive: ${hookFailureText(err)}`);
          await this.tellOnError(err);
        }
        this.emit('finished', result);
        return result;
      } catch (thrown) {
        // Listeners and hooks get the error the caller gets: a failed system call is a typed IO_ERROR for them too.
        const err = typedIoError(thrown, 'archive create');
        if (isNothingToArchive(err)) this.emit('skipped', { reason, error: err });
        else {
          this.emit('failed', { reason, error: err });
          await this.tellOnError(err);
        }
        throw err;
      } finally {
        this.host.releaseSeal?.();
      }
    });
    this.running = run.catch(() => undefined);
    // Growth triggers count from the seal of the last archive made, by hand or not.
    this.scheduler?.follow(run);
    return run;
  }

  /** The onError hook, whose own failure changes nothing (the run's outcome stands). */
  private async tellOnError(err: unknown): Promise<void> {
    await Promise.resolve().then(() => this.config.hooks?.onError?.(err)).catch(() => undefined);
  }

  /** Uploads what a remote lacks, removes the WAL that is now safe, prunes: each step reported, none undoes the archive. */
  private async afterSteps(opts: CreateOptions): Promise<Pick<ArchiveRunResult, 'uploads' | 'cleanup' | 'prune'>> {
    const onUpload = uploadEvents(
      (e) => {
        guarded(opts.onUpload, e);
        this.emit('upload', e);
      },
      (p) => {
        guarded(opts.onProgress, p);
        this.emit('progress', p);
      },
    )!;
    if (this.sources.remotes.length) await applyLifecycles(this.sources, this.lifecycles, onUpload);
    // Each step that changes the archives holds the directory's lock, as the create did (the CLI's lock is per step).
    const uploads = this.sources.remotes.length ? await this.host.exclusive(async () => uploadPending(await listLocalArchives(this.archiveDir), this.sources, this.archiveDir, { onEvent: onUpload }, acrossVia(() => this.scan(), this.host.key))) : [];
    const out: Pick<ArchiveRunResult, 'uploads' | 'cleanup' | 'prune'> = { uploads };
    await this.shippingCtl.absorb();
    if (this.config.cleanupWal) out.cleanup = await reported(() => this.cleanupNow());
    const policy = policyFromConfig(this.config, this.sources);
    // An archive's own retention date (create --retention) expires it with no policy configured, as `bri archive prune` does.
    if (hasPolicy(policy) || (await listLocalArchives(this.archiveDir)).some((a) => a.manifest.retentionUntil !== null)) out.prune = await reported(() => this.host.exclusive(() => this.pruneNow({})));
    // A failed upload is a failure to alert on (the archive stands): onError hears of it as of any other.
    for (const err of stepFailures(out)) await this.tellOnError(err);
    return out;
  }

  private cleanupNow(): Promise<CleanupReport> {
    return this.host.exclusive(() =>
      cleanupArchivedWal({
        dataDir: this.host.dataDir,
        archiveDir: this.archiveDir,
        shippedEverywhere: () => this.shippingCtl.shippedEverywhere(),
        notStoredEverywhere: (id) => this.notStoredEverywhere(id),
        knownArchives: async () => (await this.scan()).archives.map((a) => a.manifest),
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
    const ownInstance = (await readArchiveState(this.host.dataDir))?.instanceId;
    const lineage = await instancesArchivedBy(this.archiveDir, this.host.dataDir);
    return prune(listing, policyFromConfig(this.config, this.sources), this.sources, this.archiveDir, { ...opts, lineage, ...(ownInstance ? { ownInstance } : {}) });
  }

  /** Applies the retention policy (keepLocal, retentionDays, each remote's retentionDays); `dryRun` only reports. */
  prune(opts: { dryRun?: boolean; now?: Date } = {}): Promise<PruneReport> {
    try {
      assertKnownOptions(opts, ['dryRun', 'now'], 'prune');
    } catch (err) {
      return Promise.reject(err);
    }
    // A dry run only reads; a prune decides on a listing that a create (or a delete) must not change meanwhile.
    return opts.dryRun ? this.queued(() => this.pruneNow(opts)) : this.changing(() => this.pruneNow(opts));
  }

  /**
   * Rotates the age recipients of every archive encrypted with age (or `archiveId`'s, or the copies on
   * `source`), of every encrypted shipment and sealed seed: new headers for `recipients` (or a
   * passphrase), unwrapped with `identity` (default: the configuration's identityFile, else
   * $BRI_AGE_IDENTITY); payloads are not re-encrypted, PAR2 is written again. Set
   * archive.encryption.recipients to the new ones afterwards, so that new archives follow.
   */
  rekey(opts: { recipients?: string[]; passphrase?: string; identity?: string | AgeIdentity; archiveId?: string; source?: string }): Promise<RekeyResult> {
    return this.changing(async () => {
      const to: AgeRecipients = { recipients: opts.recipients ?? [], ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}) };
      assertRecipients(to);
      const identity = await resolveIdentity(opts.identity, this.config.encryption?.identityFile);
      if (identity === null) throw rekeyNeedsIdentity();
      const listing = await this.scan(opts.source !== undefined ? { source: opts.source } : {});
      const ec = this.config.errorCorrection;
      return rekeyCopies(
        {
          archiveDir: this.archiveDir,
          sources: this.sources,
          archives: listing.archives,
          recovery: ec.enabled ? this.recoveryFactory(ec.redundancy) : undefined,
          dataDir: this.host.dataDir,
        },
        { to, identity, ...(opts.archiveId !== undefined ? { archiveId: opts.archiveId } : {}), ...(opts.source !== undefined ? { only: this.sources.select(opts.source) } : {}) },
      );
    });
  }

  /** A good copy of an archive in `workDir`, from the first source that has one (verified, repaired if need be): null when none has it. */
  private async fetchForReplay(archiveId: string, workDir: string): Promise<string | null> {
    const entry = (await this.scan()).archives.find((a) => a.manifest.archiveId === archiveId);
    if (!entry) return null;
    const copy = await fetchGoodCopy(entry, { sources: this.sources, archiveDir: this.archiveDir, order: this.order(), workDir, ...(this.host.key ? { key: this.host.key } : {}), verify: 'on-doubt' });
    return copy.file;
  }

  private past: PastReader | null = null;

  /** Where history and read are answered from: the restore side of the same sources (createDB and the CLI bind it). */
  bindPast(reader: PastReader): void {
    this.past = reader;
  }

  private pastReader(): PastReader {
    if (!this.past) throw new BriError(ErrorCodes.USAGE, 'history and read need the restore side of this database', { hint: 'Use db.archive from createDB, or openRestore({ dataDir }).history / .read.' });
    return this.past;
  }

  /** The changes to one document, oldest first, across archives and shipped WAL (following renames both ways). */
  history(key: string, opts: Parameters<PastReader['history']>[1] = {}): ReturnType<PastReader['history']> {
    return this.pastReader().history(key, opts);
  }

  /** The document `key` as it was at `opts.at`, or that it did not exist. */
  read(key: string, opts: Parameters<PastReader['read']>[1]): ReturnType<PastReader['read']> {
    return this.pastReader().read(key, opts);
  }

  private scheduler: ArchiveScheduler | null = null;
  /** Starts continuous shipping to every remote (createDB does, when `continuous.enabled`); `endLine`: the absolute last line. */
  async startShipping(growth: WalGrowth, endLine: () => Promise<number>, clock?: Clock): Promise<WalShipping | null> {
    // (A remote with no archive to continue gets one at once: shipping-control.ts wantArchive.)
    return this.shippingCtl.start(growth, endLine, clock);
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

  /** Ships everything written so far, now (after the archive a remote waits for, if one is being made). */
  flushShipping(): Promise<void> {
    return this.shippingCtl.flush(() => this.running);
  }

  /** Stops shipping after a last shipment of what is written (close() does). */
  stopShipping(): Promise<void> {
    return this.shippingCtl.stop();
  }

  /** Starts the configured triggers (createDB does, when `enabled` is not false). */
  startTriggers(growth?: WalGrowth, opts: SchedulerOptions = {}): ArchiveScheduler | null {
    if (!this.config.enabled || this.scheduler) return this.scheduler;
    const s = new ArchiveScheduler(
      this.config.triggers,
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

  /** Stops the triggers and waits for a run in progress to end (so refused from a hook that run waits for). */
  async stopTriggers(): Promise<void> {
    refuseInsideHook('db.archive.stopTriggers');
    const s = this.scheduler;
    this.scheduler = null;
    await s?.stop();
  }

  /** Resolves when every run queued so far has ended. */
  async idle(): Promise<void> {
    refuseInsideHook('db.archive.idle');
    await this.running;
  }

  /** Stops the triggers (waiting for a run in progress: refused from its hooks), then releases the remotes' clients. */
  async close(): Promise<void> {
    refuseInsideHook('db.archive.close');
    await this.stopTriggers();
    await this.stopShipping();
    await this.running;
    await this.sources.close();
  }
}

// A plain-JavaScript caller's wrong arguments are USAGE naming the call; failed system calls are typed IO_ERRORs.
checkArchiveApiCalls(ArchiveApi.prototype);
