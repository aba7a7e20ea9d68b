/**
 * Where things are kept must never overlap: the data directory, the archive directory, each remote's location
 * and a restore target. Settings valid one by one can be dangerous together: a local remote whose path is the
 * data directory makes the archive directory's files count as their own "remote copy", and pruning or a clean
 * restore then deletes the only copy.
 * Paths are compared by real path (symlinks resolved, as far as they exist), remotes by what their store points at.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRegularFileSync } from '../../store/files/regular-file.js';
import { resolveUserPath } from '../../store/files/user-path.js';
import { BriError, ErrorCodes } from '../../errors.js';
import type { RemoteDescription } from '../../remote/remote.js';
import { assertDirectoryInput, assertRegularFileInput } from '../package/input-file.js';
import { ARCHIVE_STATE_FILE, DATA_DIR_ENTRIES, LOCK_FILE, SNAPSHOT_FILE, WAL_DIR, segmentIndex } from '../../store/layout.js';
// archive-dir-owner imports this file too: each uses the other's names only inside functions, so the cycle is safe.
import { ARCHIVE_DIR_OWNER_FILE } from './archive-dir-owner.js';

export const DEFAULT_ARCHIVE_SUBDIR = 'archives';

/** The archive directory a configuration gives a data directory (default `<dataDir>/archives`). */
export function archiveDirFor(dataDir: string, config: { localDir?: string | undefined }): string {
  return path.resolve(config.localDir ?? path.join(dataDir, DEFAULT_ARCHIVE_SUBDIR));
}

/** A place and the setting it comes from, for messages that name both sides. */
export interface Place {
  setting: string;
  path: string;
}

/** The real path of `p`: symlinks of the part that exists resolved, the rest appended (`..` as the kernel takes it, user-path.ts). */
export function realPath(p: string): string {
  const abs = resolveUserPath(p, { what: 'the path' });
  const rest: string[] = [];
  for (let dir = abs; ; dir = path.dirname(dir)) {
    try {
      return path.join(fs.realpathSync.native(dir), ...rest.reverse());
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return abs;
      rest.push(path.basename(dir));
    }
  }
}

/** Whether `inner` is `outer` or lies below it (both real, absolute paths). */
export function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The folders a remote keeps objects in (archives, shipped WAL): each may be a link of its own. */
const REMOTE_FOLDERS = ['archives', 'shipped'];

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/**
 * Where `inner` lies inside `outer` ('' for `outer` itself), or null. By path, else by device and inode:
 * a bind mount shows one directory at two paths no string comparison relates, so `outer` is looked for
 * among `inner`'s existing ancestors (a restore target through a mount of the data directory's parent).
 */
function pathInside(inner: string, outer: string): string | null {
  if (isWithin(inner, outer)) return path.relative(outer, inner);
  const o = statOrNull(outer);
  if (o === null || !o.isDirectory()) return null;
  const rest: string[] = [];
  for (let dir = inner; ; dir = path.dirname(dir)) {
    const st = statOrNull(dir);
    if (st !== null && st.dev === o.dev && st.ino === o.ino) return rest.reverse().join(path.sep);
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    rest.push(path.basename(dir));
  }
}

/** Whether `inner` is `outer` or lies below it, by real path or through another mount of one of its ancestors. */
function isInside(inner: string, outer: string): boolean {
  return pathInside(inner, outer) !== null;
}

function overlap(a: string, b: string): boolean {
  return isInside(a, b) || isInside(b, a);
}

function relation(a: Place, b: Place): string {
  if (pathInside(a.path, b.path) === '') return 'is the same directory as';
  return isInside(a.path, b.path) ? 'is inside' : 'contains';
}

function refused(code: typeof ErrorCodes.CONFIG_INVALID | typeof ErrorCodes.USAGE, a: Place, b: Place, why: string): BriError {
  return new BriError(code, `${a.setting} (${a.path}) ${relation(a, b)} ${b.setting} (${b.path}): ${why}`, {
    hint: 'Keep the data directory, the archive directory, each local remote and a restore target apart (none inside another); the archive directory may be a subdirectory of the data directory of its own (the default, archives/).',
    details: { settings: [a.setting, b.setting], paths: [a.path, b.path] },
  });
}

/** A remote as the location check sees it: its setting's name and where its store points. */
export interface RemotePlace {
  setting: string;
  description: RemoteDescription;
}

