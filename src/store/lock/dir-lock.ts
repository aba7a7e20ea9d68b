/**
 * One writer per data directory: `<dataDir>/bri.lock` holds the owner's pid and host (and, on
 * Linux, the boot and the process's start time). A lock of this host whose process is gone is
 * stale and taken over, also when its pid now belongs to another process (process-identity.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { readRegularFile } from '../files/regular-file.js';
import { bootId, forgetMadeHere, hostTag, noteMadeHere, ownProcessStart, processGone, processStart, sweepDeadFiles } from './process-identity.js';

export { LOCK_FILE } from '../layout.js';
import { LOCK_FILE } from '../layout.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** ms since epoch */
  since: number;
  /** What took the lock, e.g. "store" or "bri archive create". */
  purpose: string;
  /** The kernel's boot id when the lock was taken (Linux). */
  boot?: string;
  /** The owner's start time, in clock ticks since boot (Linux). */
  start?: string;
}

export interface DirLock {
  readonly path: string;
  readonly owner: LockOwner;
  release(): Promise<void>;
}

export async function readLockOwner(dataDir: string): Promise<LockOwner | null> {
  return readLockFileOwner(path.join(dataDir, LOCK_FILE));
}

export async function readLockFileOwner(lockPath: string): Promise<LockOwner | null> {
  return parseOwner(await readText(lockPath).catch(() => null));
}

/** The `since` of every lock this process holds now (a count each: two may share a millisecond). */
const heldHere = new Map<number, number>();

function holdHere(since: number, delta: 1 | -1): void {
  const n = (heldHere.get(since) ?? 0) + delta;
  if (n > 0) heldHere.set(since, n);
  else heldHere.delete(since);
}

/** Whether the lock is held by a live process: another one, or this one when it took that lock. */
export function isLiveOwner(owner: LockOwner | null): boolean {
  if (owner === null) return false;
  if (owner.host !== os.hostname()) return true; // cannot check another host's pids: assume alive
  // This pid: ours only if this process took that lock; else an earlier process had this pid (a restarted container).
  if (owner.pid === process.pid) return heldHere.has(owner.since) && (owner.start === undefined || owner.start === ownProcessStart());
  const boot = bootId();
  if (owner.boot !== undefined && boot !== null && owner.boot !== boot) return false; // taken before a reboot
  if (processGone(owner.pid)) return false;
  // Alive, but maybe another process under a reused pid.
  if (owner.start === undefined) return true;
  const start = processStart(owner.pid);
  return start === null || start === owner.start;
}

function lockedError(what: string, lockPath: string, owner: LockOwner): BriError {
  return new BriError(
    ErrorCodes.LOCKED,
    `${what} is locked by pid ${owner.pid} on ${owner.host} (${owner.purpose || 'unknown'}) since ${Number.isFinite(owner.since) && Math.abs(owner.since) <= 8.64e15 ? new Date(owner.since).toISOString() : 'an unknown time'}`,
    {
      hint: `Wait for that process, or stop it; if it is gone and on another host, remove ${lockPath} by hand.`,
      details: { lockPath, owner },
    },
  );
}

/**
 * Throws LOCKED when a live process holds the data directory's lock, without taking it: for what only
 * reads the directory but must refuse as the run that writes would (a dry run), or checks before it locks.
 */
export async function refuseIfLocked(dataDir: string, hint?: string): Promise<void> {
  const owner = await readLockOwner(dataDir);
  if (owner === null || !isLiveOwner(owner)) return;
  const err = lockedError(`data directory ${dataDir}`, path.join(dataDir, LOCK_FILE), owner);
  throw hint === undefined ? err : new BriError(ErrorCodes.LOCKED, err.message, { hint, details: err.details });
}

/** Takes the data directory's lock, taking over a stale one; throws LOCKED if a live process holds it. */
export async function acquireLock(dataDir: string, purpose: string): Promise<DirLock> {
  return acquireLockFile(path.join(dataDir, LOCK_FILE), purpose, `data directory ${dataDir}`);
}

/**
 * The lock's content is written to a scratch file beside it and published with link(2), which fails
 * when the lock exists: a lock file is therefore whole whenever it can be seen. (Created with O_EXCL
 * and then written, it was empty for a moment; a second process took that for a dead owner's lock,
 * removed it, and both believed they held the directory.)
 */
