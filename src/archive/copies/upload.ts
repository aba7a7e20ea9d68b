/**
 * Uploading archives to the remotes: every archive goes to each configured
 * remote, and counts as stored there only once the remote confirmed the size
 * and a checksum (the provider's put does that) and the record is durable.
 * An upload that failed (server gone, credentials refused) leaves no record:
 * the next run (create, or `bri archive upload`) uploads it again. The pass
 * after each create checks the records with one listing of each remote (a
 * deleted bucket or object is sent again); `bri archive upload` asks each
 * remote (a HEAD) whether each recorded copy is still there and the same.
 * Either way a copy gone or different is uploaded again, saying what was found.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { asBriError, BriError, ErrorCodes, shellArg } from '../../errors.js';
import { scratchPath } from '../package/scratch.js';
import { par2Repairer } from '../package/repairer.js';
import { downloadTo } from './copy-ops.js';
import type { FetchOptions } from './fetch.js';
import { listLocalArchives } from './local-catalog.js';
import { archiveFileName } from '../package/ids.js';
import { readManifest } from '../package/reader.js';
import { uploadProgress, type PlannedUpload, type ProgressListener } from '../package/progress.js';
import type { Manifest } from '../../format/manifest.js';
import { COPIES_DIR, doubtedCopies, isRecordedHere, readAllCopyRecords, readCopyRecord, recordedCopyProblem, removeCopyRecord, writeCopyRecord, type CopyRecord } from './records.js';
import type { ObjectHead } from '../../remote/remote.js';
import { isMissingObject } from '../../remote/index.js';
import { assertLocalRemoteMounted, listedDoubts, mapLimited, type CatalogArchive, type ListedDoubts, type MergedListing } from './catalog.js';
import { remotePlace } from './locations.js';
import { archiveMetadata, archiveObjectKey, LOCAL_SOURCE, objectLocation, remotesWanting, type ArchiveSources, type RemoteSource } from './sources.js';
import { sameCopyAs } from './identity.js';
import { checkLocalCopy, damagedLocalCopy } from './whole-copy.js';

/** An archive file on this machine and its manifest. */
export interface LocalFile {
  file: string;
  manifest: Manifest;
}

export type CopyOutcome = 'uploaded' | 'already-there' | 'recorded-before' | 'failed';

export interface CopyStatus {
  archiveId: string;
  source: string;
  outcome: CopyOutcome;
  /** The confirmed copy (absent when the upload failed). */
  record?: CopyRecord;
  error?: BriError;
  /** The copy recorded before was gone or different (what the check found): this upload replaced it. */
  lost?: string;
  /** There was no local copy: the one uploaded was fetched from this source (copied across). */
  from?: string;
}

/** Events of an upload run, for the API's listeners and the CLI. */
export type ReplicationEvent =
  | { kind: 'upload-start'; archiveId: string; source: string; bytes: number }
  /** Bytes sent so far (every 1% or 4 MiB at most; from 0 again when the provider retries). */
  | { kind: 'upload-progress'; archiveId: string; source: string; doneBytes: number; totalBytes: number }
  | { kind: 'upload-done'; status: CopyStatus }
  | { kind: 'lifecycle'; source: string; applied: boolean; reason?: string };

/** The uploads a run is about to make, said once before the first byte (one progress total); never passed on to listeners. */
interface UploadPlan {
  kind: 'upload-plan';
  uploads: PlannedUpload[];
}

/** What an upload run tells its handler: the listeners' events and its plan. */
export type UploadRunEvent = ReplicationEvent | UploadPlan;

export interface ReplicateOptions {
  signal?: AbortSignal;
  onEvent?: (e: UploadRunEvent) => void;
  /** Ask each remote (a HEAD) whether a recorded copy is still there and the same; default false: the record is taken as it is. */
  confirmRecorded?: boolean;
}

export { fileSha256 } from './whole-copy.js';
export { remotesWanting } from './sources.js';

