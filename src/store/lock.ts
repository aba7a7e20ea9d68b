/**
 * One writer per data directory: `<dataDir>/bri.lock` holds the owner's pid and host.
 * A lock whose pid is dead on this host is stale and taken over.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../errors.js';

export { LOCK_FILE } from './layout.js';
import { LOCK_FILE } from './layout.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** ms since epoch */
  since: number;
  /** What took the lock, e.g. "store" or "bri archive create". */
  purpose: string;
}

export interface DirLock {
  readonly path: string;
  readonly owner: LockOwner;
  release(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readLockOwner(dataDir: string): Promise<LockOwner | null> {
  return readLockFileOwner(path.join(dataDir, LOCK_FILE));
}

export async function readLockFileOwner(lockPath: string): Promise<LockOwner | null> {
  try {
    const text = await fsp.readFile(lockPath, 'utf8');
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number') return null;
    return { pid: parsed.pid, host: String(parsed.host ?? ''), since: Number(parsed.since ?? 0), purpose: String(parsed.purpose ?? '') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return null; // unreadable or torn lock file: treat as stale
  }
}

/** Whether the lock is held by a live process (other than this one). */
export function isLiveOwner(owner: LockOwner | null): boolean {
  if (owner === null) return false;
  if (owner.host !== os.hostname()) return true; // cannot check another host's pids: assume alive
  if (owner.pid === process.pid) return true;
  return pidAlive(owner.pid);
}

function lockedError(what: string, lockPath: string, owner: LockOwner): BriError {
  return new BriError(
    ErrorCodes.LOCKED,
    `${what} is locked by pid ${owner.pid} on ${owner.host} (${owner.purpose || 'unknown'}) since ${new Date(owner.since).toISOString()}`,
    {
      hint: `Wait for that process, or stop it; if it is gone and on another host, remove ${lockPath} by hand.`,
      details: { lockPath, owner },
    },
  );
}

/** Takes the data directory's lock, taking over a stale one; throws LOCKED if a live process holds it. */
export async function acquireLock(dataDir: string, purpose: string): Promise<DirLock> {
  return acquireLockFile(path.join(dataDir, LOCK_FILE), purpose, `data directory ${dataDir}`);
}

/**
 * Takes the lock file at `lockPath` (created with O_EXCL, holding pid and host), taking over a
 * stale one; throws LOCKED naming `what` if a live process holds it.
 */
export async function acquireLockFile(lockPath: string, purpose: string, what: string): Promise<DirLock> {
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), since: Date.now(), purpose };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fsp.open(lockPath, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(owner) + '\n');
        await handle.sync();
      } catch (err) {
        // A lock that could not be written (a full disk) is not left behind as an empty file.
        await handle.close().catch(() => undefined);
        await fsp.rm(lockPath, { force: true });
        throw err;
      } finally {
        await handle.close().catch(() => undefined);
      }
      let released = false;
      return {
        path: lockPath,
        owner,
        async release() {
          if (released) return;
          released = true;
          const current = await readLockFileOwner(lockPath);
          if (current && current.pid === owner.pid && current.since === owner.since) await fsp.rm(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const current = await readLockFileOwner(lockPath);
      if (current && isLiveOwner(current)) {
        if (current.pid === process.pid && current.host === owner.host) {
          throw new BriError(ErrorCodes.LOCKED, `${what} is already in use in this process (pid ${current.pid}, ${current.purpose})`, {
            hint: 'Use the open database instance, or wait for the operation in progress, or close it first.',
            details: { lockPath, owner: current },
          });
        }
        throw lockedError(what, lockPath, current);
      }
      // Stale: the owner died without releasing. Remove and retry the exclusive create.
      await fsp.rm(lockPath, { force: true });
    }
  }
  const current = await readLockFileOwner(lockPath);
  throw lockedError(what, lockPath, current ?? { pid: -1, host: '?', since: 0, purpose: 'unknown' });
}