/** Local remotes: the directory their objects live in. Others: null (compared by `remoteIdentity`). */
function localRemoteDir(d: RemoteDescription): string | null {
  return d.provider === 'local' && d.path !== undefined ? path.join(realPath(d.path), d.prefix) : null;
}

/**
 * Where a local remote keeps its objects, each followed through links (a prefix, or an archives/ linked to
 * a mounted disk's folder, is a place of its own): its directory and the folders it writes into.
 */
function localRemotePlaces(r: RemotePlace): Place[] {
  const dir = localRemoteDir(r.description);
  if (dir === null) return [];
  return [dir, ...REMOTE_FOLDERS.map((f) => path.join(dir, f))].map((p) => ({ setting: r.setting, path: realPath(p) }));
}

/** The provider's own service, whatever spelling of it an endpoint uses (bucket names are global there). */
const PROVIDER_HOSTS: Partial<Record<RemoteDescription['provider'], RegExp>> = {
  s3: /(^|\.)amazonaws\.com(\.cn)?$/,
  gcs: /(^|\.)(storage\.googleapis\.com|storage\.cloud\.google\.com)$/,
  azure: /(^|\.)blob\.core\.windows\.net$/,
};
/** Every name of this machine: URL writes an IPv4-mapped 127.x.y.z as [::ffff:7fxx:yyzz], and a connection to 0.0.0.0 or [::] lands here too. */
const LOOPBACK = /^(localhost\.?|127(\.\d{1,3}){3}|\[::1\]|::1|\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]|0\.0\.0\.0|\[::\])$/;

/**
 * Where an endpoint leads, told apart only where it can be: no endpoint and any spelling of the
 * provider's own service are one place; every loopback name of one port is one server; otherwise
 * the host (lower case), port (the scheme's default if none) and path.
 */
function endpointPlace(provider: RemoteDescription['provider'], endpoint: string | undefined): string {
  if (endpoint === undefined) return 'default';
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return endpoint;
  }
  const host = u.hostname.toLowerCase();
  if (PROVIDER_HOSTS[provider]?.test(host)) return 'default';
  const port = u.port !== '' ? u.port : u.protocol === 'http:' ? '80' : '443';
  return `${LOOPBACK.test(host) ? 'loopback' : host}:${port}${u.pathname.replace(/\/+$/, '')}`;
}

/** <account>(-secondary)?.(privatelink.)?blob.<suffix>: the secondary and private endpoints reach the same blobs. */
const AZURE_ACCOUNT_HOST = /^([a-z0-9]+)(?:-secondary)?\.(?:privatelink\.)?blob\.(.+)$/;

/**
 * The service and account an Azure endpoint leads to. The URL decides where blobs go, whatever
 * the credentials (a SAS token names no account, a shared key's account name only signs), so the
 * account is read from it as the SDK does: the host's first label, or on a path-style endpoint
 * (Azurite) the path's first segment. Any other host (a custom domain) is one account by itself.
 */
function azureService(d: RemoteDescription): [service: string, account: string] {
  const endpoint = d.endpoint ?? (d.account !== undefined ? `https://${d.account}.blob.core.windows.net` : undefined);
  let u: URL;
  try {
    u = new URL(endpoint ?? '');
  } catch {
    return [endpoint ?? 'default', d.account ?? ''];
  }
  const byHost = AZURE_ACCOUNT_HOST.exec(u.hostname.toLowerCase());
  if (byHost) return [byHost[2] === 'core.windows.net' ? 'default' : `blob.${byHost[2]}`, byHost[1]!];
  return [endpointPlace('azure', endpoint), u.pathname.split('/').find((s) => s !== '') ?? ''];
}

/** The container a cloud remote writes into: provider, endpoint (or the provider's own), account, bucket or container. */
function remoteContainer(d: RemoteDescription): string {
  const [service, account] = d.provider === 'azure' ? azureService(d) : [endpointPlace(d.provider, d.endpoint), d.account ?? ''];
  return [d.provider, service, account, d.bucket ?? d.container ?? ''].join('|');
}

/**
 * Where a remote's objects go, as one canonical string: a local remote's real directory, else the
 * container (provider, endpoint, account, bucket or container) and the prefix. Two spellings of one
 * place give one string; a remote re-pointed (another bucket, prefix, endpoint or directory) another.
 */