/** The object's HEAD, null when there is none (a missing bucket is a failure like any other). */
function headOrNull(remote: RemoteSource, key: string, signal?: AbortSignal): Promise<ObjectHead | null> {
  return remote.store.head(key, signal ? { signal } : {}).catch((err: unknown) => {
    if (isMissingObject(err)) return null;
    throw err;
  });
}

/** The SHA-256 of the object's bytes as stored now, read whole. */
async function storedSha256(remote: RemoteSource, key: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await remote.store.get(key, signal ? { signal } : {})) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sameLocation(remote: RemoteSource, other: string): BriError {
  return new BriError(ErrorCodes.CONFIG_INVALID, `${remote.name} stores this archive in the very file ${other === LOCAL_SOURCE ? 'of the archive directory' : `of remote ${other}`}: it is not another copy`, {
    hint: `Point remote ${remote.name} at a directory of its own (not the data directory, the archive directory or another remote's, directly or through a link).`,
    details: { source: remote.name, sameAs: other },
  });
}

async function copyTo(remote: RemoteSource, sources: ArchiveSources, archiveDir: string, archive: LocalFile, digest: { sha256: string; size: number }, opts: ReplicateOptions, found?: string): Promise<CopyStatus> {
  const archiveId = archive.manifest.archiveId;
  const base: Pick<CopyStatus, 'archiveId' | 'source' | 'lost'> = { archiveId, source: remote.name };
  const key = archiveObjectKey(archiveId);
  const record = (checksum: CopyRecord['checksum'], modified: Date | undefined): CopyRecord => ({
    ...{ version: 1, archiveId, source: remote.name, provider: remote.config.provider, location: objectLocation(remote, key), place: remotePlace(remote.store.describe()), key },
    ...{ size: digest.size, sha256: digest.sha256, checksum, confirmedAt: new Date().toISOString() },
    ...(modified ? { objectModified: modified.toISOString() } : {}),
  });
  try {
    // The same file under another name is no copy: checked before (nothing is uploaded over it) and after the put.
    const twin = await sameCopyAs(remote, key, archive.file, sources);
    if (twin !== null) throw sameLocation(remote, twin);
    let before = await readCopyRecord(archiveDir, archiveId, remote.name);
    // A record of the place the remote pointed at before says nothing of this one: it goes (the upload below writes this place's).
    if (before && !isRecordedHere(before, remote)) {
      await removeCopyRecord(archiveDir, archiveId, remote.name);
      before = null;
    }
    if (before && before.sha256 === digest.sha256 && before.size === digest.size) {
      const lost = found ?? (opts.confirmRecorded ? await recordedCopyProblem(remote.store, before, opts.signal) : null);
      if (lost === null) return { ...base, outcome: 'recorded-before', record: before };
      // The record is false now: gone before the upload, so that a failed upload leaves no copy counted there.
      await removeCopyRecord(archiveDir, archiveId, remote.name);
      base.lost = lost;
    }
    // An earlier run may have uploaded it and died before recording: the remote's own SHA-256 says so. Not for an object
    // the record stopped vouching for (its HEAD says the SHA-256 of the upload all the same), and on a local remote only
    // from its bytes: its HEAD reports what the sidecar saved at upload, which a file rewritten in place keeps.
    const head = base.lost !== undefined ? null : await headOrNull(remote, key, opts.signal);
    if (head && head.size === digest.size && head.checksums.sha256 === digest.sha256 && (remote.config.provider !== 'local' || (await storedSha256(remote, key, opts.signal)) === digest.sha256)) {
      const rec = record({ algorithm: 'sha256', value: digest.sha256 }, head.lastModified);
      await writeCopyRecord(archiveDir, rec);
      return { ...base, outcome: 'already-there', record: rec };
    }
    await assertLocalRemoteMounted(remote, archiveDir, opts);
    opts.onEvent?.({ kind: 'upload-start', archiveId, source: remote.name, bytes: digest.size });
    const step = Math.min(4 << 20, Math.max(1, Math.ceil(digest.size / 100)));
    let reported = -step;
    const onEvent = opts.onEvent;
    const onProgress = onEvent
      ? (doneBytes: number, totalBytes: number) => {
          if (doneBytes < reported || doneBytes - reported >= step || doneBytes === totalBytes) {
            reported = doneBytes;
            onEvent({ kind: 'upload-progress', archiveId, source: remote.name, doneBytes, totalBytes });
          }
        }
      : undefined;
    const put = await remote.store.put(
      key,
      { path: archive.file },
      {
        size: digest.size,
        sha256: digest.sha256,
        metadata: archiveMetadata(archive.manifest),
        contentType: 'application/x-tar',
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(onProgress ? { onProgress } : {}),
      },
    );
    const after = await sameCopyAs(remote, key, archive.file, sources);
    if (after !== null) throw sameLocation(remote, after);
    // The remote's own time of what it stored, for unvouched(): a copy written again later is no longer this one.
    const rec = record(put.checksum, (await headOrNull(remote, key, opts.signal).catch(() => null))?.lastModified);
    await writeCopyRecord(archiveDir, rec);
    return { ...base, outcome: 'uploaded', record: rec };
  } catch (err) {
    return { ...base, outcome: 'failed', error: err instanceof BriError ? err : asBriError(err, `upload of ${archiveId} to ${remote.name}`) };
  }
}

