/**
 * The local catalog: the archives in an archive directory, read from their
 * manifests (the first member of each file), sorted by time.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, asBriError, errnoOf, isBriError } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { ARCHIVE_STATE_FILE, recordedArchiveDir, sameDirectory, type ArchiveState } from '../../store/archive-state.js';
import { assertDataDir } from '../../store/data-dir.js';
import { fileIdentity } from '../../remote/index.js';
import { ARCHIVE_EXTENSION } from '../package/ids.js';
// archive-dir-owner imports this file too: each uses the other's names only inside functions, so the cycle is safe.
import { ARCHIVE_DIR_OWNER_FILE } from './archive-dir-owner.js';
import { readManifest } from '../package/reader.js';

export interface LocalArchive {
  file: string;
  bytes: number;
  manifest: Manifest;
  /** The file's identity (device and inode): a remote copy with the same one is this file, not another copy. */
  identity?: string;
}

export interface UnreadableArchive {
  file: string;
  error: BriError;
}

export interface Listing {
  archives: LocalArchive[];
  /** Files that look like archives but whose manifest cannot be read. */
  unreadable: UnreadableArchive[];
}

/**
 * Manifests already read in this process, by file. An archive file never changes once it is
 * renamed into place, so (size, mtime, inode) tell a stale entry: a create, cleanup and prune
 * list the directory several times, and with years of archives each read of every manifest
 * made every create slower than the one before. Verification and restore always read the file.
 */
const manifestCache = new Map<string, { size: number; mtimeMs: number; ino: number; manifest: Manifest }>();
const MANIFEST_CACHE_LIMIT = 50_000;

/**
 * Each caller gets a manifest of its own: listings go to the application, which may reshape them in place (its
 * Dates made strings for JSON); the cached one given out by reference broke every later create and restore.
 */
async function cachedManifest(file: string, st: { size: number; mtimeMs: number; ino: number }): Promise<Manifest> {
  const hit = manifestCache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) return structuredClone(hit.manifest);
  const manifest = await readManifest(file);
  if (manifestCache.size >= MANIFEST_CACHE_LIMIT) manifestCache.clear();
  manifestCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, manifest: structuredClone(manifest) });
  return manifest;
}

/** An entry of the archive directory named `<id>.bri` that cannot be read as a file: why. */
function notAnArchive(name: string, err: unknown): BriError {
  const errno = errnoOf(err);
  if (errno !== undefined && errno !== 'ENOENT' && errno !== 'ELOOP') return asBriError(err, name);
  const what = errno === undefined ? 'is not a file' : errno === 'ELOOP' ? 'is a loop of links' : 'is a link to nothing';
  return new BriError(ErrorCodes.ARCHIVE_INVALID, `${name} ${what}`, { hint: 'Put the archive file back where the link points, or remove the entry from the archive directory.', details: { name, misplaced: true } });
}

export async function scanArchiveDir(archiveDir: string): Promise<Listing> {
  let names: string[];
  try {
    names = await fsp.readdir(archiveDir);
  } catch (err) {
    // An archive directory not made yet holds none, truly; a link to nothing is not that (the archives are elsewhere, or gone).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await fsp.lstat(archiveDir).catch(() => null))?.isSymbolicLink()) return { archives: [], unreadable: [] };
    throw asBriError(err, `archive directory ${archiveDir}`);
  }
  const archives: LocalArchive[] = [];
  const unreadable: UnreadableArchive[] = [];
  for (const name of names.filter((n) => n.endsWith(ARCHIVE_EXTENSION)).sort()) {
    const file = path.join(archiveDir, name);
    try {
      // An entry named like an archive that is not one (a link to nothing, a directory) is said, never passed over: it may be the archive moved away.
      const st = await fsp.stat(file).catch((e: unknown) => Promise.reject(notAnArchive(name, e)));
      if (!st.isFile()) throw notAnArchive(name, null);
      const manifest = await cachedManifest(file, st);
      if (manifest.archiveId + ARCHIVE_EXTENSION !== name) {
        throw new BriError(ErrorCodes.ARCHIVE_INVALID, `${name} holds archive ${manifest.archiveId}`, { hint: 'Rename the file to <archiveId>.bri.', details: { name, holds: manifest.archiveId, misplaced: true } });
      }
      archives.push({ file, bytes: st.size, manifest, identity: fileIdentity(st) });
    } catch (err) {
      if (!isBriError(err)) throw err;
      unreadable.push({ file, error: err });
    }
  }
  archives.sort((a, b) => a.manifest.timeRange.walLines.start - b.manifest.timeRange.walLines.start || a.manifest.createdAt.getTime() - b.manifest.createdAt.getTime());
  return { archives, unreadable };
}