export function remotePlace(d: RemoteDescription): string {
  return localRemoteDir(d) ?? `${remoteContainer(d)}|${d.prefix}`;
}

/** Two prefixes in one container overlap when one is a prefix of the other by whole segments. */
function prefixesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

export interface LocationSettings {
  dataDir: string;
  archiveDir: string;
  remotes: readonly RemotePlace[];
  /**
   * Where bri-archive.json says this data directory's archives are made, when another than archiveDir
   * (a command line without the database's localDir): a restore protects and carries it over all the same.
   */
  recordedArchiveDir?: string;
}

/**
 * Refuses (CONFIG_INVALID, naming both settings) any overlap between the data directory, the
 * archive directory and the remotes' locations, and two remotes that resolve to one location.
 * The archive directory may lie inside the data directory, as its own entry (a restore carries
 * it over), never as the data directory itself, its wal/ or any other entry the store owns.
 */
export function checkLocations(s: LocationSettings): void {
  const data: Place = { setting: 'the data directory', path: realPath(s.dataDir) };
  const archives: Place = { setting: 'the archive directory (archive.localDir, --archive-dir)', path: realPath(s.archiveDir) };
  if (overlap(archives.path, data.path)) {
    const rel = pathInside(archives.path, data.path);
    const first = rel?.split(path.sep)[0] ?? '';
    if (rel === null || rel === '' || DATA_DIR_ENTRIES.includes(first)) {
      throw refused(ErrorCodes.CONFIG_INVALID, archives, data, rel === null || rel === '' ? 'archives and the data directory would be one tree' : `${first} belongs to the store, which rewrites and removes what is in it`);
    }
  }
  assertNoOtherDatabase(archives, data.path, 'archives');
  const locals: Place[] = [];
  const clouds: Array<{ setting: string; container: string; prefix: string }> = [];
  for (const r of s.remotes) {
    const dir = localRemoteDir(r.description);
    if (dir === null) {
      const container = remoteContainer(r.description);
      for (const c of clouds) {
        if (c.container === container && prefixesOverlap(c.prefix, r.description.prefix)) {
          throw new BriError(ErrorCodes.CONFIG_INVALID, `${r.setting} and ${c.setting} point at one location (${r.description.location}): pruning one would delete the other's copies`, {
            hint: 'Give each remote its own bucket, container or prefix (prefixes must not contain one another).',
            details: { settings: [c.setting, r.setting] },
          });
        }
      }
      clouds.push({ setting: r.setting, container, prefix: r.description.prefix });
      continue;
    }
    const places = localRemotePlaces(r);
    for (const place of places) {
      for (const other of [data, archives, ...locals]) {
        if (overlap(place.path, other.path)) {
          throw refused(ErrorCodes.CONFIG_INVALID, place, other, other === data || other === archives ? 'its copies would be the same files, and removing one copy would remove them' : 'two remotes would hold one copy, and pruning one would delete the other\'s');
        }
      }
    }
    for (const place of places) assertNoOtherDatabase(place, data.path, 'copies');
    locals.push(...places);
  }
}

/** What only a BRI data directory holds: the store's snapshot or lock, the archive layer's state, or a wal/ of segments. */
export function isDataDirectory(dir: string): boolean {
  if ([SNAPSHOT_FILE, ARCHIVE_STATE_FILE, LOCK_FILE].some((f) => statOrNull(path.join(dir, f))?.isFile() === true)) return true;
  try {
    return fs.readdirSync(path.join(dir, WAL_DIR)).some((n) => segmentIndex(n) !== null);
  } catch {
    return false;
  }
}

