/**
 * What a restore checks of its target before anything is built, the dry run as the real run ("a dry run
 * refuses what the real run would refuse"): a target that cannot be replaced fails here, not after the
 * whole archive was read and the new directory built beside it.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BriError, errnoOf, ErrorCodes, ioHint } from '../../errors.js';
import { SNAPSHOT_FILE, WAL_DIR } from '../../store/layout.js';
import { refuseIfLocked } from '../../store/lock/dir-lock.js';
import { hostTag } from '../../store/lock/process-identity.js';
import { immovablePaths, mountsInside, stamp } from '../../store/dir-swap.js';
import { restoreError } from './build.js';
import { refuseOtherDatabases } from './other-databases.js';
import { refuseDeletingArchives } from './replaced-dir.js';
import type { RestoreOptions } from './execute.js';

export interface TargetState {
  exists: boolean;
  empty: boolean;
  /** It holds nothing but what the restore carries over (its archive directory): nothing of it is replaced. */
  carriedOnly?: boolean;
}

async function targetState(target: string, carryOver: readonly string[]): Promise<TargetState & { isDataDir: boolean }> {
  try {
    const entries = await fsp.readdir(target);
    const carriedOnly = entries.length > 0 && entries.every((e) => carryOver.includes(e));
    return { exists: true, empty: entries.length === 0, carriedOnly, isDataDir: entries.includes(WAL_DIR) || entries.includes(SNAPSHOT_FILE) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await refuseDanglingLink(target);
      return { exists: false, empty: true, isDataDir: false };
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw restoreError(`${target} is a file, not a directory`, 'Choose a directory as the target.');
    throw err;
  }
}

/** What a restore into a directory another process has open tells the user. */
export const STOP_THE_OWNER = 'Stop the process that has the database open (a beforeRestore hook can), then restore.';

/** The checks of the target that the dry run and the real run (under its lock) both make. */
export async function checkTarget(target: string, opts: RestoreOptions, lock: 'now' | 'after beforeRestore' = 'now'): Promise<TargetState> {
  if (opts.openHere?.(target)) {
    throw restoreError(`${target} is the data directory of the open database`, 'Close the database first (db.close()), then restore with `bri restore` or openRestore({ dataDir }); or restore into another --target.');
  }
  // Before the refusal of a non-empty target, whose way out (--force) would take the other database apart.
  await refuseOtherDatabases(target, opts.carryOver ?? []);
  const st = await targetState(target, opts.carryOver ?? []);
  if (st.exists && !st.empty && !st.carriedOnly && !opts.force) {
    throw restoreError(`${target} is not empty`, 'Pass --force (force: true) to replace it; the old directory is kept beside it unless --clean-existing.');
  }
  if (st.exists && lock === 'now') await refuseIfLocked(target, STOP_THE_OWNER);
  // An empty mount point too: the swap renames the target aside, which no mount point allows (EBUSY).
  if (st.exists) await refuseImmovable(target, opts.carryOver ?? [], st.isDataDir);
  if (st.exists && !st.empty && opts.cleanExisting) await refuseDeletingArchives(target, opts.carryOver ?? []);
  await probeBuildPlace(target);
  if (st.exists && !st.empty) await refuseWhatThisUserCannotMove(target, opts.carryOver ?? [], opts.cleanExisting === true);
  return st;
}

/** The longest name a restore gives beside the target: `<name>.pre-restore-<stamp>`. */
/**
 * The most a restore adds to the target's name beside it: `.pre-restore-<stamp>`, or its lock's scratch file
 * (`.<name>.restore.lock.<host>.<pid>.<12 hex>.tmp`, the longer on most hosts).
 */
const LONGEST_SUFFIX = Math.max(`.pre-restore-${stamp()}`.length, `..restore.lock.${hostTag()}.9999999.${'0'.repeat(12)}.tmp`.length);
const NAME_MAX = 255;

/** A target whose name leaves no room for the restore's names beside it: refused before anything is made (the dry run too). */
export function refuseLongName(target: string): void {
  const bytes = Buffer.byteLength(path.basename(target));
  if (bytes + LONGEST_SUFFIX <= NAME_MAX) return;
  throw new BriError(ErrorCodes.USAGE, `the target's name ${path.basename(target).slice(0, 40)}... is ${bytes} bytes: the restore names the directories it builds and moves aside beside it with up to ${LONGEST_SUFFIX} more, past the ${NAME_MAX} a file system allows`, {
    hint: `Give a target whose last name is at most ${NAME_MAX - LONGEST_SUFFIX} bytes.`,
    details: { target },
  });
}

/**
 * A mount point cannot be moved aside or carried over (EBUSY), and one inside the target would go aside with the
 * old directory (which --clean-existing then cannot remove, and the restored directory would be without it):
 * said before anything is built or moved.
 */
async function refuseImmovable(target: string, carryOver: readonly string[], isDataDir: boolean): Promise<void> {
  const fixed = [...new Set([...(await immovablePaths(target, carryOver)), ...(await mountsInside(target))])];
  if (fixed.length === 0) return;
  if (fixed[0] === target) {
    const elsewhere = `restore into another directory (--target, targetDir), stop the database, then move the restored directory's files into ${target}.`;
    throw restoreError(
      `cannot restore into ${target}: it is a mount point, which cannot be moved aside as a restore moves the directory it replaces; nothing was changed`,
      // A directory inside a data directory is refused as a target: never offered as the way out of one.
      isDataDir ? elsewhere[0]!.toUpperCase() + elsewhere.slice(1) : `Give a directory inside it as the target (${path.join(target, 'data')}), or ${elsewhere}`,
    );
  }
  const what = `${fixed.join(', ')} ${fixed.length > 1 ? 'are mount points' : 'is a mount point'} (its own file system)`;
  throw restoreError(
    `cannot restore into ${target} in place: ${what}, which cannot move with the directory as a restore moves it aside and the restored one in; nothing was changed`,
    `Restore into another directory (--target, targetDir; the archives are read where they are), stop the database, then move the restored directory's files into ${target}; or unmount ${fixed.join(', ')} (an archive directory: mount it elsewhere and give that path as --archive-dir), restore, then copy what the restore put there onto that disk and mount it there again.`,
  );
}

/** A target that is a symbolic link to nothing (a disk not mounted yet): the swap would fail ENOTDIR renaming onto the link. */
async function refuseDanglingLink(target: string): Promise<void> {
  const to = await fsp.readlink(target).catch(() => null);
  if (to === null) return;
  throw restoreError(
    `${target} is a symbolic link to ${to}, which does not exist; nothing was changed`,
    `Give the directory the link should lead to as the target once it exists (mount its disk first), or remove the link to restore into a new directory at ${target}.`,
  );
}

/**
 * The directory the restore builds in, beside the target (with its lock and journal): a test entry made and
 * removed there, so that a read-only file system or a parent the user cannot write to fails now, not after the
 * build. The nearest existing ancestor when the parent is yet to be made (the real run makes it).
 */
async function probeBuildPlace(target: string): Promise<void> {
  let dir = path.dirname(target);
  while (!(await fsp.lstat(dir).then(() => true, () => false)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const probe = path.join(dir, `.bri-restore-probe-${randomBytes(6).toString('hex')}`);
  try {
    await fsp.mkdir(probe);
  } catch (err) {
    // The hint names the directory, not the probe's name (which exists nowhere).
    const hint = ioHint({ code: errnoOf(err), path: dir });
    throw new BriError(ErrorCodes.IO_ERROR, `cannot restore into ${target}: the restore builds the new directory beside it, in ${dir}, and cannot write there (${(err as Error).message}); nothing was changed`, {
      hint: hint ?? `Check that ${dir} can be written to by this user, or give a target elsewhere.`,
      details: { target, path: dir, ...(errnoOf(err) ? { errno: errnoOf(err) } : {}) },
      cause: err,
    });
  }
  await fsp.rmdir(probe);
}

/**
 * What this user cannot move or delete of the directory a restore replaces: refused before anything is built or
 * moved (the dry run too). Found after the swap, the archives stayed in the old directory, the journal was kept,
 * and every later open failed "finishing an interrupted restore": a directory moved into another one (the carried
 * archives/) must be writable itself, as must the one it leaves (an archives/ made by root's `archive create`);
 * --clean-existing deletes the rest, which needs every directory of it readable and writable.
 */
async function refuseWhatThisUserCannotMove(target: string, carryOver: readonly string[], cleanExisting: boolean): Promise<void> {
  const unmovable = await cannotMove(target, carryOver);
  if (unmovable.length > 0) {
    throw notThisUsers(target, unmovable, `cannot restore into ${target} in place: ${unmovable.join(', ')} cannot be moved into the restored directory by this user (a directory moved into another must be writable itself, as must the one it leaves); nothing was changed`, 'or restore into another directory (--target, targetDir)');
  }
  if (!cleanExisting) return;
  const undeletable = await cannotDelete(target, carryOver);
  if (undeletable.length > 0) {
    throw notThisUsers(target, undeletable, `cannot restore into ${target} with --clean-existing: ${undeletable.join(', ')} cannot be deleted by this user; nothing was changed`, `or restore without --clean-existing (cleanExisting): the old directory is then kept beside it as ${target}.pre-restore-<time>`);
  }
}

async function mayAccess(p: string, mode: number): Promise<boolean> {
  return fsp.access(p, mode).then(() => true, () => false);
}

/** The carried-over paths (and the directories they leave) this user may not rename into the restored directory. */
async function cannotMove(target: string, carryOver: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const rel of carryOver) {
    const p = path.join(target, rel);
    const st = await fsp.lstat(p).catch(() => null);
    if (st === null) continue;
    if (!(await mayAccess(path.dirname(p), fsc.W_OK | fsc.X_OK))) out.add(path.dirname(p));
    // Its `..` changes: a directory (not a link to one) must be writable to move to another parent.
    if (st.isDirectory() && !(await mayAccess(p, fsc.W_OK))) out.add(p);
  }
  return [...out];
}

/** The first few directories of the target (the carried-over paths aside) this user may not empty: rm -r would stop there. */
async function cannotDelete(target: string, carryOver: readonly string[]): Promise<string[]> {
  const carried = new Set(carryOver.map((rel) => path.join(target, rel)));
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    if (!(await mayAccess(dir, fsc.R_OK | fsc.W_OK | fsc.X_OK))) {
      out.push(dir);
      return;
    }
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      if (out.length >= 5) return;
      if (e.isDirectory() && !carried.has(path.join(dir, e.name))) await walk(path.join(dir, e.name));
    }
  };
  await walk(target);
  return out;
}

function notThisUsers(target: string, paths: readonly string[], message: string, otherWay: string): BriError {
  const user = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return `uid ${process.getuid?.() ?? '?'}`;
    }
  })();
  return new BriError(ErrorCodes.IO_ERROR, message, {
    hint: `${ioHint({ code: 'EACCES', path: paths.join(', ') })} Give ${paths.length > 1 ? 'them' : 'it'} to the user running the restore (chown -R ${user} ${paths.join(' ')}) or run the restore as the owner, ${otherWay}.`,
    details: { target, path: paths[0], paths, errno: 'EACCES' },
  });
}
