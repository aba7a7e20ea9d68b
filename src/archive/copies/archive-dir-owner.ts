/**
 * An archive directory holds one database's archives. Its retention decides on
 * every archive there that is its own (its instance's, and its earlier
 * instances' after a restore in place), so a second data directory archiving
 * into it would have one database's prune delete the other's archives, their
 * only copies perhaps. `<archiveDir>/bri-archive-dir.json` records the data
 * directory whose archives these are and the instances it archived there.
 * A directory made before the file existed is taken, when it is first written,
 * with the instances whose archives it holds, as the previous version took it.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { readArchiveState, recordedArchiveDir } from '../../store/archive-state.js';
import { writeFileDurable } from '../../store/durable-fs.js';
import { listLocalArchives } from './local-catalog.js';
import { DEFAULT_ARCHIVE_SUBDIR, realPath } from './locations.js';

export const ARCHIVE_DIR_OWNER_FILE = 'bri-archive-dir.json';

interface ArchiveDirOwner {
  version: 1;
  /** The data directory (real path) whose archives the directory holds. */
  dataDir: string;
  /** Every instance that data directory archived here (its earlier ones, after a restore in place, too). */
  instances: string[];
}

async function readOwner(archiveDir: string): Promise<ArchiveDirOwner | null> {
  const text = await fsp.readFile(path.join(archiveDir, ARCHIVE_DIR_OWNER_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
  if (text === null) return null;
  try {
    const o = JSON.parse(text) as ArchiveDirOwner;
    if (o.version !== 1 || typeof o.dataDir !== 'string' || !Array.isArray(o.instances) || !o.instances.every((i) => typeof i === 'string')) throw new Error('bad fields');
    return o;
  } catch (err) {
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `${ARCHIVE_DIR_OWNER_FILE} in ${archiveDir} is damaged: ${(err as Error).message}`, {
      hint: `It names the data directory whose archives these are: remove it, and archive from that data directory again (it is written anew).`,
      cause: err,
    });
  }
}

/**
 * Whether `dataDir` may archive as `instanceId` into `archiveDir`: the directory is its own, or holds no
 * database's yet, or it is the same database (one of the owner's instances: the directory moved, or put
 * back from a copy, whose chain the create's own checks judge). Another database, a clone too, may not.
 */
function mayArchive(owner: ArchiveDirOwner | null, dataDir: string, instanceId: string): boolean {
  return owner === null || owner.dataDir === realPath(dataDir) || owner.instances.includes(instanceId);
}

/**
 * An archive directory of its own for `dataDir` to be told to use: its default one, unless that is the
 * refused directory itself (then one beside the data directory).
 */
function ownArchiveDirFor(dataDir: string, refused: string): string {
  const preferred = path.join(path.resolve(dataDir), DEFAULT_ARCHIVE_SUBDIR);
  return realPath(preferred) === realPath(refused) ? `${path.resolve(dataDir)}-archives` : preferred;
}

/** Refuses (USAGE) to archive `dataDir` into an archive directory that holds another data directory's archives. */
export async function assertArchiveDirOwner(archiveDir: string, dataDir: string, instanceId: string): Promise<void> {
  const owner = await readOwner(archiveDir);
  if (mayArchive(owner, dataDir, instanceId)) return;
  const own = ownArchiveDirFor(dataDir, archiveDir);
  throw new BriError(ErrorCodes.USAGE, `the archive directory ${archiveDir} holds the archives of the data directory ${owner!.dataDir}: archiving ${path.resolve(dataDir)} there too would let each one's retention delete the other's archives`, {
    hint:
      `Give this data directory an archive directory of its own: \`bri archive create -d ${path.resolve(dataDir)} --archive-dir ${own}\` (and archive.localDir: ${own} in its --config); its chain goes on there, ` +
      `and anything it archived in ${archiveDir} before stays there to restore from (-a ${archiveDir}). A remote may be shared. If ${owner!.dataDir} moved here, its archive directory follows once the old path is gone.`,
    details: { archiveDir, owner: owner!.dataDir, dataDir: path.resolve(dataDir), ownArchiveDir: own },
  });
}

/**
 * Whether `archiveDir` is another database's, `dataDir` (as `instanceId`) may not archive there: a directory
 * the previous version let two data directories share went to the first to archive after the upgrade.
 * A damaged owner file tells nothing: false.
 */
export async function ownedByAnother(archiveDir: string, dataDir: string, instanceId: string): Promise<boolean> {
  const owner = await readOwner(archiveDir).catch(() => null);
  return owner !== null && !mayArchive(owner, dataDir, instanceId);
}

/** How many entries of a folder are looked at for data directories (a folder of thousands is not read whole). */
const NEIGHBOURS_LOOKED_AT = 1000;

/**
 * Where another data directory archiving into `archiveDir` would be found: the folder that holds the
 * archive directory (its default place is `<dataDir>/archives`), and the entries beside it and beside
 * `dataDir` (a clone is made next to its parent).
 */
async function neighbourDirs(archiveDir: string, dataDir: string): Promise<string[]> {
  const holder = path.dirname(realPath(archiveDir));
  const out = new Set<string>([holder]);
  for (const folder of new Set([holder, path.dirname(realPath(dataDir))])) {
    const names = await fsp.readdir(folder).catch(() => [] as string[]);
    for (const n of names.slice(0, NEIGHBOURS_LOOKED_AT)) out.add(path.join(folder, n));
  }
  return [...out];
}

/**
 * The instances whose archives another data directory is shown to make in `archiveDir`: its bri-archive.json,
 * written by that very directory, names it. A copy of `dataDir`'s state (the directory a restore in place
 * moves aside, a backup) names `dataDir` as where it archived from, and is not another's.
 */
async function instancesOfOthers(archiveDir: string, dataDir: string): Promise<Set<string>> {
  const here = realPath(archiveDir);
  const self = realPath(dataDir);
  const out = new Set<string>();
  for (const dir of await neighbourDirs(archiveDir, dataDir)) {
    if (realPath(dir) === self) continue;
    const state = await readArchiveState(dir).catch(() => null);
    const recorded = recordedArchiveDir(state, dir);
    if (state?.archivedFrom !== undefined && recorded !== undefined && realPath(recorded) === here) out.add(state.instanceId);
  }
  return out;
}

/**
 * The instances whose archives a directory made before bri-archive-dir.json existed holds, taken as
 * `dataDir`'s: the previous version's prune took every archive there as its own (the earlier instances of a
 * restore in place are), except those another data directory is shown to make there (a clone it let share).
 */
async function instancesHeldBefore(archiveDir: string, dataDir: string): Promise<string[]> {
  const held = new Set((await listLocalArchives(archiveDir).catch(() => [])).map((a) => a.manifest.instanceId));
  if (held.size === 0) return [];
  const others = await instancesOfOthers(archiveDir, dataDir);
  return [...held].filter((i) => !others.has(i));
}

/**
 * Records that `dataDir` archived `instanceId` into `archiveDir` (a durable write, only when something changes).
 * The same database at another path takes the directory over only once the owner's path is gone (it moved).
 */
export async function recordArchiveDirOwner(archiveDir: string, dataDir: string, instanceId: string): Promise<void> {
  const owner = await readOwner(archiveDir);
  const real = realPath(dataDir);
  if (owner !== null && owner.dataDir !== real && (fs.existsSync(owner.dataDir) || !owner.instances.includes(instanceId))) return;
  const instances = owner?.instances ?? (await instancesHeldBefore(archiveDir, dataDir)).filter((i) => i !== instanceId);
  if (owner?.dataDir === real && instances.includes(instanceId)) return;
  const next: ArchiveDirOwner = { version: 1, dataDir: real, instances: instances.includes(instanceId) ? instances : [...instances, instanceId] };
  await writeFileDurable(path.join(archiveDir, ARCHIVE_DIR_OWNER_FILE), JSON.stringify(next, null, 2) + '\n');
}

/**
 * The instances whose archives in `archiveDir` are `dataDir`'s to decide on (their retention is its own):
 * those it archived there, when the directory is its own; none when it is another's. A directory that records
 * no owner yet (made before the owner file) is taken as the first create after the upgrade will record it.
 */
export async function instancesArchivedBy(archiveDir: string, dataDir: string): Promise<ReadonlySet<string>> {
  const owner = await readOwner(archiveDir);
  if (owner === null) return new Set(await instancesHeldBefore(archiveDir, dataDir));
  return new Set(owner.dataDir === realPath(dataDir) ? owner.instances : []);
}
