/**
 * One create at a time per instance and archive directory. The data directory's lock keeps out a second
 * writer of that directory only: two data directories of one instance (a copy, a restore --target elsewhere
 * that keeps the instance id) archiving into one archive directory at once both took the same chain tip,
 * removed each other's stage directory, or both placed an archive over the same lines (a fork the restore
 * then resolved silently). The lock is held from the chain-tip decision until the archive is placed and
 * recorded; the run that comes second then sees the first one's archive, and is refused if it forks.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import { makeOwnDir } from '../../store/durable-fs.js';
import { acquireLockFile, type DirLock } from '../../store/lock/dir-lock.js';
import { realPathOr } from './chain-start.js';

/** Where an instance's create lock is, in the archive directory's stage root (never a name the catalog reads). */
export function createLockPath(tmpRoot: string, instanceId: string): string {
  return path.join(tmpRoot, `create-${instanceId}.lock`);
}

/** Takes the instance's create lock in `tmpRoot` (a dead owner's is taken over); LOCKED naming the live owner and its data directory. */
export async function lockInstanceCreate(tmpRoot: string, instanceId: string, dataDir: string, archiveDir: string): Promise<DirLock> {
  await makeOwnDir(tmpRoot);
  const lockPath = createLockPath(tmpRoot, instanceId);
  try {
    return await acquireLockFile(lockPath, `bri archive create from ${realPathOr(dataDir)}`, `instance ${instanceId}'s archive creation in ${archiveDir}`);
  } catch (err) {
    if (!isBriError(err, ErrorCodes.LOCKED)) throw err;
    throw new BriError(ErrorCodes.LOCKED, err.message, {
      hint:
        'Another archive create of this instance is writing into this archive directory (from the data directory named): wait for it to finish and run again. ' +
        `Two copies of one data directory cannot both continue the instance's archives: after it, this one is refused if its history went another way. If that process is gone and was on another host, remove ${lockPath} by hand.`,
      details: { ...err.details, instanceId, archiveDir },
    });
  }
}

/** Removes the stage dirs of this instance's earlier runs: with its create lock held, their owners are gone. */
export async function removeDeadStages(tmpRoot: string, instanceId: string): Promise<void> {
  const names = await fsp.readdir(tmpRoot).catch(() => [] as string[]);
  for (const n of names) if (n.startsWith(`${instanceId}.`)) await fsp.rm(path.join(tmpRoot, n), { recursive: true, force: true });
}
