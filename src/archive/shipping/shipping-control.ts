/**
 * What `db.archive` does about continuous shipping: start and stop it, report
 * it (status, metrics, how far each remote reaches), let the archive job
 * absorb shipments, tell WAL cleanup how far every remote holds the WAL, and
 * fetch removed lines back for a new archive.
 */
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { ensureArchiveState, readArchiveState } from '../../store/archive-state.js';
import type { Clock, WalGrowth } from '../jobs/scheduler.js';
import { insideHookError } from '../jobs/function-hook.js';
import type { ArchiveSources } from '../copies/sources.js';
import { shippingMetrics } from './metrics.js';
import { shippingReport, type ShippingReport } from './report.js';
import { fetchShippedLines } from './shipped-catalog.js';
import { identityRecipients, type AgeIdentity, type AgeRecipients } from '../crypto/age-keys.js';
import { resolveIdentity } from '../crypto/verify-identity.js';
import type { ShippingEvent, ShippingStatus } from './shipper.js';
import { listLocalArchives } from '../copies/local-catalog.js';
import { absorbShipments, shippingBase, shippingTmpDir, WalShipping } from './shipping.js';

export interface ShippingControlContext {
  dataDir: string;
  archiveDir: string;
  sources: ArchiveSources;
  /** The `continuous` settings of the archive configuration. */
  continuous: { enabled: boolean; intervalMs: number };
  key?: EncryptionKey;
  /** Shipments are encrypted with age for these recipients. */
  encryptTo?: AgeRecipients;
  /** An identity file this machine holds (archive.encryption.identityFile): it can read encrypted shipments back. */
  identityFile?: string;
  onEvent(e: ShippingEvent): void;
  /** A remote's shipping began to fail (the first failure after it shipped, or since the start): the onError hook hears it once per streak, not at every retry. */
  onFailing?(error: BriError): void;
  /** What puts an archive of the instance on a remote that has none to continue: a first archive, or the upload of the local ones. */
  archiveWanted?: { create(): Promise<unknown>; upload(): Promise<unknown> };
}

/** How long a remote that still waits for an archive waits before the next try (doubled each time, up to the last). */
const WANTED_DELAYS_MS = { first: 1000, max: 60_000 };

export class ShippingControl {
  private shipping: WalShipping | null = null;
  private stopped = false;
  /** The remotes whose shipping fails now (told to onFailing once, until they ship again). */
  private readonly failing = new Set<string>();
  /** The archive (or upload) a waiting remote asked for, while it runs; when the next may be asked, and after how long. */
  private wanted: Promise<void> | null = null;
  /** Some remote was found with no archive of the instance to continue (at the start, or when it answered). */
  private waiting = false;
  private wantedNextAt = 0;
  private wantedDelayMs = WANTED_DELAYS_MS.first;

  constructor(private readonly ctx: ShippingControlContext) {}

  private get enabled(): boolean {
    return this.ctx.continuous.enabled && this.ctx.sources.remotes.length > 0;
  }