/**
 * Uploads one local archive to each remote, in parallel (each upload streams
 * from disk with the provider's bounded buffers). Never throws for a remote's
 * failure: the status says it, and no record is written for it.
 */
export async function replicateArchive(
  archive: LocalFile,
  sources: ArchiveSources,
  archiveDir: string,
  opts: ReplicateOptions = {},
  only?: string[],
  found?: Map<string, string>,
): Promise<CopyStatus[]> {
  const remotes = sources.remotes.filter((r) => only === undefined || only.includes(r.name));
  if (remotes.length === 0) return [];
  // The file is read whole before it goes anywhere: a rotted copy uploaded would replace a remote's whole one, or be
  // counted later as a copy that holds the archive (prune, WAL cleanup).
  const { problem, ...digest } = await checkLocalCopy(archive.file, archive.manifest.archiveId);
  const damaged = problem === null ? null : damagedLocalCopy(archive.manifest.archiveId, archive.file, problem, 'it was not uploaded');
  return Promise.all(
    remotes.map(async (r) => {
      const status: CopyStatus = damaged ? { archiveId: archive.manifest.archiveId, source: r.name, outcome: 'failed', error: damaged } : await copyTo(r, sources, archiveDir, archive, digest, opts, found?.get(r.name));
      opts.onEvent?.({ kind: 'upload-done', status });
      return status;
    }),
  );
}

/**
 * The pass after each create: uploads every local archive that some remote has no confirmed copy of, oldest first.
 * One listing of each remote checks the records (listedDoubts): a copy gone or rewritten is sent again, and one
 * whose local copy keepLocal removed is copied across from another source (`across`), as `bri archive upload` does.
 */
export async function uploadPending(archives: Array<LocalFile>, sources: ArchiveSources, archiveDir: string, opts: ReplicateOptions = {}, across?: CopyAcross): Promise<CopyStatus[]> {
  const records = await readAllCopyRecords(archiveDir);
  const listed = await listedDoubts(records, sources.remotes, archiveDir, opts.signal);
  const work = await pendingWork(archives, sources, records, opts, listed);
  const local = new Set(archives.map((a) => a.manifest.archiveId));
  const lostRemoteOnly = across !== undefined && [...listed.keys()].some((id) => !local.has(id));
  const scan = lostRemoteOnly ? await across.listing() : null;
  const acrossWork = scan ? remoteOnlyLacking(scan, records, sources).filter((w) => listed.has(w.entry.manifest.archiveId)) : [];
  await announce(work, opts.onEvent, acrossWork);
  const out = scan ? goneEverywhere(listed, local, scan, archiveDir, opts.onEvent) : [];
  out.push(...(await sendLocal(work, sources, archiveDir, opts)));
  if (acrossWork.length) out.push(...(await copyAcross(acrossWork.map((w) => ({ ...w, found: listed.get(w.entry.manifest.archiveId)! })), sources, archiveDir, across!.fetch, opts)));
  return out;
}

