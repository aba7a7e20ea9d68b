/**
 * The copies side of `db.archive`: listing every source merged by id, get, stats, upload, delete, download,
 * verify, repair, thaw, inspect. ArchiveApi (archive-api.ts) extends it with what runs archives: create, the
 * job's steps, triggers and shipping. Both are the facade: each method is a few lines over the folders below.
 */
import { EventEmitter } from 'node:events';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError, withTypedIoErrors } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import type { AgeIdentity } from './crypto/age-keys.js';
import type { Manifest } from '../format/manifest.js';
import type { ThawOptions } from '../remote/remote.js';
import { readArchiveState } from '../store/archive-state.js';
import type { CleanupStep } from '../store/wal/wal-cleanup.js';
import { changingArchives, type ArchiveHost } from './archive-host.js';
import type { ParsedArchiveConfig } from './config.js';
import { listSources, type CatalogArchive, type ManifestCache, type MergedListing } from './copies/catalog.js';
import { archiveFileInput, downloadAsStored, idOfFile, namedAs, namesFile, noLocalFile, notFound, repairAsStored, repairInto, unreadableCopiesOf, unreadableDeleteRefused, unreadableNotVerified, verifyAsStored } from './copies/id-lookup.js';
import { downloadTo, refuseLoss, refuseUnreachableDelete, removeCopies, verifyLocalCopy, verifyRemoteCopy, type DeletedCopies, type DownloadedArchive } from './copies/copy-ops.js';
import type { SourceProblem } from './copies/fetch.js';
import { catalogStats, type CatalogStats } from './copies/local-catalog.js';
import { statsScope } from './rekey/rekey-scope.js';
import { assertOwnArchives } from './copies/archive-dir-owner.js';
import { notStoredEverywhere } from './copies/identity.js';
import { readAllCopyRecords, type CopyRecord } from './copies/records.js';
import { outputFileFor, type LocationSettings } from './copies/locations.js';
import { LOCAL_SOURCE, type ArchiveSources } from './copies/sources.js';
import { thawArchives, type ThawStatus } from './copies/thaw.js';
import { followFailed, type CopyCheck, type VerifiedArchive, type VerifiedById, type VerifyAllReport } from './copies/verify-copies.js';
import { acrossVia, uploadArchives, uploadEvents, type CopyStatus, type ReplicationEvent } from './copies/upload.js';
import type { ArchiveRunResult, RunReason } from './jobs/archive-job.js';
import { callSafely } from './jobs/caller-callbacks.js';
import { insideHookError } from './jobs/function-hook.js';
import { archiveFileName, assertArchiveId } from './package/ids.js';
import { assertRegularFileInput } from './package/input-file.js';
import type { ProgressEvent, ProgressListener } from './package/progress.js';
import { readManifest } from './package/reader.js';
import type { RepairResult } from './package/recovery.js';
import { par2Repairer } from './package/repairer.js';
import type { VerifyReport } from './package/verify.js';
import { verifyIdentity, type VerifyIdentityOptions } from './crypto/verify-identity.js';
import type { ShippingEvent } from './shipping/shipper.js';

/** The events `db.archive` emits (an EventEmitter): one run's life, and its steps. */
export interface ArchiveEvents {
  started: [{ reason: RunReason }];
  progress: [ProgressEvent];
  upload: [ReplicationEvent];
  cleanup: [{ step: CleanupStep; item?: string }];
  finished: [ArchiveRunResult];
  /** Nothing new to archive: not a failure. */
  skipped: [{ reason: RunReason; error: BriError }];
  failed: [{ reason: RunReason; error: unknown }];
  /** Continuous shipping: a shipment made or a remote that failed (retried with backoff). */
  shipping: [ShippingEvent];
}

export type { VerifiedArchive, VerifiedById, VerifyAllReport } from './copies/verify-copies.js';

/** An error as a report entry gives it: with its hint (what to do: raise `ulimit -n`, free the disk). */
const said = (err: BriError): NonNullable<VerifiedArchive['error']> => ({ code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) });

/** Where a repair writes its copy by default: a folder beside the archive (listings read only the archive directory's own files). */
const REPAIRED_DIR = 'repaired';