/** The data directory an archive directory's owner file names (unreadable: an unknown one, ''), or null when `dir` holds none. */
export function archiveDirOwner(dir: string): string | null {
  let text: string;
  try {
    text = readRegularFileSync(path.join(dir, ARCHIVE_DIR_OWNER_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const owner = (JSON.parse(text) as { dataDir?: unknown }).dataDir;
    return typeof owner === 'string' ? owner : '';
  } catch {
    return '';
  }
}

/**
 * Refuses a local remote, or the archive directory, in another database's data directory (its place or any
 * folder above it, up to this database's own), and a local remote in the archive directory another data
 * directory archives into: that database takes the copies there as its own (its first archive adopts them,
 * its prune deletes them), and its restore replaces its whole directory, deleting them with --clean-existing.
 * Looked at on every use of the settings, not once: the other database may have been made after they were
 * accepted. The archive directory's own owner is assertArchiveDirOwner's (a database moved keeps its own).
 */
function assertNoOtherDatabase(place: Place, ownDataDir: string, what: 'copies' | 'archives'): void {
  for (let dir = place.path, below = ''; dir !== ownDataDir && dir !== below; below = dir, dir = path.dirname(dir)) {
    const owner = what === 'copies' ? archiveDirOwner(dir) : null;
    // Another database's own archive directory (carried over by its restores) may be read from; its owner file decides on writes.
    const data = isDataDirectory(dir) && !(what === 'archives' && below !== '' && (path.basename(below) === DEFAULT_ARCHIVE_SUBDIR || archiveDirOwner(below) !== null));
    if (data || (owner !== null && owner !== ownDataDir)) {
      const other = data ? `another database's data directory ${dir}` : `the archive directory ${dir} of the data directory ${owner || '(unreadable)'}`;
      const why = what === 'copies' ? 'that database takes the copies there as its own, and its prune or a restore with --clean-existing deletes them' : 'that database\'s restore replaces its whole directory, deleting them with --clean-existing';
      throw new BriError(ErrorCodes.CONFIG_INVALID, `${place.setting} (${place.path}) ${dir === place.path ? 'is' : 'is inside'} ${other}: ${why}`, {
        hint: `Point ${place.setting} at a directory of its own, outside every database's data directory and archive directory (a folder beside ${dir}, for example); ${what === 'copies' ? 'copies it already wrote there (archives/, shipped/) go with it' : 'move the archives already made there (and bri-archive-dir.json) with it'}.`,
        details: { setting: place.setting, path: place.path, otherDirectory: dir },
      });
    }
  }
}

/**
 * A restore target: the data directory itself (an in-place restore, which carries the archive
 * directory over), or a directory apart from the data directory, the archive directory and every
 * local remote. Anything else is refused (USAGE) before the restore reads or writes anything.
 */
export function checkRestoreTarget(target: string, s: LocationSettings): void {
  const t: Place = { setting: 'the restore target (--target, targetDir)', path: realPath(target) };
  const data: Place = { setting: 'the data directory', path: realPath(s.dataDir) };
  if (t.path === data.path) return;
  const others: Place[] = [
    data,
    { setting: 'the archive directory (archive.localDir, --archive-dir)', path: realPath(s.archiveDir) },
    ...(s.recordedArchiveDir !== undefined ? [{ setting: 'the archive directory bri-archive.json records', path: realPath(s.recordedArchiveDir) }] : []),
    ...s.remotes.flatMap(localRemotePlaces),
  ];
  for (const o of others) {
    if (overlap(t.path, o.path)) throw refused(ErrorCodes.USAGE, t, o, 'a restore replaces (or with --clean-existing removes) everything in its target');
  }
}

/**
 * An archive directory inside the target moves on with it (the restored directory keeps its archives).
 * Compared by real path: an archive directory named through a link into the target is inside it all the same.
 * A link in the target to an archive directory elsewhere (another disk) is carried as the link itself: left
 * with the old directory, the restored one would find no archives.
 */
export function carryOverFor(archiveDir: string, target: string): string[] {
  const inside = (rel: string) => rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  const realTarget = realPath(target);
  const rel = path.relative(realTarget, realPath(archiveDir));
  if (inside(rel)) return [rel];
  const link = path.relative(realTarget, path.join(realPath(path.dirname(path.resolve(archiveDir))), path.basename(archiveDir)));
  return inside(link) && fs.lstatSync(path.join(realTarget, link), { throwIfNoEntry: false })?.isSymbolicLink() === true ? [link] : [];
}

/**
 * A file a command writes (a download, a repaired copy): never inside the data directory outside its archive directory
 * (the store owns what is there: a WAL segment or snapshot.jss written over), never in a local remote's directory, and
 * directly in the archive directory only as `<archiveId>.bri` of the archive it holds (null: unknown, refused there).
 * Listings read every file there as the archive its name says: a whole copy under another name (monday.bri, the input's
 * own) was called unreadable by list, verify --all and stats, and `<otherId>.bri` is another archive, its only copy perhaps.
 */
export function checkOutputFile(file: string, s: LocationSettings, what: string, archiveId: string | null): void {
  const out: Place = { setting: what, path: realPath(file) };
  const data: Place = { setting: 'the data directory', path: realPath(s.dataDir) };
  const archives: Place = { setting: 'the archive directory', path: realPath(s.archiveDir) };
  if (isInside(out.path, data.path) && !isInside(out.path, archives.path)) throw refused(ErrorCodes.USAGE, out, data, 'the store owns what is in it (a WAL segment or snapshot.jss written over is data lost)');
  for (const place of s.remotes.flatMap(localRemotePlaces)) {
    if (isInside(out.path, place.path)) throw refused(ErrorCodes.USAGE, out, place, 'the remote\'s copies are its own');
  }
  if (pathInside(path.dirname(out.path), archives.path) !== '' || isArchivesOwnFile(file, s, archiveId)) return;
  const own = archiveId === null ? null : path.join(archives.path, `${archiveId}.bri`);
  throw new BriError(ErrorCodes.USAGE, `${what} ${out.path} is in the archive directory under another name than ${own === null ? "the <archiveId>.bri of the archive it holds (its manifest cannot be read to tell which)" : `${archiveId}.bri`}: every listing reads a file there as the archive its name says, and would call it unreadable${fs.existsSync(out.path) ? ' (and it would replace what is there)' : ''}`, {
    hint: own === null ? 'Write it outside the archive directory (`bri archive repair` without --out writes into repaired/ beside it); once `bri archive verify <file>` says it is whole, move it into the archive directory as <archiveId>.bri (the id `bri archive inspect <file>` prints).' : `Write it as ${own} (or give the archive directory itself), or to a file outside the archive directory.`,
    details: { path: out.path, ...(own !== null ? { expected: own } : {}) },
  });
}

/** Whether `file` is the archive directory's `<id>.bri` of this very archive: what is there holds it, damaged perhaps. */
function isArchivesOwnFile(file: string, s: LocationSettings, archiveId: string | null): boolean {
  const out = realPath(file);
  return archiveId !== null && path.basename(out) === `${archiveId}.bri` && pathInside(path.dirname(out), realPath(s.archiveDir)) === '';
}

/**
 * The file a download or a repaired copy is written to: a directory (existing, or named with a trailing slash: made
 * if missing) means into it under `fileName` (`<archiveId>.bri` whenever the archive is known, the archive directory
 * taking no other name); an existing file or symbolic link is replaced only with `force` (the link itself, never what
 * it points to: the file is renamed into place), but for the archive's own file in the archive directory; a FIFO, a
 * device, a socket or a directory is never replaced (a rename would put a regular file where a device was).
 */
export function outputFileFor(given: string, fileName: string, s: LocationSettings, what: string, archiveId: string | null, force: boolean): string {
  if (given === '') throw new BriError(ErrorCodes.USAGE, `${what} is empty`, { hint: `Give ${what} as a file, or a directory to write ${fileName} into.` });
  const named = path.resolve(given);
  const intoDir = given.endsWith('/') || given.endsWith(path.sep) || statOrNull(named)?.isDirectory() === true;
  if (intoDir) assertDirectoryInput(named, what);
  const file = intoDir ? path.join(named, fileName) : named;
  checkOutputFile(file, s, what, archiveId);
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (st === undefined) return file;
  if (st.isSymbolicLink()) {
    if (!force) throw existingOutput(what, file, `a symbolic link (to ${fs.readlinkSync(file)})`, '--force (force: true) replaces the link itself, not the file it points to');
    return file;
  }
  assertRegularFileInput(file, what);
  // The archive's own file is replaced by a verified (or repaired) copy of the same archive: nothing is lost.
  if (!force && !isArchivesOwnFile(file, s, archiveId)) throw existingOutput(what, file, 'an existing file', '--force (force: true) replaces it');
  return file;
}

// Reached only outside the archive directory (checkOutputFile refuses any other name there): a new name is safe here.
function existingOutput(what: string, file: string, kind: string, force: string): BriError {
  return new BriError(ErrorCodes.USAGE, `${what} ${file} is ${kind}: not replaced without --force`, {
    hint: `Give a new name or a directory to write into; ${force}.`,
    details: { path: file },
  });
}