  /** Starts shipping to every remote; `endLine` is the absolute number of the last line written. */
  async start(growth: WalGrowth, endLine: () => Promise<number>, clock?: Clock): Promise<WalShipping | null> {
    if (!this.enabled || this.shipping) return this.shipping;
    const state = await ensureArchiveState(this.ctx.dataDir);
    // What a killed process left half compressed goes before shipping starts again (this process holds the directory's lock).
    await fsp.rm(shippingTmpDir(this.ctx.archiveDir, state.instanceId), { recursive: true, force: true });
    this.stopped = false;
    this.shipping = new WalShipping({
      dataDir: this.ctx.dataDir,
      archiveDir: this.ctx.archiveDir,
      sources: this.ctx.sources,
      instanceId: state.instanceId,
      intervalMs: this.ctx.continuous.intervalMs,
      endLine,
      ...(clock ? { clock } : {}),
      ...(this.ctx.encryptTo ? { encryptTo: this.ctx.encryptTo } : {}),
      ...(this.ctx.key ? { key: this.ctx.key } : {}),
      onEvent: (e) => {
        this.ctx.onEvent(e);
        if (e.kind === 'shipped') this.failing.delete(e.source);
        else if (e.kind === 'ship-failed' && !this.failing.has(e.source)) {
          this.failing.add(e.source);
          this.ctx.onFailing?.(e.error);
        }
      },
      onWaiting: () => this.wantArchive(),
    });
    this.shipping.start(growth);
    // The first tick resumes from what each remote holds and loads its SDK (a stall of a tenth of a
    // second that would otherwise land in the middle of the writes); a remote that is down does not hold up the open.
    await Promise.race([this.shipping.tickAll(), new Promise((r) => setTimeout(r, 2000).unref())]);
    // Without an archive to continue, nothing would be shipped until the first scheduled archive: one is made
    // now, so the loss window is the same from the first day (a remote that is down is not asked: the archive is made all the same).
    if (await this.waitsForArchive()) this.wantArchive();
    return this.shipping;
  }

  /**
   * A remote holds no archive of the instance to continue: the local archives are uploaded when there are
   * some (their upload failed, the remote was down), else a first archive is made. Once at a time; while the
   * remote still waits, tried again after 1 s, 2 s, ... up to a minute, so a shipper that waits never waits
   * for the next scheduled archive (with none scheduled, forever); `now`: a flush asks, whatever the wait. A
   * failure is the run's (its events, onError).
   */
  private wantArchive(now = false): void {
    const want = this.ctx.archiveWanted;
    this.waiting = true;
    if (!want || this.wanted || this.stopped || (!now && Date.now() < this.wantedNextAt)) return;
    this.wantedNextAt = Date.now() + this.wantedDelayMs;
    this.wantedDelayMs = Math.min(this.wantedDelayMs * 2, WANTED_DELAYS_MS.max);
    this.wanted = (async () => {
      const state = await readArchiveState(this.ctx.dataDir);
      const archived = state !== null && (await listLocalArchives(this.ctx.archiveDir)).some((a) => a.manifest.instanceId === state.instanceId);
      // (An upload refused or failed whole is made good by a create: its run uploads what the remotes lack too.)
      if (!this.stopped) await (archived ? want.upload().catch(() => want.create()) : want.create());
    })()
      .catch(() => undefined)
      .finally(() => {
        this.wanted = null;
        this.shipping?.invalidateBases();
      });
  }

  /** Whether some remote has no base to ship from (no archive of the instance confirmed there, and the WAL does not start at line 1). */
  private async waitsForArchive(): Promise<boolean> {
    const state = await readArchiveState(this.ctx.dataDir);
    if (!state || !this.shipping) return false;
    // A remote that cannot say whether its archive copies are still the ones confirmed is not counted as waiting (its shipping fails and says so).
    for (const r of this.ctx.sources.remotes) if ((await shippingBase(this.ctx.dataDir, this.ctx.archiveDir, state.instanceId, r).catch(() => undefined)) === null) return true;
    return false;
  }

  status(): ShippingStatus[] {
    return this.shipping?.status() ?? [];
  }

  metrics(): string {
    return shippingMetrics(this.status());
  }

  report(): Promise<ShippingReport[]> {
    return shippingReport(this.ctx.dataDir, this.ctx.archiveDir, this.ctx.sources, this.status(), this.ctx.continuous.enabled);
  }