export class ArchiveCatalogApi extends EventEmitter<ArchiveEvents> {
  protected running: Promise<unknown> = Promise.resolve();
  protected readonly manifests: ManifestCache = new Map();

  constructor(
    protected readonly host: ArchiveHost,
    readonly config: ParsedArchiveConfig,
    readonly sources: ArchiveSources,
    readonly archiveDir: string,
  ) {
    super();
  }

  /**
   * A listener that throws is the application's bug, not the run's: it must not turn a made archive into a
   * failure, stop a shipper, or (from a timer) take the host down. Its error is said as a process warning.
   */
  override emit<K extends keyof ArchiveEvents>(event: K, ...args: ArchiveEvents[K]): boolean {
    // Each listener on its own: one that threw stopped the rest (an alerting one after it never heard), and an async
    // one's rejection reached the host as an unhandled rejection.
    const listeners = this.rawListeners(event) as Array<(...a: unknown[]) => unknown>;
    for (const listener of listeners) callSafely(listener.bind(this), args as unknown[], `a listener of the archive's '${String(event)}' event`);
    return listeners.length > 0;
  }

  /** An archive id (validated) in the archive directory, or a path to a file. */
  fileFor(idOrFile: string): string {
    return namesFile(idOrFile) ? path.resolve(idOrFile) : path.join(this.archiveDir, archiveFileName(idOrFile));
  }

  /** Where the data directory, the archive directory and the remotes are (what an output file must keep out of). */
  protected places(): LocationSettings {
    return { dataDir: this.host.dataDir, archiveDir: this.archiveDir, remotes: this.sources.places() };
  }

  /** Sources named by `--source` (a name or a provider), else every one in priority order. */
  protected order(source?: string): string[] {
    return source === undefined ? this.sources.order : this.sources.select(source);
  }

