/**
 * The archives of every source, merged by id: for each archive its manifest
 * and where each copy lives (the local directory, the remotes). A remote's
 * manifest is read with a ranged GET of the object's first bytes (it is the
 * package's first member), or taken from the local copy when our own record
 * says the remote holds that very file. A source that cannot be listed is
 * reported, not fatal: the others still answer.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BriError, ErrorCodes, isBriError, shellArg } from '../../errors.js';
import { fileIdentity, isColdObject } from '../../remote/index.js';
import { LOCAL_REMOTE_MARKER } from '../../remote/local.js';
import { readArchiveState } from '../../store/archive-state.js';
import type { Manifest } from '../../format/manifest.js';
import type { ObjectInfo, ProviderName } from '../../remote/remote.js';
import { missingLocalSource, scanArchiveDir, unmountedArchiveDir, type LocalArchive } from './local-catalog.js';
import { ARCHIVE_EXTENSION } from '../package/ids.js';
import { par2Repairer } from '../package/repairer.js';
import { COPIES_DIR, isRecordedHere, readAllCopyRecords, unvouched, type CopyRecord } from './records.js';
import { existingDir, scratchPath, sweepScratch } from '../package/scratch.js';
import { repairArchive } from '../package/recovery.js';
import { MAX_MANIFEST_BYTES, readManifest, readManifestFrom } from '../package/reader.js';
import { archiveIdFromKey, ARCHIVE_KEY_PREFIX, LOCAL_SOURCE, objectLocation, type ArchiveSources, type RemoteSource } from './sources.js';
import { freshFile } from '../../store/durable-fs.js';

export interface ArchiveCopy {
  source: string;
  provider: ProviderName;
  /** The file (local) or the object's location (remote). */
  location: string;
  bytes: number;
  file?: string;
  key?: string;
  /** A confirmed upload recorded on this machine (size and checksum matched). */
  recorded: boolean;
  /** The copy's own manifest could not be read (damage): listed from another copy, to be repaired on use. */
  damaged?: true;
  /** Its manifest could not be read because the object is in an archive tier (S3 Glacier, Azure Archive): `thaw` it. */
  frozen?: true;
  /**
   * The identity of the bytes where the source can tell one (a local file's device and inode).
   * Copies with one identity are one copy under two names: never counted as two, never removed as if another remained.
   */
  identity?: string;
}

/** One archive across sources. `file` is the local copy, if there is one. */
export interface CatalogArchive {
  manifest: Manifest;
  bytes: number;
  file: string | null;
  copies: ArchiveCopy[];
}

export interface SourceFailure {
  source: string;
  error: BriError;
}

export interface UnreadableCopy {
  source: string;
  location: string;
  error: BriError;
  /** The id its object name gives (remote copies), when valid. */
  archiveId?: string;
}

export interface MergedListing {
  archives: CatalogArchive[];
  unreadable: UnreadableCopy[];
  /** Sources that could not be listed (down, refused). */
  unreachable: SourceFailure[];
}

/** Manifests of remote objects, by source, key, size and date (objects are immutable in practice). */
export type ManifestCache = Map<string, Manifest>;

const cloned = (m: Manifest | undefined): Manifest | undefined => (m === undefined ? undefined : structuredClone(m));

const PROBE_BYTES = 256 * 1024;

