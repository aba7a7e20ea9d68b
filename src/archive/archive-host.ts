/**
 * How the archive system reaches its data directory: through the open store
 * (createDB), or offline under the directory's lock (the CLI, or after
 * db.close()).
 */
import { EventEmitter } from 'node:events';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { asBriError, BriError, ErrorCodes, isBriError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { assertDataDir } from '../store/data-dir.js';
import { SNAPSHOT_FILE } from '../store/layout.js';
import { acquireLock } from '../store/lock/dir-lock.js';
import { completeWalCleanup } from '../store/wal/wal-cleanup.js';
import { offlineRemover, offlineSealer, type Sealer, type SegmentRemover } from '../store/offline.js';

/** How the archive system reaches its data directory: through an open store, or offline under the lock. */
export interface ArchiveHost {
  dataDir: string;
  key?: EncryptionKey;
  seal: Sealer;
  /** Runs `fn` with the right to change the data directory. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Removes archived WAL segments (run inside `exclusive`). */
  removeSegments: SegmentRemover;
  /** Called when a run is over: what the seal kept for the cleanup can go. */
  releaseSeal?(): void;
}

/** The host for a data directory that no process has open: the lock is taken per operation. */
export function offlineHost(dataDir: string, key: EncryptionKey | undefined, purpose = 'bri archive'): ArchiveHost {
  return {
    dataDir,
    ...(key ? { key } : {}),
    seal: offlineSealer(dataDir, key),
    removeSegments: offlineRemover(dataDir, key),
    async exclusive(fn) {
      // A directory that is not a data directory is refused before its lock file is written into it.
      await assertDataDir(dataDir, false);
      const lock = await acquireLock(dataDir, purpose).catch(async (err: unknown) => Promise.reject(await lockOnFullDisk(err, dataDir, purpose)));
      try {
        // A WAL cleanup a crash interrupted is finished first, so that line numbers are right.
        await completeWalCleanup(dataDir);
        return await fn();
      } finally {
        await lock.release();
      }
    },
  };
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * The lock could not be written because the data directory's disk is full: the very commands that would free
 * space there (a WAL cleanup, a delete, a prune) stop at it, and "free space there" named no safe way to.
 */
async function lockOnFullDisk(err: unknown, dataDir: string, purpose: string): Promise<unknown> {
  if (!NO_SPACE.has((err as NodeJS.ErrnoException | null)?.code ?? '')) return err;
  const e = asBriError(err, `${purpose}: the lock of data directory ${dataDir} cannot be written`);
  const snapshot = await fsp.stat(path.join(dataDir, SNAPSHOT_FILE)).then((st) => st.size, () => 0);
  return new BriError(ErrorCodes.IO_ERROR, e.message, {
    hint: `The disk (or quota) holding ${dataDir} is full, and a change to the directory writes its lock first: free space on it, then run it again (a WAL cleanup, which removes archived WAL, needs room for a new ${SNAPSHOT_FILE}: ${snapshot} bytes). What can go without losing data: a local archive copy that a remote holds too (\`bri archive list\` shows each archive's copies), leftovers in the archive directory's .tmp; never WAL segments or ${SNAPSHOT_FILE} by hand.`,
    details: e.details,
    cause: err,
  });
}

/**
 * Runs `fn`, which changes the archives (the archive directory, a remote's copies), with the right to change the
 * data directory: a create, a WAL cleanup or a prune of another process (or of the open store's own job) decides on
 * the archives there are, and must not do so while they change. A directory that is no data directory has no
 * writer to keep out (no store, no create runs on it): `fn` runs as it is, as it did on a downloaded archive.
 */
export async function changingArchives<T>(host: ArchiveHost, fn: () => Promise<T>): Promise<T> {
  const isDataDir = await assertDataDir(host.dataDir, false).then(
    () => true,
    (err: unknown) => (isBriError(err, ErrorCodes.NOT_A_DATA_DIR) ? false : Promise.reject(err)),
  );
  return isDataDir ? host.exclusive(fn) : fn();
}

/*
 * The `db.archive` and `db.restore` of a closed database. Their remotes' clients are closed with it, so
 * a call after close() would answer from whatever still answers: an empty listing, "no archive", a
 * remote "that cannot be reached", or an archive run on a directory this process no longer holds the
 * lock of (one that removed another process's run in progress). Such a call goes to `stopped()` (what
 * the stopped database offers: db.restore becomes openRestore's), or is STORE_CLOSED.
 */

/** Calls that stay harmless after close: listeners, figures already held, and closing again. */
const STILL_OPEN = new Set<string | symbol>(['close', 'idle', 'stopTriggers', 'stopShipping', 'shippingStatus', 'metrics', 'fileFor']);

function closedError(name: string, prop: string): BriError {
  return new BriError(ErrorCodes.STORE_CLOSED, `${name}.${prop}: the database is closed`, {
    hint: 'Open it again with createDB(), or, for a stopped database, use openRestore({ dataDir }) or the bri command line.',
    details: { call: `${name}.${prop}` },
  });
}

export function afterClose<T extends object>(api: T, closed: () => boolean, name: string, stopped?: () => T): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || STILL_OPEN.has(prop) || prop in EventEmitter.prototype) return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (!closed()) return method.apply(target, args);
        if (!stopped) return Promise.reject(closedError(name, String(prop)));
        // Every call proxied here returns a promise: what fails on the way (the stopped API cannot be made) is its rejection, never a throw.
        try {
          const other = stopped();
          return (Reflect.get(other, prop) as (...a: unknown[]) => unknown).apply(other, args);
        } catch (err) {
          return Promise.reject(err);
        }
      };
    },
  });
}