  /** Runs `fn` after every run queued before it (creates, cleanups, prunes never interleave). */
  protected queued<T>(fn: () => Promise<T>): Promise<T> {
    const refused = insideHookError('db.archive (prune, cleanup, delete, upload, repair, rekey)');
    if (refused) return Promise.reject(refused);
    const run = this.running.then(fn);
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn`, which changes archives, after every queued run and under the data directory's lock (changingArchives). */
  protected changing<T>(fn: () => Promise<T>): Promise<T> {
    return this.queued(() => changingArchives(this.host, fn));
  }

  /** Uploads what a remote has no confirmed copy of (one archive, or all), to every remote or the one named. */
  upload(opts: { archiveId?: string; source?: string; onUpload?: (e: ReplicationEvent) => void; onProgress?: ProgressListener } = {}): Promise<CopyStatus[]> {
    // With no remote there is nothing to upload to: an empty answer would read as "everything is confirmed".
    if (this.sources.remotes.length === 0) return Promise.reject(new BriError(ErrorCodes.USAGE, 'no remote is configured', { hint: 'Give the remotes with --config <file> ({ "remotes": [...] }).' }));
    return this.changing(async () => {
      await assertOwnArchives(this.archiveDir, this.host.dataDir, 'upload');
      const onEvent = uploadEvents(opts.onUpload, opts.onProgress);
      return uploadArchives(this.archiveDir, this.sources, {
        ...(opts.archiveId !== undefined ? { archiveId: opts.archiveId } : {}),
        ...(opts.source !== undefined ? { only: this.sources.select(opts.source).filter((n) => n !== LOCAL_SOURCE) } : {}),
        ...(onEvent ? { onEvent } : {}),
        across: acrossVia(() => this.scan(), this.host.key),
      });
    });
  }

  /** Every source (for listings), or the ones `--source` names. */
  protected listed(source?: string): string[] {
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
    const listing = await this.scan(opts);
    const found = listing.archives.find((a) => a.manifest.archiveId === id);
    if (!found) throw notFound(id, opts.source ?? 'any source', listing.unreachable, listing.unreadable);
    return found;
  }

  /** This database's counts, sizes, covered lines and gaps (another database's archives on a shared source counted apart), with the copies and sources that could not be read. */
  async stats(opts: { source?: string } = {}): Promise<CatalogStats & Pick<MergedListing, 'unreadable' | 'unreachable'>> {
    const listing = await this.scan(opts);
    return { ...catalogStats(listing.archives, await statsScope(this.archiveDir, this.host.dataDir, listing.archives)), unreadable: listing.unreadable, unreachable: listing.unreachable };
  }

  /** The confirmed remote copies recorded for an archive. */
  async copies(id: string): Promise<CopyRecord[]> {
    return (await readAllCopyRecords(this.archiveDir)).get(assertArchiveId(id)) ?? [];
  }

  /** True when the archive is durable locally and confirmed (size, checksum) on every remote: only then may its WAL leave the data directory. */
  async isStoredEverywhere(id: string): Promise<boolean> {
    return (await this.notStoredEverywhere(id)) === null;
  }

  /** Why the archive is not stored everywhere yet, naming the remote or the local copy (null: it is). */
  notStoredEverywhere(id: string): Promise<string | null> {
    return notStoredEverywhere(this.archiveDir, id, this.sources);
  }

  /** Deletes an archive's copy on one source (a name or a provider), or every copy when `source` is absent. */
  async delete(id: string, opts: { source?: string; force?: boolean } = {}): Promise<DeletedCopies> {
    assertArchiveId(id);
    // Decided and done under the lock: a create's WAL cleanup counting on this archive, or a prune, must not run in between.
    return this.changing(() => this.deleteNow(id, opts));
  }

  private async deleteNow(id: string, opts: { source?: string; force?: boolean }): Promise<DeletedCopies> {
    await assertOwnArchives(this.archiveDir, this.host.dataDir, 'delete');
    const names = this.sources.selectOrAll(opts.source);
    // Every source is listed, whatever --source says: what would remain decides whether this is the last copy.
    const listing = await this.scan();
    const entry = listing.archives.find((a) => a.manifest.archiveId === id);
    const readable = entry?.copies.filter((c) => names.includes(c.source)) ?? [];
    // Copies whose manifest cannot be read are the id's too (a restore names them): reachable here, not "no archive".
    const unread = (await unreadableCopiesOf(listing.unreadable, id, names, this)).filter((u) => !entry?.copies.some((c) => c.location === u.copy.location));
    if (readable.length === 0 && unread.length === 0) throw notFound(id, opts.source ?? 'any source', listing.unreachable);
    if (readable.length === 0 && !opts.force) throw unreadableDeleteRefused(id, unread);
    refuseUnreachableDelete(id, names, listing.unreachable);
    const doomed = [...readable, ...unread.map((u) => u.copy)];
    // One file under two sources' names: deleting it for one would delete the other's copy too (whatever --force says).
    for (const d of readable) {
      const same = d.identity === undefined ? undefined : entry!.copies.find((c) => !doomed.includes(c) && c.identity === d.identity);
      if (same) {
        throw new BriError(ErrorCodes.USAGE, `${d.source}'s copy of ${id} (${d.location}) is the very file of ${same.source}'s copy (${same.location}): deleting one would delete both`, {
          hint: 'The two sources are one place: give the remote a directory of its own (not one that reaches the archive directory), or delete the archive from every source (no --source).',
          details: { archiveId: id, sources: [d.source, same.source] },
        });
      }
    }
    const warnings = entry && readable.length > 0 ? await refuseLoss(entry, readable, await readArchiveState(this.host.dataDir).catch(() => null), { sources: this.sources, archiveDir: this.archiveDir, unreachable: listing.unreachable, archives: listing.archives, force: opts.force === true }) : [];
    const deleted = await removeCopies(doomed, id, this.sources, this.archiveDir);
    return { archiveId: id, deleted, ...(warnings.length ? { warnings } : {}) };
  }

  /**
   * A verified copy of an archive at `file`, from the first source in priority order that has
   * a good one (repaired with its PAR2 data if need be); sources passed over are in `skipped`.
   */
  async download(id: string, file: string, opts: { source?: string; verify?: boolean; force?: boolean; onProblem?: (p: SourceProblem) => void; onProgress?: ProgressListener } = {}): Promise<DownloadedArchive> {
    assertArchiveId(id);
    const target = outputFileFor(file, archiveFileName(id), this.places(), 'the download target', id, opts.force === true);
    const listing = await this.scan(opts.source !== undefined ? { source: opts.source } : {});
    const entry = listing.archives.find((a) => a.manifest.archiveId === id);
    if (!entry) return this.downloadUnreadable(id, target, listing, opts);
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

  /** An id only unreadable copies hold: written as stored when the caller takes it unverified, else an error naming how. */
  private async downloadUnreadable(id: string, target: string, listing: MergedListing, opts: { source?: string; verify?: boolean }): Promise<DownloadedArchive> {
    const copies = await unreadableCopiesOf(listing.unreadable, id, this.order(opts.source), this);
    if (copies.length === 0) throw notFound(id, opts.source ?? 'any source', listing.unreachable);
    if (opts.verify !== false) throw unreadableNotVerified(id, copies);
    return downloadAsStored(id, copies, target, this);
  }

  /**
   * Verifies an archive by id (the local copy, else the first remote copy, downloaded) or by file path. A copy
   * that fails is followed by the next sources' copies (of `source`'s), until one is whole (`otherCopies`, `wholeOn`).
   */
  async verify(idOrFile: string, opts: { onProgress?: ProgressListener; source?: string } & VerifyIdentityOptions = {}): Promise<VerifiedById> {
    const listing = await this.scan().catch((): MergedListing => ({ archives: [], unreadable: [], unreachable: [] }));
    const keys = await this.verifyKeys(opts);
    const report = await this.verifyOne(idOrFile, listing.archives, keys, opts, listing.unreachable, listing.unreadable);
    const entry = report.ok || namesFile(idOrFile) ? undefined : listing.archives.find((a) => a.manifest.archiveId === idOrFile);
    if (!entry) return report;
    const first: VerifiedArchive = { archiveId: idOrFile, source: entry.copies.find((c) => c.location === report.file)?.source ?? LOCAL_SOURCE, file: report.file, ok: false, report, error: null };
    const otherCopies = await followFailed(entry, first, this.order(opts.source), this.copyCheck(keys, listing.archives, opts));
    return otherCopies.length === 0 ? report : { ...report, source: first.source, otherCopies, ...(first.wholeOn !== undefined ? { wholeOn: first.wholeOn } : {}) };
  }

  private copyCheck(keys: { key?: EncryptionKey; age?: AgeIdentity; deep?: true }, neighbours: CatalogArchive[], opts: { onProgress?: ProgressListener }): CopyCheck {
    return { sources: this.sources, archiveDir: this.archiveDir, verify: { ...keys, neighbours, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) } };
  }

  /**
   * Verifies every archive: for each, the copy `verify(id)` takes (or its copy on `source`), and each
   * copy whose manifest cannot be read (a local one by its file: its damage is found and said). One
   * that cannot be verified is a failed entry, not a throw; a source that cannot be listed is said.
   */
  async verifyAll(opts: { onProgress?: ProgressListener; source?: string; onVerified?: (v: VerifiedArchive) => void } & VerifyIdentityOptions = {}): Promise<VerifyAllReport> {
    const listing = await this.scan(opts.source !== undefined ? { source: opts.source } : {});
    const keys = await this.verifyKeys(opts);
    const archives: VerifiedArchive[] = [];
    const push = (v: VerifiedArchive) => (archives.push(v), opts.onVerified?.(v), v);
    // A throw (no file handles, a permission) is said of the local copy verified, with its hint: said of 'any source', file null, it was then verified
    // again as a second entry. A remote copy's throw names no copy (the first that could be fetched): null, and each is then verified by its name.
    const one = async (archiveId: string | null, target: string, local: string | null, sourceOf: (report: VerifyReport) => string): Promise<VerifiedArchive | null> => {
      try {
        const report = await this.verifyOne(target, listing.archives, keys, { ...opts, local }, listing.unreachable);
        // The archive asked for, not the one a copy under its id turned out to hold.
        return push({ archiveId: archiveId ?? report.archiveId, source: sourceOf(report), file: report.file, ok: report.ok, report, error: null });
      } catch (err) {
        if (!isBriError(err)) throw err;
        return local === null ? null : push({ archiveId, source: LOCAL_SOURCE, file: local, ok: false, report: null, error: said(err) });
      }
    };
    const check = this.copyCheck(keys, listing.archives, opts);
    for (const a of listing.archives) {
      const id = a.manifest.archiveId;
      const v = await one(id, id, await this.localTarget(id, opts.source), (r) => a.copies.find((c) => c.location === r.file)?.source ?? LOCAL_SOURCE);
      // A failed copy is not the archive's last word: the next sources' copies are verified too, as they are stored, until one is whole.
      if (!v?.ok) await followFailed(a, v ?? { archiveId: id, source: '', file: null, ok: false, report: null, error: null }, this.order(opts.source), check, push);
    }
    for (const u of listing.unreadable) {
      // A file whose manifest does not read is verified by its bytes; an entry that is not where an archive goes (misnamed, a link to nothing) fails as it is.
      if (u.source === LOCAL_SOURCE && archives.some((v) => v.file === u.location)) continue; // verified already, by its id
      if (u.source === LOCAL_SOURCE && u.error.details?.misplaced !== true) await one(u.archiveId ?? idOfFile(u.location), u.location, u.location, () => LOCAL_SOURCE);
      else push({ archiveId: u.archiveId ?? null, source: u.source, file: u.location, ok: false, report: null, error: said(u.error) });
    }
    const unreachable = listing.unreachable.map((f) => ({ source: f.source, error: said(f.error) }));
    return { ok: unreachable.length === 0 && archives.every((v) => v.ok), archives, unreachable };
  }

  private async verifyKeys(opts: VerifyIdentityOptions): Promise<{ key?: EncryptionKey; age?: AgeIdentity; deep?: true }> {
    const age = await verifyIdentity(opts, this.config.encryption?.identityFile);
    return { ...(this.host.key ? { key: this.host.key } : {}), ...(age ? { age } : {}), ...(opts.deep ? { deep: true as const } : {}) };
  }

  private async verifyOne(idOrFile: string, neighbours: CatalogArchive[], key: { key?: EncryptionKey; age?: AgeIdentity; deep?: true }, opts: { onProgress?: ProgressListener; source?: string; local?: string | null }, unread: MergedListing['unreachable'] = [], unreadable: MergedListing['unreadable'] = []): Promise<VerifyReport> {
    const file = opts.local !== undefined ? opts.local : await this.localTarget(idOrFile, opts.source);
    if (file !== null) assertRegularFileInput(file, 'the archive file');
    if (file !== null) return namedAs(idOrFile, file, await verifyLocalCopy(file, { ...key, neighbours, name: file, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) }));
    const entry = namesFile(idOrFile) ? undefined : neighbours.find((a) => a.manifest.archiveId === idOrFile && a.copies.some((c) => c.source !== LOCAL_SOURCE && (opts.source === undefined || this.sources.select(opts.source).includes(c.source))));
    if (!entry) return this.verifyUnreadable(idOrFile, key, opts, unread, unreadable);
    const fetch = { sources: this.sources, archiveDir: this.archiveDir, order: this.order(opts.source).filter((s) => s !== LOCAL_SOURCE), workDir: this.archiveDir };
    return verifyRemoteCopy(entry, fetch, { ...key, neighbours, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  }

  /** The local file verify takes (by id in the archive directory, or a path; a damaged manifest must not stop it: not read), or null: none there, or a remote asked. */
  private async localTarget(idOrFile: string, source: string | undefined): Promise<string | null> {
    const file = this.fileFor(idOrFile);
    return (source === undefined || source === LOCAL_SOURCE) && (await fsp.access(file).then(() => true, () => false)) ? file : null;
  }

  /** A remote copy only its id names (its manifest cannot be read): verified as it is stored, which says what is wrong with it. */
  private async verifyUnreadable(id: string, key: { key?: EncryptionKey; age?: AgeIdentity; deep?: true }, opts: { onProgress?: ProgressListener; source?: string }, unread: MergedListing['unreachable'], unreadable: MergedListing['unreadable']): Promise<VerifyReport> {
    const remotes = this.order(opts.source).filter((s) => s !== LOCAL_SOURCE);
    const u = namesFile(id) ? undefined : (await unreadableCopiesOf(unreadable, id, remotes, this))[0];
    if (!u) throw notFound(id, opts.source ?? 'any source', unread);
    return verifyAsStored(id, u, this, { ...key, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  }

  /**
   * Repairs a damaged archive with its PAR2 data: into `out` (default: `repaired/<id>.bri` beside it,
   * under its own name in a folder no listing reads as archives: a second file of one archive among
   * them made every listing say the directory holds an unreadable one), or in place (through a temp
   * file and a rename) with `inPlace`.
   */
  async repair(idOrFile: string, opts: { out?: string; inPlace?: boolean; force?: boolean } = {}): Promise<RepairResult> {
    const file = await archiveFileInput(this.fileFor(idOrFile)).catch((err: unknown) => {
      if (namesFile(idOrFile) || !isBriError(err, ErrorCodes.ARCHIVE_NOT_FOUND)) throw err;
      return null;
    });
    if (file === null) return this.repairRemote(idOrFile, opts);
    // The archive the file holds, by its manifest (--out into a directory names the copy <id>.bri); by its name only where
    // the archive directory's listing gave it (any name is a valid id: usb-copy.bri would pass for archive usb-copy).
    const held = opts.out !== undefined && !opts.inPlace ? await readManifest(file).then((m) => m.archiveId, () => null) : null;
    const id = held ?? (path.dirname(file) === this.archiveDir ? idOfFile(file) : null);
    const given = opts.inPlace ? file : opts.out !== undefined ? this.repairedOut(opts.out, id !== null ? archiveFileName(id) : path.basename(file), id, opts.force) : undefined;
    const out = given ?? path.join(path.dirname(file), REPAIRED_DIR, path.basename(file));
    const write = () => repairInto(file, out, given === undefined);
    // A file written among the archives replaces one: not while a create, a cleanup or a prune decides on them.
    return path.dirname(out) === this.archiveDir ? this.changing(write) : write();
  }

  /**
   * An id with no local file: a remote copy whose manifest cannot be read is fetched as stored and repaired into
   * `out` (default repaired/<id>.bri); a readable one is what `download` fetches, repairing it on the way.
   */
  private async repairRemote(id: string, opts: { out?: string; inPlace?: boolean; force?: boolean }): Promise<RepairResult> {
    const listing = await this.scan();
    const u = opts.inPlace ? undefined : (await unreadableCopiesOf(listing.unreadable, id, this.sources.remotes.map((r) => r.name), this))[0];
    if (!u) throw noLocalFile(id, this.fileFor(id), listing.archives.find((a) => a.manifest.archiveId === id));
    const out = opts.out !== undefined ? this.repairedOut(opts.out, archiveFileName(id), id, opts.force) : undefined;
    return repairAsStored(id, u, out ?? path.join(this.archiveDir, REPAIRED_DIR, archiveFileName(id)), out === undefined, this);
  }

  /** Where `--out` puts a repaired copy (the archive's own name may be written: a repaired copy of it, the same archive). */
  private repairedOut(out: string, name: string, id: string | null, force: boolean | undefined): string {
    return outputFileFor(out, name, this.places(), 'the repaired copy (--out)', id, force === true);
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
    return thawArchives(this.sources, this.listed(opts.source), opts.archiveId, { ...(opts.days !== undefined ? { days: opts.days } : {}), ...(opts.tier !== undefined ? { tier: opts.tier } : {}), ...(opts.onStatus ? { onStatus: opts.onStatus } : {}) });
  }

  /** The manifest of an archive file, read without unpacking the rest. */
  async inspect(file: string): Promise<Manifest> {
    return readManifest(await archiveFileInput(path.resolve(file)));
  }
}

// Every public operation answers a failed system call as a typed IO_ERROR with a hint (a full disk, a permission, a missing folder).
withTypedIoErrors(ArchiveCatalogApi.prototype, ['upload', 'list', 'scan', 'get', 'stats', 'delete', 'download', 'verify', 'repair', 'thaw', 'inspect', 'isStoredEverywhere', 'notStoredEverywhere', 'copies'], 'archive');