/**
 * A recorded copy the listing found gone, of an archive no source holds any more (every source answered): nothing
 * can be sent, and the record alone would keep saying "stored". A failure each pass, until a copy is put back or
 * the records go: the lines it held are in no archive.
 */
function goneEverywhere(listed: ListedDoubts, local: Set<string>, scan: MergedListing, archiveDir: string, onEvent: ReplicateOptions['onEvent']): CopyStatus[] {
  if (scan.unreachable.length > 0) return [];
  const out: CopyStatus[] = [];
  for (const [archiveId, found] of listed) {
    if (local.has(archiveId) || scan.archives.some((a) => a.manifest.archiveId === archiveId)) continue;
    for (const [source, what] of found) {
      const error = new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `archive ${archiveId}: ${what}, and no source holds another copy: the lines it held are in no archive now`, {
        hint: `Put a copy of ${archiveId}.bri back where it was, if one is kept anywhere. If it was deleted on purpose, remove its upload records (${shellArg(path.join(archiveDir, COPIES_DIR))}/${archiveId}.*.json) so that this stops being reported.`,
        details: { archiveId, source, goneEverywhere: true },
      });
      const status: CopyStatus = { archiveId, source, outcome: 'failed', error };
      onEvent?.({ kind: 'upload-done', status });
      out.push(status);
    }
  }
  return out;
}

/** Local archives and the remotes each goes to in a run (`found`: what a listing found wrong with a recorded copy). */
type LocalWork = Array<{ archive: LocalFile; missing: string[]; found?: Map<string, string> }>;

/** Every local archive that some remote it belongs on has no confirmed copy of (or a doubted one), and those remotes. */
async function pendingWork(archives: Array<LocalFile>, sources: ArchiveSources, records: Map<string, CopyRecord[]>, opts: ReplicateOptions, listed: ListedDoubts = new Map()): Promise<LocalWork> {
  const wantedOf = remotesWanting(archives.map((a) => a.manifest), sources, new Date());
  const wanted = (a: LocalFile) => wantedOf(a.manifest);
  // Asked for (`bri archive upload`): a HEAD per recorded copy. After a create: one listing per remote (listedDoubts).
  const doubted = opts.confirmRecorded ? await mapLimited(archives, 4, (a) => doubtedCopies(records.get(a.manifest.archiveId) ?? [], wanted(a), opts.signal)) : [];
  const work: LocalWork = [];
  for (const [i, a] of archives.entries()) {
    const have = records.get(a.manifest.archiveId) ?? [];
    const found = listed.get(a.manifest.archiveId);
    const missing = wanted(a).filter((r) => !have.some((c) => c.source === r.name && isRecordedHere(c, r)) || doubted[i]?.includes(r.name) || found?.has(r.name)).map((r) => r.name);
    if (missing.length) work.push({ archive: a, missing, ...(found ? { found } : {}) });
  }
  return work;
}

/** Uploads each archive of `work`, oldest first (the remotes of one archive in parallel). */
async function sendLocal(work: LocalWork, sources: ArchiveSources, archiveDir: string, opts: ReplicateOptions): Promise<CopyStatus[]> {
  const out: CopyStatus[] = [];
  for (const { archive, missing, found } of work) out.push(...(await replicateArchive(archive, sources, archiveDir, opts, missing, found)));
  return out;
}