const SCRATCH = /^(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** Whether `name` is a lock's scratch file (in flight, or left by a process killed while it took the lock). */
export function isLockScratch(name: string): boolean {
  return SCRATCH.test(name);
}

/**
 * The pid of this host's process that made the scratch file `name` of the lock named `base`, or null.
 * Scratch names carry the host: on a file system two hosts share, one host's sweep must not remove
 * a scratch file the other is publishing (pids are per host). A name without one (an older version) is taken as this host's.
 */
function lockScratchOwner(base: string, name: string): number | null {
  if (!name.startsWith(base + '.')) return null;
  const parts = name.slice(base.length + 1).split('.');
  if (parts.length === 3) parts.unshift(hostTag());
  const [host, pid, random, tmp] = parts;
  if (parts.length !== 4 || host !== hostTag() || !/^\d+$/.test(pid!) || !/^[0-9a-f]{12}$/.test(random!) || tmp !== 'tmp') return null;
  return Number(pid);
}

/** A scratch file beside the lock, known to this process until it is removed (see madeByDeadProcess). */
async function withScratch<T>(lockPath: string, use: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = `${lockPath}.${hostTag()}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  noteMadeHere(scratch);
  try {
    return await use(scratch);
  } catch (err) {
    throw namingTheDirectory(err, scratch, lockPath);
  } finally {
    await fsp.rm(scratch, { force: true });
    forgetMadeHere(scratch);
  }
}

/**
 * A failed call on the scratch file (its create in a directory this user cannot write, on a read-only or full
 * disk) is the directory's fault: said of the directory, since the scratch name, random, exists nowhere to check.
 */
function namingTheDirectory(err: unknown, scratch: string, lockPath: string): unknown {
  const e = err as (NodeJS.ErrnoException & { dest?: unknown }) | null;
  if (e === null || typeof e !== 'object' || (e.path !== scratch && e.dest !== scratch)) return err;
  const dir = path.dirname(lockPath);
  const what = e.syscall === 'rename' ? `move ${path.basename(lockPath)} aside` : `create ${path.basename(lockPath)}`;
  const said = new Error(`${e.message.split(',')[0]}, cannot ${what} in ${dir}`, { cause: err });
  return Object.assign(said, { code: e.code, errno: e.errno, syscall: e.syscall, path: dir });
}

/** A lock file's text, or null when there is none; a FIFO at its name is refused, not waited on (regular-file.ts). */
async function readText(file: string): Promise<string | null> {
  try {
    return await readRegularFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A lock's time as written: ms, or a date text another tool wrote; NaN when it is neither (said as unknown). */
function sinceOf(v: unknown): number {
  if (typeof v === 'number') return v;
  return typeof v === 'string' ? (/^\d+$/.test(v) ? Number(v) : Date.parse(v)) : Number.NaN;
}

function parseOwner(text: string | null): LockOwner | null {
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number') return null;
    return {
      pid: parsed.pid,
      host: String(parsed.host ?? ''),
      since: sinceOf(parsed.since),
      purpose: String(parsed.purpose ?? ''),
      ...(typeof parsed.boot === 'string' ? { boot: parsed.boot } : {}),
      ...(typeof parsed.start === 'string' ? { start: parsed.start } : {}),
    };
  } catch {
    return null; // a torn or damaged lock file (an older version wrote it in place): its owner is unknown, so it is stale
  }
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Publishes `text` as the lock; false when a lock is already there. */
async function publish(lockPath: string, text: string): Promise<boolean> {
  return withScratch(lockPath, async (scratch) => {
    try {
      // No fsync: after a crash of the machine every pid in a lock is dead, so the lock is stale whatever it holds.
      await fsp.writeFile(scratch, text, { flag: 'wx', mode: 0o644 });
      const linked = await fsp.link(scratch, lockPath).then(
        () => true,
        async (err: NodeJS.ErrnoException) => {
          // A file system without hard links (some network and FUSE mounts): created with O_EXCL, then written.
          if (NO_LINKS.has(err.code ?? '')) return fsp.writeFile(lockPath, text, { flag: 'wx', mode: 0o644 }).then(() => true);
          // The scratch file went between its write and its link (another run's sweep took it for a dead process's): the caller tries again.
          if (err.code === 'ENOENT' && (await fsp.stat(scratch).catch(() => null)) === null && (await fsp.stat(path.dirname(lockPath)).catch(() => null)) !== null) return false;
          throw err;
        },
      );
      return linked;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      // A write() error names no file (a full disk): the lock's, so that the error and its hint name the disk at fault.
      (err as NodeJS.ErrnoException).path ??= lockPath;
      throw err;
    }
  });
}

/**
 * Removes a stale lock whose content was `text`. It is first renamed to a name of this process's
 * own, so that of two processes taking over the same stale lock only one removes it, and neither
 * removes a lock the other published in the meantime: that one is put back.
 */
async function removeStale(lockPath: string, text: string): Promise<void> {
  await withScratch(lockPath, async (aside) => {
    try {
      await fsp.rename(lockPath, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another process took it over first
      throw err;
    }
    if ((await readText(aside)) !== text) await fsp.link(aside, lockPath).catch(() => undefined);
  });
}

/** Removes the scratch files of processes that were killed while they took this lock. */
async function sweepScratch(lockPath: string): Promise<void> {
  const base = path.basename(lockPath);
  await sweepDeadFiles(path.dirname(lockPath), (name) => lockScratchOwner(base, name));
}

/**
 * Removes the lock at `lockPath` when its owner is dead (and, given `purpose`, took it for that),
 * with the scratch files that processes killed while taking it left beside it.
 */
export async function removeStaleLock(lockPath: string, purpose?: string): Promise<void> {
  const found = await readText(lockPath).catch(() => null);
  const owner = parseOwner(found);
  if (found !== null && !isLiveOwner(owner) && (purpose === undefined || owner?.purpose === purpose)) await removeStale(lockPath, found);
  await sweepScratch(lockPath);
}

/** Whether `file` is still the file `made` was taken of (the same inode, not changed since: a new file may reuse the number). */
async function sameFile(file: string, made: Stats | null): Promise<boolean> {
  const now = await fsp.stat(file).catch(() => null);
  return made !== null && now !== null && now.dev === made.dev && now.ino === made.ino && now.ctimeMs === made.ctimeMs;
}

/**
 * Takes the lock file at `lockPath` (holding pid and host), taking over a stale one; throws LOCKED
 * naming `what` if a live process holds it.
 */
export async function acquireLockFile(lockPath: string, purpose: string, what: string): Promise<DirLock> {
  const boot = bootId();
  const start = ownProcessStart();
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), since: Date.now(), purpose, ...(boot !== null ? { boot } : {}), ...(start !== null ? { start } : {}) };
  const text = JSON.stringify(owner) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    // Counted as held before it is published: another acquirer in this process may read it at once.
    holdHere(owner.since, 1);
    const published = await publish(lockPath, text).catch((err: unknown) => {
      holdHere(owner.since, -1);
      throw err;
    });
    if (published) {
      await sweepScratch(lockPath);
      const made = await fsp.stat(lockPath).catch(() => null);
      let released = false;
      return {
        path: lockPath,
        owner,
        async release() {
          if (released) return;
          released = true;
          try {
            // Ours when it still says so; when it cannot be read (no file handle left: EMFILE, a close's usual moment), when it is
            // still the very file published: stat and unlink take no handle. It was left behind, held by a live pid to every other process.
            const ours = await readText(lockPath).then((found) => found === text, () => sameFile(lockPath, made));
            if (ours) await fsp.unlink(lockPath).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
          } finally {
            holdHere(owner.since, -1);
          }
        },
      };
    }
    holdHere(owner.since, -1);
    const found = await readText(lockPath);
    if (found === null) continue; // released in the meantime
    const current = parseOwner(found);
    if (current && isLiveOwner(current)) {
      if (current.pid === process.pid && current.host === owner.host) {
        throw new BriError(ErrorCodes.LOCKED, `${what} is already in use in this process (pid ${current.pid}, ${current.purpose})`, {
          hint: 'Use the open database instance, or wait for the operation in progress, or close it first.',
          details: { lockPath, owner: current },
        });
      }
      throw lockedError(what, lockPath, current);
    }
    // Stale: the owner died without releasing.
    await removeStale(lockPath, found);
  }
  const current = await readLockFileOwner(lockPath);
  throw lockedError(what, lockPath, current ?? { pid: -1, host: '?', since: 0, purpose: 'unknown' });
}