/** Reads the manifest at the start of a remote object: a small range first, more if the manifest is larger. */
export async function readRemoteManifest(remote: RemoteSource, key: string, size: number): Promise<Manifest> {
  const name = objectLocation(remote, key);
  // No byte range reads an empty object (its end would be -1): it is no archive, as any other object that is none.
  if (size === 0) throw new BriError(ErrorCodes.ARCHIVE_INVALID, `${name} is empty (0 bytes): not an archive`, { hint: 'A file of 0 bytes holds no archive: remove it, or put the archive back under this name.', details: { empty: true } });
  try {
    return await readManifestFrom(await remote.store.get(key, { range: { start: 0, end: Math.min(size, PROBE_BYTES) - 1 } }), name);
  } catch (err) {
    if (size <= PROBE_BYTES || !isBriError(err, ErrorCodes.ARCHIVE_CORRUPTED)) throw err;
    return readManifestFrom(await remote.store.get(key, { range: { start: 0, end: Math.min(size, MAX_MANIFEST_BYTES + 1024) - 1 } }), name);
  }
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

interface RemoteListing {
  found: Array<{ manifest: Manifest; copy: ArchiveCopy }>;
  unreadable: Array<UnreadableCopy & { copy: ArchiveCopy }>;
}

async function listRemote(remote: RemoteSource, records: Map<string, CopyRecord[]>, local: Map<string, LocalArchive>, cache: ManifestCache, archiveDir: string): Promise<RemoteListing> {
  const objects: Array<{ id: string; key: string; size: number; lastModified: Date }> = [];
  for await (const o of remote.store.list(ARCHIVE_KEY_PREFIX)) {
    const id = archiveIdFromKey(o.key);
    if (id) objects.push({ id, key: o.key, size: o.size, lastModified: o.lastModified });
  }
  const unmounted = remote.config.provider === 'local' ? await unmountedLocalRemote(remote, records, objects, archiveDir) : null;
  if (unmounted) throw unmounted;
  const unreadable: RemoteListing['unreadable'] = [];
  const found = await mapLimited(objects, 4, async (o) => {
    // A record vouches for the object it confirmed, not for one written there since (a file copied over it, an object
    // replaced, of the same size): that one is no confirmed upload, and its own manifest says what it holds.
    const rec = records.get(o.id)?.find((r) => r.source === remote.name && isRecordedHere(r, remote) && unvouched(r, o) === null) ?? null;
    const mine = local.get(o.id);
    const cacheKey = `${remote.name}\n${o.key}\n${o.size}\n${o.lastModified.getTime()}`;
    const identity = remote.store.identify ? await remote.store.identify(o.key) : null;
    const copy: ArchiveCopy = { source: remote.name, provider: remote.config.provider, location: objectLocation(remote, o.key), bytes: o.size, key: o.key, recorded: rec !== null, ...(identity ? { identity } : {}) };
    // A copy of the cached one: listings are handed to the application, which may reshape what it gets in place.
    let manifest = rec && mine && mine.bytes === o.size ? mine.manifest : cloned(cache.get(cacheKey));
    if (!manifest) {
      try {
        manifest = await readRemoteManifest(remote, o.key, o.size);
        if (manifest.archiveId !== o.id) throw new BriError(ErrorCodes.ARCHIVE_INVALID, `${o.key} holds archive ${manifest.archiveId}`, { hint: 'The object was renamed or replaced; it is not used.' });
        cache.set(cacheKey, structuredClone(manifest));
      } catch (err) {
        if (!isBriError(err)) throw err;
        // A transport failure is the source's, not the copy's; a copy in an archive tier is the copy's (frozen, not damaged).
        const cold = isColdObject(err);
        if ((err.code === ErrorCodes.REMOTE_ERROR && !cold) || err.code === ErrorCodes.REMOTE_NOT_FOUND) throw err;
        // A damaged manifest is repaired with the copy's PAR2 data, as a local copy's is (the copy stays marked damaged).
        const repaired = cold || o.size === 0 ? null : await manifestOfDamagedCopy(remote, o.key, archiveDir).catch(() => null);
        if (repaired?.archiveId === o.id) return { manifest: repaired, copy: { ...copy, damaged: true as const } };
        unreadable.push({ source: remote.name, location: copy.location, error: err, archiveId: o.id, copy: { ...copy, ...(cold ? { frozen: true } : { damaged: true }) } });
        return null;
      }
    }
    return { manifest, copy };
  });
  return { found: found.filter((x): x is NonNullable<typeof x> => x !== null), unreadable };
}

/**
 * A local remote whose disk is not mounted is its mount point, an empty directory: what is put there goes to this
 * machine's disk, hidden once the disk is back, and must never count as a copy. Told by the copies this archive
 * directory confirmed there: none of those confirmed before the store's marker was made (every one, with no marker)
 * is listed. The first put on the disk makes its marker before any copy there is confirmed; one made later was
 * made elsewhere. REMOTE_NOT_FOUND, or null.
 */
async function unmountedLocalRemote(remote: RemoteSource, records: Map<string, CopyRecord[]>, listed: ReadonlyArray<{ key: string; size: number }>, archiveDir: string): Promise<BriError | null> {
  const d = remote.store.describe();
  const dir = path.join(d.path ?? '', d.prefix);
  const marker = await fsp.readFile(path.join(dir, LOCAL_REMOTE_MARKER), 'utf8').then((t) => Date.parse((JSON.parse(t) as { createdAt?: string } | null)?.createdAt ?? '')).catch(() => NaN);
  const mine = [...records.values()].flat().filter((r) => r.source === remote.name && isRecordedHere(r, remote));
  const before = Number.isNaN(marker) ? mine : mine.filter((r) => Date.parse(r.confirmedAt) < marker);
  if (before.length === 0 || before.some((r) => listed.some((o) => o.key === r.key && o.size === r.size))) return null;
  return new BriError(ErrorCodes.REMOTE_NOT_FOUND, `${remote.name}: ${dir} holds none of the ${before.length} archive ${before.length === 1 ? 'copy' : 'copies'} this machine confirmed there (${before[0]!.archiveId}${before.length > 1 ? ', ...' : ''}): is its disk or share not mounted?`, {
    hint:
      `Mount it at ${d.path} and run the command again: until then no copy there counts, and anything written there goes to this machine's disk under the mount point. ` +
      `If its copies were deleted on purpose, remove their upload records (${shellArg(path.join(archiveDir, COPIES_DIR))}/*.${remote.name}.json), then \`bri archive upload\`.`,
    details: { provider: 'local', source: remote.name, path: dir, missing: 'directory', notMounted: true, confirmedThere: before.length, retryable: false },
  });
}

/** What each remote's listing found wrong with recorded copies: archiveId -> remote -> what. */
export type ListedDoubts = Map<string, Map<string, string>>;

/**
 * The recorded copies a listing of their remote no longer shows as confirmed: gone (a deleted bucket or prefix, an
 * expiry rule, a person) or no longer vouched for (`unvouched`). One LIST per remote, no HEAD per archive, so the
 * upload pass after every create can afford it: a record alone would keep saying "stored" for years. A remote that
 * cannot be listed, or a local one that looks unmounted, doubts nothing here: its uploads fail and say why.
 */
export async function listedDoubts(records: Map<string, CopyRecord[]>, remotes: RemoteSource[], archiveDir: string, signal?: AbortSignal): Promise<ListedDoubts> {
  const out: ListedDoubts = new Map();
  await Promise.all(
    remotes.map(async (remote) => {
      const mine = [...records.values()].flat().filter((r) => r.source === remote.name && isRecordedHere(r, remote));
      if (mine.length === 0) return;
      const listed = new Map<string, ObjectInfo>();
      try {
        for await (const o of remote.store.list(ARCHIVE_KEY_PREFIX, signal ? { signal } : {})) listed.set(o.key, o);
        if (remote.config.provider === 'local' && (await unmountedLocalRemote(remote, records, [...listed.values()], archiveDir))) return;
      } catch {
        return;
      }
      for (const rec of mine) {
        const obj = listed.get(rec.key);
        const problem = obj === undefined ? `the copy recorded at ${rec.location} is gone` : unvouched(rec, obj);
        if (problem !== null) (out.get(rec.archiveId) ?? out.set(rec.archiveId, new Map()).get(rec.archiveId)!).set(remote.name, problem);
      }
    }),
  );
  return out;
}

/** The local remotes an upload run (its options object) found mounted: checked once per run, not once per archive. */
const mountedInRun = new WeakMap<object, Set<string>>();

/**
 * An upload onto a local remote whose disk is not mounted (unmountedLocalRemote) would land under the mount point: refused.
 * `run` (the upload run's options) keeps the answer for that run: the check lists the store and reads every upload record.
 */
export async function assertLocalRemoteMounted(remote: RemoteSource, archiveDir: string, run?: object): Promise<void> {
  if (remote.config.provider !== 'local') return;
  const seen = run === undefined ? new Set<string>() : (mountedInRun.get(run) ?? mountedInRun.set(run, new Set()).get(run)!);
  if (seen.has(remote.name)) return;
  const listed: Array<{ key: string; size: number }> = [];
  for await (const o of remote.store.list(ARCHIVE_KEY_PREFIX)) listed.push(o);
  const unmounted = await unmountedLocalRemote(remote, await readAllCopyRecords(archiveDir), listed, archiveDir);
  if (unmounted) throw unmounted;
  seen.add(remote.name);
}

export function sortArchives<T extends { manifest: Manifest }>(list: T[]): T[] {
  return list.sort((a, b) => a.manifest.timeRange.walLines.start - b.manifest.timeRange.walLines.start || a.manifest.createdAt.getTime() - b.manifest.createdAt.getTime());
}

type LocalListing = { archives: LocalArchive[]; unreadable: Array<{ file: string; error: BriError }> };

/**
 * The archive directory's listing with each `<id>.bri` whose manifest reads once PAR2 has repaired a scratch
 * copy of it listed as that archive (`damaged`: those files), as a remote copy's damaged manifest is: the
 * listing then says which archive is damaged, as get, download and restore do, not only that a file is unreadable.
 */
async function repairedManifests(listing: LocalListing): Promise<LocalListing & { damaged: Set<string> }> {
  const damaged = new Set<string>();
  const archives = [...listing.archives];
  const unreadable: LocalListing['unreadable'] = [];
  for (const bad of listing.unreadable) {
    const st = bad.error.details?.misplaced === true ? null : await fsp.stat(bad.file).catch(() => null);
    const fixed = st?.isFile() ? await par2Repairer(bad.file) : null;
    const manifest = fixed ? await readManifest(fixed.file).catch(() => null).finally(() => fsp.rm(fixed.file, { force: true })) : null;
    if (!st || manifest?.archiveId + ARCHIVE_EXTENSION !== path.basename(bad.file)) unreadable.push(bad);
    else {
      archives.push({ file: bad.file, bytes: st.size, manifest: manifest!, identity: fileIdentity(st) });
      damaged.add(bad.file);
    }
  }
  return { archives: sortArchives(archives), unreadable, damaged };
}

/** Lists the given sources (default: all) and merges them by archive id. */
export async function listSources(
  archiveDir: string,
  sources: ArchiveSources,
  opts: { only?: string[]; cache?: ManifestCache; localListing?: { archives: LocalArchive[]; unreadable: Array<{ file: string; error: BriError }> }; dataDir?: string } = {},
): Promise<MergedListing> {
  const wanted = opts.only ?? sources.all;
  // What killed fetches and repairs left in the archive directory goes with the next listing there.
  await sweepScratch(archiveDir);
  // Neither the data directory nor the archive directory, and nothing else to list: an error, not "no archives".
  // With remotes (a new machine after a loss), the remotes' answer stands and the local source simply holds nothing.
  const missing = opts.dataDir !== undefined && wanted.length === 1 && wanted[0] === LOCAL_SOURCE ? await missingLocalSource(opts.dataDir, archiveDir) : null;
  if (missing) throw missing;
  // A restore passes the listing it repaired itself; a listing of its own repairs what PAR2 can, in scratch copies.
  const localListing = opts.localListing ? { ...opts.localListing, damaged: new Set<string>() } : await repairedManifests(await scanArchiveDir(archiveDir));
  const localById = new Map(localListing.archives.map((a) => [a.manifest.archiveId, a]));
  const records = await readAllCopyRecords(archiveDir);
  const byId = new Map<string, CatalogArchive>();
  const unreadable: UnreadableCopy[] = [];
  const unreachable: SourceFailure[] = [];
  const add = (manifest: Manifest, copy: ArchiveCopy, file: string | null) => {
    const e = byId.get(manifest.archiveId);
    if (!e) byId.set(manifest.archiveId, { manifest, bytes: copy.bytes, file, copies: [copy] });
    else {
      e.copies.push(copy);
      if (file && !e.file) e.file = file;
    }
  };
  if (wanted.includes(LOCAL_SOURCE)) {
    for (const a of localListing.archives) {
      const damaged = localListing.damaged.has(a.file) ? { damaged: true as const } : {};
      add(a.manifest, { source: LOCAL_SOURCE, provider: 'local', location: a.file, bytes: a.bytes, file: a.file, recorded: true, ...damaged, ...(a.identity ? { identity: a.identity } : {}) }, a.file);
    }
    for (const u of localListing.unreadable) unreadable.push({ source: LOCAL_SOURCE, location: u.file, error: u.error });
  }
  const remotes = sources.remotes.filter((r) => wanted.includes(r.name));
  const results = await Promise.all(
    remotes.map(async (r) => {
      try {
        return { r, listing: await listRemote(r, records, localById, opts.cache ?? new Map(), archiveDir) };
      } catch (err) {
        unreachable.push({ source: r.name, error: isBriError(err) ? err : new BriError(ErrorCodes.REMOTE_ERROR, `${r.name}: ${(err as Error).message}`, { cause: err }) });
        return null;
      }
    }),
  );
  // Merged in source order, so that a copy list reads local, then the remotes as configured.
  for (const res of results) {
    if (!res) continue;
    for (const f of res.listing.found) add(f.manifest, f.copy, null);
  }
  // A copy whose manifest is damaged still counts where another copy says what it is: PAR2 may repair it.
  for (const res of results) {
    for (const { copy, ...u } of res?.listing.unreadable ?? []) {
      unreadable.push(u);
      const e = u.archiveId !== undefined ? byId.get(u.archiveId) : undefined;
      if (e) e.copies.push(copy);
    }
  }
  // Every source read, and neither they nor the archive directory hold what bri-archive.json says was made there: a disk not mounted, not "no archives".
  if (opts.dataDir !== undefined && sources.all.every((s) => wanted.includes(s)) && unreachable.length === 0) {
    const state = await readArchiveState(opts.dataDir).catch(() => null);
    const unmounted = await unmountedArchiveDir(state, archiveDir, (id) => !byId.has(id) && !unreadable.some((u) => u.archiveId === id), opts.dataDir);
    if (unmounted) throw unmounted;
  }
  return { archives: sortArchives([...byId.values()]), unreadable, unreachable };
}

/**
 * "Not found" is an answer only when every source was read: with one that could not be (a bucket
 * name mistyped, the server down), what was looked for may well be there, and the answer is that
 * source's error (its code and hint), naming each source not read.
 */
export function notFoundUnlessUnread(notFound: BriError, unread: ReadonlyArray<SourceFailure> = []): BriError {
  const first = unread[0];
  if (!first) return notFound;
  const names = unread.map((u) => u.source).join(', ');
  return new BriError(first.error.code, `${notFound.message}: ${names} could not be read (${first.error.message})`, {
    hint: first.error.hint ?? 'Check the network, the credentials and where the remote points, then try again; or restore from another source (--source).',
    details: { ...notFound.details, unreachable: unread.map((u) => ({ source: u.source, code: u.error.code })) },
    cause: first.error,
  });
}

/**
 * The manifest of a remote copy whose first bytes are damaged. A listing reads a remote copy's manifest
 * from a ranged GET; when that fails its checks, the copy is not given up: like a local copy, it is fetched
 * whole and repaired with its own PAR2 data, and its manifest read from the repaired bytes, so that it can be
 * planned from and restored (the restore repairs it again before use). Both files are scratch files beside
 * the archive directory, removed before this returns. Throws (ARCHIVE_CORRUPTED, REMOTE_ERROR...) when the
 * copy cannot be fetched or repaired.
 */
async function manifestOfDamagedCopy(remote: RemoteSource, key: string, archiveDir: string): Promise<Manifest> {
  // The archive directory may not exist yet (a restore into an empty place): beside it, then.
  const dir = await existingDir(archiveDir);
  await sweepScratch(dir);
  const name = path.basename(key);
  const copy = scratchPath(dir, `download-${name}-from-${remote.name}`);
  const fixed = scratchPath(dir, `repaired-${name}`);
  try {
    await pipeline(await remote.store.get(key), (await freshFile(copy, 0o600)).createWriteStream());
    const r = await repairArchive(copy, fixed);
    return await readManifest(r.repaired ? fixed : copy);
  } finally {
    await fsp.rm(copy, { force: true });
    await fsp.rm(fixed, { force: true });
  }
}