/**
 * Says every upload of the run before the first starts, so that the progress total is known from the start
 * (a total that grew with each upload begun took the bar back from 100%). A file that cannot be read counts 0:
 * its upload fails and says why.
 */
async function announce(work: LocalWork, onEvent: ReplicateOptions['onEvent'], across: AcrossWork = []): Promise<void> {
  if (!onEvent) return;
  const uploads: PlannedUpload[] = [];
  for (const { archive, missing } of work) {
    const bytes = await fsp.stat(archive.file).then((st) => st.size, () => 0);
    for (const source of missing) uploads.push({ archiveId: archive.manifest.archiveId, source, bytes });
  }
  for (const { entry, missing } of across) for (const source of missing) uploads.push({ archiveId: entry.manifest.archiveId, source, bytes: entry.bytes });
  onEvent({ kind: 'upload-plan', uploads });
}

/**
 * The archives this archive directory uploaded before (a record of some remote) that have no local copy now and that a
 * remote they belong on (of `only`) lacks: no record of it there, or a listing of that remote without it.
 */
type AcrossWork = Array<{ entry: CatalogArchive; missing: string[]; found?: Map<string, string> }>;

function remoteOnlyLacking(listing: MergedListing, records: Map<string, CopyRecord[]>, sources: ArchiveSources, only?: string[]): AcrossWork {
  const listed = (r: RemoteSource) => !listing.unreachable.some((u) => u.source === r.name);
  const wanted = remotesWanting(listing.archives.map((a) => a.manifest), sources, new Date());
  const out: AcrossWork = [];
  for (const a of listing.archives) {
    const have = records.get(a.manifest.archiveId) ?? [];
    if (a.copies.some((c) => c.source === LOCAL_SOURCE) || have.length === 0) continue;
    // The listing's `recorded` is the record still vouching for the object listed (unvouched): one rewritten since is lacking.
    const holds = (r: RemoteSource) => have.some((c) => c.source === r.name && isRecordedHere(c, r)) && (!listed(r) || a.copies.some((c) => c.source === r.name && c.recorded && !c.damaged));
    const missing = wanted(a.manifest).filter((r) => (only === undefined || only.includes(r.name)) && !holds(r)).map((r) => r.name);
    if (missing.length) out.push({ entry: a, missing });
  }
  return out;
}

function cannotCopyAcross(archiveId: string, missing: string[], err: unknown): BriError {
  const cause = asBriError(err, `download of ${archiveId}`);
  return new BriError(ErrorCodes.REMOTE_ERROR, `archive ${archiveId} has no local copy to upload to ${missing.join(', ')}, and no other copy could be fetched to copy across: ${cause.message}`, {
    hint: `Make another copy readable (\`bri archive thaw ${archiveId}\`, \`bri archive repair ${archiveId}\`, or start its source), then run \`bri archive upload\` again.`,
    details: { archiveId, missing, noLocalCopy: true },
    cause,
  });
}

/** What copying across needs: the merged listing, and how to fetch and verify a copy. */
export interface CopyAcross {
  listing: () => Promise<MergedListing>;
  fetch: Omit<FetchOptions, 'order' | 'workDir' | 'sources' | 'archiveDir'>;
}

/** Copying across from the merged listing `scan`, fetching with the directory's key (if any) and repairing with PAR2. */
export function acrossVia(scan: () => Promise<MergedListing>, key: FetchOptions['key']): CopyAcross {
  return { listing: scan, fetch: { ...(key ? { key } : {}), repair: par2Repairer } };
}

/**
 * Copies archives that have no local copy (keepLocal removed it) to the remotes that lack them, from a copy on
 * another source: fetched and verified into a scratch file, uploaded from it, removed. Each status names the
 * source it came `from`; one whose copy cannot be fetched fails for each remote, saying why.
 */