/**
 * Why the local source cannot be listed at all: neither the data directory nor the archive
 * directory exists (a mistyped --data-dir, a lost machine). "No archives" would be the wrong
 * answer there; null when either exists (an archive directory not made yet holds none, truly).
 */
export async function missingLocalSource(dataDir: string, archiveDir: string): Promise<BriError | null> {
  const exists = async (p: string) => (await fsp.stat(p).catch(() => null)) !== null;
  if (await exists(archiveDir)) return null;
  // A directory that exists but is no data directory (a mistyped --data-dir) is not one with "no archives".
  if (await exists(dataDir)) return assertDataDir(dataDir, false).then(() => null, (err: unknown) => (isBriError(err, ErrorCodes.NOT_A_DATA_DIR) ? err : null));
  return new BriError(ErrorCodes.NOT_A_DATA_DIR, `there is no data directory at ${dataDir} and no archive directory at ${archiveDir}`, {
    hint: 'Check --data-dir (default $BRI_DATA_DIR or ./data) and --archive-dir; to see what remotes hold after losing the machine, give them with --config.',
    details: { dataDir, archiveDir },
  });
}

/**
 * The archive directory `dataDir`'s bri-archive.json records as where its archives are made, holding nothing of
 * what was made there: no owner file (every create writes it), no archive file, and the last archive it names
 * in no source (`inNoSource` tells, from the caller's listing of every source). Without `dataDir`, the state's
 * own archive directory is taken (the caller read the state of the directory it archives). A disk not mounted leaves its
 * mount point so (an empty directory, or none): "no archives" there is false, and an archive made there starts
 * a chain on the disk under it, hidden once the disk is back (and its WAL segments then deleted as archived).
 * ARCHIVE_NOT_FOUND, or null when the directory is not that one or holds any of it.
 */
export async function unmountedArchiveDir(state: ArchiveState | null, archiveDir: string, inNoSource: (archiveId: string) => boolean, dataDir?: string): Promise<BriError | null> {
  const recorded = dataDir === undefined ? state?.archiveDir : recordedArchiveDir(state, dataDir);
  const last = state?.last;
  if (!last || recorded === undefined || !sameDirectory(recorded, archiveDir) || !inNoSource(last.archiveId)) return null;
  const names = await fsp.readdir(archiveDir).catch(() => [] as string[]);
  if (names.some((n) => n === ARCHIVE_DIR_OWNER_FILE || n.endsWith(ARCHIVE_EXTENSION))) return null;
  return new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `the archive directory ${archiveDir} holds nothing of what ${ARCHIVE_STATE_FILE} says was made there (archive ${last.archiveId}, through line ${last.endLine}, is in no source, and ${ARCHIVE_DIR_OWNER_FILE} is missing): is the disk that holds it not mounted?`, {
    hint:
      `Mount the disk (or share) at ${archiveDir} and run the command again; nothing was written there (an archive made now would start a new chain on the disk under the mount point, hidden once it is mounted). ` +
      `If those archives were deleted on purpose, archive into a directory of its own (\`--archive-dir\`, or archive.localDir in --config).`,
    details: { archiveDir, lastArchive: last.archiveId, lastLine: last.endLine, unmounted: true },
  });
}

