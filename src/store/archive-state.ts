/**
 * What the data directory remembers about its archives, in `<dataDir>/bri-archive.json`:
 * its instance id, how many leading WAL lines were removed (so that local line
 * numbers map to absolute ones), and where the last archive ended.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRegularFile } from './files/regular-file.js';
import { BriError, ErrorCodes } from '../errors.js';
import { isValidInstanceId } from '../format/manifest.js';
import { writeFileDurable } from './durable-fs.js';

export { ARCHIVE_STATE_FILE } from './layout.js';
import { ARCHIVE_STATE_FILE } from './layout.js';

export interface ArchiveTip {
  archiveId: string;
  /** Absolute number of the archive's last line. */
  endLine: number;
  lastPointer: string;
  endTimestamp: number;
  /**
   * When the archive was sealed: it vouches that no line was written up to then, so the store stamps its
   * lines after it, also after a reopen with a clock stepped back (absent in states written before it was kept).
   */
  sealedAt?: number;
}

export interface ArchiveState {
  version: 1;
  instanceId: string;
  /** Lines removed from the front of wal/: absolute = removedLines + local. */
  removedLines: number;
  last: ArchiveTip | null;
  /**
   * Where the instance's history begins when not at line 0 (a clone, a restore to an earlier
   * point): the state there is the restore's starting state; its line's pointer and time let the
   * first archive continue that chain.
   */
  origin?: { line: number; pointer: string; timestamp: number };
  /**
   * A new instance made by a restore (a clone, a restore to an earlier point): the last absolute line it took
   * from the archives (and shipped WAL) of the instance it came from. Lines up to it are that instance's; only
   * lines after it are this directory's own (absent in states written before it was kept).
   */
  restoredThrough?: number;
  /** The time of line `restoredThrough`: any moment up to it is the same in both instances. */
  restoredThroughTime?: number;
  /**
   * The instance such a restore took its lines from. Two instances can begin on one origin and write past it
   * at the same time (a clone kept beside its original): neither the origin nor the times tell them apart
   * (absent in states written before it was kept; an id that is not one is not taken).
   */
  restoredFrom?: string;
  /**
   * The moment such a restore was asked for (a point in time): neither instance has a line between
   * `restoredThroughTime` and it, so every moment up to it is the same in both too.
   */
  restoredTo?: number;
  /**
   * Where the instance's archives are made (the archive directory of its last create) and from which data
   * directory, so that another archive directory is not taken for it (a copy of the directory elsewhere is not held to it).
   */
  archiveDir?: string;
  archivedFrom?: string;
}