  /**
   * Ships everything written so far, and says so only when it is true: with shipping off, or a remote that
   * failed (or has no archive to continue yet), the lines are not on it, and the caller is told which.
   * `archiving`: the archive runs queued so far. A remote with no archive to continue ships nothing until one
   * is there: the flush asks for it now (wantArchive, whatever its backoff) and waits for it and for a run
   * under way, rather than fail while they are about to put the lines there.
   */
  async flush(archiving?: () => Promise<unknown>): Promise<void> {
    if (!this.enabled) {
      throw new BriError(ErrorCodes.USAGE, 'flushShipping: continuous shipping is off', {
        hint: 'Set archive.continuous.enabled with at least one remote, or make an archive (db.archive.create()) to put the lines on the remotes.',
      });
    }
    if (!this.shipping) throw this.notShipping();
    // (From an archive hook, the run waits for the hook: waiting for it would never end.)
    if (archiving && this.waiting && this.status().some((s) => s.shippedThrough === null) && insideHookError('flushShipping') === null) {
      this.wantArchive(true);
      await this.wanted;
      await archiving();
    }
    const target = await this.shipping.flush();
    const short = shortOfTarget('flushShipping', this.status(), target);
    if (short) throw short;
  }

  /** A flush with no shipper running would ship nothing: it says so, rather than resolve as if the lines were on the remotes. */
  private notShipping(): BriError {
    const why = this.stopped ? 'shipping was stopped (stopShipping() or close())' : 'shipping is not running here (an open database runs it)';
    return new BriError(ErrorCodes.USAGE, `flushShipping: ${why}, so no line would be shipped`, {
      hint: 'Flush before stopping shipping, or open the database again (shipping starts with it); an archive (db.archive.create()) also puts the lines on the remotes.',
      details: { stopped: this.stopped },
    });
  }

  /**
   * Stops shipping after a last run; rejects (stopped all the same) naming each remote short of the lines written
   * before it was called, as flush does: close() resolving there would tell the app its last lines are safe.
   */
  async stop(): Promise<void> {
    const s = this.shipping;
    this.shipping = null;
    if (!s) return;
    this.stopped = true;
    // An archive a waiting remote asked for ends before the database may close (not from its own hooks: it waits for them).
    if (insideHookError('stopShipping') === null) await this.wanted;
    const target = await s.stop();
    const short = shortOfTarget('stopShipping', s.status(), target);
    if (short) throw short;
  }

  /** Shipments an archive confirmed on that remote now holds are removed there (failures are left for the next run). */
  async absorb(): Promise<void> {
    if (!this.ctx.continuous.enabled) return;
    this.shipping?.invalidateBases();
    const state = await readArchiveState(this.ctx.dataDir);
    if (!state) return;
    for (const r of this.ctx.sources.remotes) {
      // A remote that cannot be asked whether its archive is still there keeps its shipments (the next run tries again).
      const base = await shippingBase(this.ctx.dataDir, this.ctx.archiveDir, state.instanceId, r).catch(() => null);
      if (base && base.line > 0) await absorbShipments(r, state.instanceId, base.line, this.ctx.archiveDir).catch(() => undefined);
    }
  }

  /** The line through which every remote holds every line (archives and shipments); 0 without shipping. */
  async shippedEverywhere(): Promise<number> {
    // Encrypted shipments that this machine could not read back do not make WAL safe to remove: the next archive needs those lines.
    if (!this.enabled || !(await this.opensShipments())) return 0;
    const live = this.status();
    const through = live.length ? live.map((s) => s.shippedThrough) : (await this.report()).map((r) => (r.error ? null : r.shippedThrough));
    return through.some((t) => t === null) ? 0 : Math.min(...(through as number[]));
  }

  /**
   * Whether this machine's identity opens what shipping seals: one of its keys is a configured recipient, or it
   * holds the passphrase used. An identity merely present (another key, an unrelated BRI_AGE_PASSPHRASE) does not.
   */
  private async opensShipments(): Promise<boolean> {
    const to = this.ctx.encryptTo;
    if (!to) return true;
    const id = await this.identity();
    if (id === null) return false;
    if (to.passphrase !== undefined) return id.passphrases.includes(to.passphrase);
    const mine = new Set(await identityRecipients(id));
    return to.recipients.some((r) => mine.has(r));
  }