export async function listLocalArchives(archiveDir: string): Promise<LocalArchive[]> {
  return (await scanArchiveDir(archiveDir)).archives;
}

export interface CatalogStats {
  /** The archives of this database (its instance and its lineage), when it can be told; else every archive listed. */
  archives: number;
  bytes: number;
  originalBytes: number;
  walLines: number;
  /** The lines the archives of `instance` hold (walLines counts every instance of this database's). */
  instanceWalLines: number;
  /** The first and last line held (both inclusive, absolute), and the time range, of `instance` (the data directory's, when it has archives). */
  firstLine: number | null;
  lastLine: number | null;
  oldest: Date | null;
  newest: Date | null;
  instance: string | null;
  /** Places where consecutive archives of an instance do not chain: lines fromLine..toLine (inclusive) in none, or, when toLine < fromLine, lines toLine+1..fromLine-1 in both. */
  gaps: Array<{ after: string; before: string; fromLine: number; toLine: number }>;
  /** Archives on the same sources that are other databases' (a shared remote): not counted above. */
  otherDatabases: { instances: string[]; archives: number };
}

/** Whose archives the figures are of: this database's instances, and the one its data directory is now (null: none). */
export interface StatsScope {
  own: ReadonlySet<string>;
  current: string | null;
}

export function catalogStats(archives: ReadonlyArray<{ manifest: Manifest; bytes: number }>, scope?: StatsScope): CatalogStats {
  // Without anything to tell this database by (a lost machine: no data directory, no local copy), every archive counts.
  const mine = scope && scope.own.size > 0 ? archives.filter((a) => scope.own.has(a.manifest.instanceId)) : archives;
  const others = archives.filter((a) => !mine.includes(a));
  const gaps: CatalogStats['gaps'] = [];
  const byInstance = new Map<string, Array<{ manifest: Manifest }>>();
  for (const a of mine) {
    const list = byInstance.get(a.manifest.instanceId);
    if (list) list.push(a);
    else byInstance.set(a.manifest.instanceId, [a]);
  }
  for (const list of byInstance.values()) {
    list.sort((a, b) => a.manifest.timeRange.walLines.start - b.manifest.timeRange.walLines.start);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!.manifest;
      const cur = list[i]!.manifest;
      if (cur.timeRange.walLines.start !== prev.timeRange.walLines.end) {
        gaps.push({ after: prev.archiveId, before: cur.archiveId, fromLine: prev.timeRange.walLines.end + 1, toLine: cur.timeRange.walLines.start });
      }
    }
  }
  // The range is the current instance's (an abandoned timeline's lines after a rollback are not where the database is).
  const current = scope?.current !== null && scope?.current !== undefined && byInstance.has(scope.current) ? scope.current : null;
  const ranged = current !== null ? mine.filter((a) => a.manifest.instanceId === current) : mine;
  const ms = ranged.map((a) => a.manifest);
  return {
    archives: mine.length,
    bytes: mine.reduce((a, x) => a + x.bytes, 0),
    originalBytes: mine.reduce((a, x) => a + x.manifest.compression.originalSize, 0),
    walLines: mine.reduce((a, x) => a + x.manifest.contents.totalWalEntries, 0),
    instanceWalLines: ranged.reduce((a, x) => a + x.manifest.contents.totalWalEntries, 0),
    firstLine: ms.length ? Math.min(...ms.map((m) => m.timeRange.walLines.start)) + 1 : null,
    lastLine: ms.length ? Math.max(...ms.map((m) => m.timeRange.walLines.end)) : null,
    oldest: ms.length ? new Date(Math.min(...ms.map((m) => m.timeRange.start.getTime()))) : null,
    newest: ms.length ? new Date(Math.max(...ms.map((m) => m.timeRange.end.getTime()))) : null,
    instance: current ?? (byInstance.size === 1 ? [...byInstance.keys()][0]! : null),
    gaps,
    otherDatabases: { instances: [...new Set(others.map((a) => a.manifest.instanceId))], archives: others.length },
  };
}