export async function readArchiveState(dataDir: string): Promise<ArchiveState | null> {
  let text: string;
  try {
    text = await readRegularFile(path.join(dataDir, ARCHIVE_STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let s: ArchiveState;
  try {
    s = JSON.parse(text) as ArchiveState;
  } catch (err) {
    throw damagedState(dataDir, err);
  }
  // A newer bri's file is not damage: "restore it from a backup" would throw away what that version recorded.
  if (typeof s?.version === 'number' && s.version > 1) {
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `${ARCHIVE_STATE_FILE} in ${dataDir} was written by a newer version of bri (its format version ${s.version}; this one reads version 1)`, {
      hint: 'Upgrade bri-archive to the version that wrote it (or a later one), and keep the file as it is.',
      details: { file: path.join(dataDir, ARCHIVE_STATE_FILE), version: s.version },
    });
  }
  try {
    if (s.version !== 1 || typeof s.instanceId !== 'string' || !Number.isSafeInteger(s.removedLines) || s.removedLines < 0) throw new Error('bad fields');
    // It becomes paths and object keys: the manifest reader's rule, or nothing is written under it.
    if (!isValidInstanceId(s.instanceId)) throw new Error(`instanceId ${JSON.stringify(s.instanceId)} is not a valid instance id`);
    // (A hint only: an edited one that is no instance id is left out, and the times decide as before it was kept.)
    if (s.restoredFrom !== undefined && !(typeof s.restoredFrom === 'string' && isValidInstanceId(s.restoredFrom))) delete s.restoredFrom;
    return movedWithDataDir(s, dataDir);
  } catch (err) {
    throw damagedState(dataDir, err);
  }
}

/**
 * The state of a data directory moved (mv) together with the archive directory inside it (`-a DATA/backups`):
 * it names both at their old absolute paths (as every version wrote them), and the archives were looked for
 * where they no longer are ("no archives", then a new chain from a seed). When the directory it was archived
 * from is gone, the state is this directory's: an archive directory that was inside it is read at its new place,
 * one outside stays where it is. A copy (the old directory still there) keeps its own default, as before.
 */
function movedWithDataDir(s: ArchiveState, dataDir: string): ArchiveState {
  if (s.archivedFrom === undefined || s.archiveDir === undefined || fs.existsSync(s.archivedFrom)) return s;
  const inside = path.relative(s.archivedFrom, s.archiveDir);
  const here = realPathOr(dataDir);
  // Moved alone, its archive directory elsewhere (`-a /backups/app`): that directory stays where it was, and is still its own.
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return { ...s, archivedFrom: here };
  return { ...s, archivedFrom: here, archiveDir: path.join(here, inside) };
}

/**
 * A backup's copy of the file is older than the WAL beside it (removedLines too small, `last` behind): put back, it
 * maps WAL lines to the wrong archive lines, and lines no archive holds looked archived to the WAL cleanup. So the
 * hint never sends to a copy: it says how to write the file again from the archives (the cleanup names the
 * removedLines that the WAL on disk shows), or how to go on without it.
 */
function damagedState(dataDir: string, err: unknown): BriError {
  const file = path.join(dataDir, ARCHIVE_STATE_FILE);
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `${ARCHIVE_STATE_FILE} in ${dataDir} is damaged: ${(err as Error).message}`, {
    hint:
      `Do not put back an older copy (a backup's): its removedLines would be too small. Write it again from the archives: ` +
      `{"version":1,"instanceId":"<the instanceId of this directory's archives, in \`bri archive list --json\`>","removedLines":0,"last":null}, ` +
      `then run \`bri archive cleanup-wal\`: it removes nothing while removedLines is wrong, and says the value to set. ` +
      `Or move the file out of the data directory: the next \`bri archive create\` starts a new instance from the data directory's snapshot (its state whole; the archives made so far stay restorable).`,
    details: { file },
    cause: err,
  });
}

/** A directory's real path (links resolved), or the path as given when it cannot be resolved. */
function realPathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Whether two paths lead to one directory: by real path, else by device and inode (a bind mount shows one
 * directory at a second path that no link leads to, and a container or a cron job may name it so).
 */
export function sameDirectory(a: string, b: string): boolean {
  if (realPathOr(a) === realPathOr(b)) return true;
  try {
    const [x, y] = [fs.statSync(a), fs.statSync(b)];
    return x.isDirectory() && x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * The archive directory the state records for `dataDir` (where its last archive was made), when this very
 * directory recorded it (at whatever path it is reached now): a copy of the data directory elsewhere is not held to it. Undefined otherwise.
 */
export function recordedArchiveDir(state: ArchiveState | null, dataDir: string): string | undefined {
  if (state?.archiveDir === undefined) return undefined;
  return state.archivedFrom === undefined || sameDirectory(state.archivedFrom, dataDir) ? state.archiveDir : undefined;
}

export async function writeArchiveState(dataDir: string, state: ArchiveState): Promise<void> {
  if (!isValidInstanceId(state.instanceId)) throw new BriError(ErrorCodes.USAGE, `${JSON.stringify(state.instanceId)} is not a valid instance id`, { hint: 'Instance ids are lowercase letters, digits, "-" and "_".' });
  await writeFileDurable(path.join(dataDir, ARCHIVE_STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

/** Reads the state, creating it (with a new instance id) on first use. */
export async function ensureArchiveState(dataDir: string): Promise<ArchiveState> {
  const existing = await readArchiveState(dataDir);
  if (existing) return existing;
  const state: ArchiveState = { version: 1, instanceId: randomUUID(), removedLines: 0, last: null };
  await writeArchiveState(dataDir, state);
  return state;
}
