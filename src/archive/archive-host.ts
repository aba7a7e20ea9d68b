/**
 * How the archive system reaches its data directory: through the open store
 * (createDB), or offline under the directory's lock (the CLI, or after
 * db.close()).
 */
import type { EncryptionKey } from '../format/encryption.js';
import { assertDataDir } from '../store/data-dir.js';
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
      const lock = await acquireLock(dataDir, purpose);
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