  /** Shipped lines that WAL cleanup removed, fetched back for a new archive (remotes in priority order). */
  async fetchRemovedLines(after: number, through: number, pointer: string, file: string): Promise<void> {
    const state = await readArchiveState(this.ctx.dataDir);
    const remotes = this.ctx.sources.order.map((n) => this.ctx.sources.remote(n)).filter((r): r is NonNullable<typeof r> => r !== undefined);
    try {
      await fetchShippedLines(remotes, state!.instanceId, after, through, pointer, file, this.ctx.key, await this.identity());
    } catch (err) {
      throw this.namingNeededIdentity(err);
    }
  }

  /** A fetch that failed for the key says which identity opens the shipments: the configured recipients' (never a secret). */
  private namingNeededIdentity(err: unknown): unknown {
    const to = this.ctx.encryptTo;
    if (!to || !(isBriError(err, ErrorCodes.DECRYPTION_FAILED) || isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING))) return err;
    const needed = to.passphrase !== undefined ? 'the passphrase in archive.encryption.passphrase, as BRI_AGE_PASSPHRASE' : `the identity of one of the recipients ${to.recipients.join(', ')}`;
    return new BriError(err.code, `${err.message}; they open with ${needed}`, {
      hint: `Give that identity (archive.encryption.identityFile, or BRI_AGE_IDENTITY${to.passphrase !== undefined ? ', BRI_AGE_PASSPHRASE' : ''}) and create the archive again: the remotes still hold the lines.`,
      details: { ...err.details, recipients: to.recipients },
      cause: err,
    });
  }

  private identity(): Promise<AgeIdentity | null> {
    return resolveIdentity(undefined, this.ctx.identityFile);
  }
}

/**
 * The remotes short of `target` (the end the WAL had when a flush or a stop was called), as REMOTE_ERROR naming
 * each; null when every one holds it. A run that failed confirms nothing, whatever lag it could measure (the end
 * line may be what could not be read).
 */
function shortOfTarget(call: string, status: ShippingStatus[], target: number | null): BriError | null {
  const short = (s: ShippingStatus) => target !== null && target > (s.shippedThrough ?? 0);
  const behind = status.filter((s) => s.lastError !== null || short(s) || (s.lagLines > 0 && s.shippedThrough === null));
  if (behind.length === 0) return null;
  const how = (s: ShippingStatus) =>
    short(s) ? `is ${target! - (s.shippedThrough ?? 0)} lines behind, through line ${s.shippedThrough ?? 0} of ${target}` : s.lagLines > 0 ? `is ${s.lagLines} lines behind` : 'could not be confirmed caught up';
  return new BriError(ErrorCodes.REMOTE_ERROR, `${call}: ${behind.map((s) => `${s.source} ${how(s)} (${s.lastError ?? (s.shippedThrough === null ? 'no archive there to continue yet' : 'the lines did not reach the WAL files in time')})`).join('; ')}`, {
    // Stopped (close()), shipping goes on no more: what it left is said, and when it goes out.
    hint:
      call === 'stopShipping'
        ? `Not shipped: ${behind.map((s) => notShipped(s, target)).join('; ')}. They stay in wal/ and ship at the next open of the database; an archive (db.archive.create(), \`bri archive create\`) also puts them on the remotes.`
        : 'The lines stay in wal/ until a remote holds them: shipping goes on with backoff while the database is open (shippingStatus() says how it goes); an archive (db.archive.create()) also puts them on the remotes.',
    details: { sources: behind.map((s) => s.source) },
  });
}

/** The lines a remote was left without when shipping stopped. */
function notShipped(s: ShippingStatus, target: number | null): string {
  if (s.shippedThrough === null) return `${s.source} could not be asked what it holds (no line${target !== null ? ` through ${target}` : ''} is confirmed there)`;
  const end = target ?? s.shippedThrough + s.lagLines;
  return end > s.shippedThrough ? `lines ${s.shippedThrough + 1}..${end} to ${s.source}` : `${s.source}'s last shipment, not confirmed`;
}