async function copyAcross(work: AcrossWork, sources: ArchiveSources, archiveDir: string, fetch: CopyAcross['fetch'], opts: ReplicateOptions = {}): Promise<CopyStatus[]> {
  const out: CopyStatus[] = [];
  for (const { entry, missing, found } of work) {
    const archiveId = entry.manifest.archiveId;
    const tmp = scratchPath(archiveDir, `across-${archiveId}`);
    try {
      const order = sources.order.filter((s) => !missing.includes(s));
      const got = await downloadTo(entry, tmp, { ...fetch, sources, archiveDir, order, workDir: archiveDir, ...(opts.signal ? { signal: opts.signal } : {}) });
      // replicateArchive never throws (a failed upload is its status): only the fetch lands in the catch below.
      const sent = await replicateArchive({ file: tmp, manifest: entry.manifest }, sources, archiveDir, opts, missing, found);
      out.push(...sent.map((st) => ({ ...st, from: got.source })));
    } catch (err) {
      const error = cannotCopyAcross(archiveId, missing, err);
      for (const source of missing) {
        const status: CopyStatus = { archiveId, source, outcome: 'failed', error };
        opts.onEvent?.({ kind: 'upload-done', status });
        out.push(status);
      }
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }
  return out;
}

/** One handler for upload events: the caller's, and the bytes sent as one progress figure over the parallel uploads. */
export function uploadEvents(onEvent?: (e: ReplicationEvent) => void, onProgress?: ProgressListener): ((e: UploadRunEvent) => void) | undefined {
  if (!onEvent && !onProgress) return undefined;
  const progress = onProgress ? uploadProgress(onProgress) : undefined;
  return (e) => {
    if (e.kind === 'upload-plan') return progress?.plan(e.uploads);
    onEvent?.(e);
    if (e.kind === 'upload-progress') progress?.sent(e);
    if (e.kind === 'upload-done') progress?.ended(e.status.archiveId, e.status.source);
  };
}

/**
 * `upload`: one local archive (to the remotes in `only`, default every one), or every local
 * archive some remote (of `only`) has no confirmed copy of.
 */
export async function uploadArchives(archiveDir: string, sources: ArchiveSources, opts: { archiveId?: string; only?: string[]; onEvent?: (e: UploadRunEvent) => void; across?: CopyAcross }): Promise<CopyStatus[]> {
  // An upload asked for is the time to check the records: a copy removed behind our back is uploaded again.
  const ev: ReplicateOptions = { confirmRecorded: true, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) };
  if (opts.archiveId !== undefined) {
    const file = path.join(archiveDir, archiveFileName(opts.archiveId));
    const manifest = await readManifest(file).catch(() => {
      throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${opts.archiveId} in ${archiveDir}`, { hint: '`bri archive list` shows the archives there are.', details: { archiveId: opts.archiveId } });
    });
    const work: LocalWork = [{ archive: { file, manifest }, missing: sources.remotes.filter((r) => opts.only === undefined || opts.only.includes(r.name)).map((r) => r.name) }];
    await announce(work, opts.onEvent);
    return replicateArchive({ file, manifest }, sources, archiveDir, ev, opts.only);
  }
  const all = await listLocalArchives(archiveDir);
  const records = await readAllCopyRecords(archiveDir);
  const local: LocalWork = opts.only === undefined ? await pendingWork(all, sources, records, ev) : all.map((archive) => ({ archive, missing: opts.only! }));
  // An archive whose local copy is gone (keepLocal) and that a remote still lacks is said, and copied across if it can be.
  // Worked out before any upload (the local uploads touch neither its copies nor its records) so the plan holds both.
  const across = opts.across ? remoteOnlyLacking(await opts.across.listing(), records, sources, opts.only) : [];
  await announce(local, opts.onEvent, across);
  const out = await sendLocal(local, sources, archiveDir, ev);
  if (opts.across) out.push(...(await copyAcross(across, sources, archiveDir, opts.across.fetch, ev)));
  return out;
}
