/** Recognising a BRI data directory before anything is written to it. */
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes } from '../errors.js';
import { LOCK_FILE, SNAPSHOT_FILE, WAL_DIR } from './layout.js';
import { isLockScratch } from './lock/dir-lock.js';

function notADataDir(dir: string, why: string): BriError {
  return new BriError(ErrorCodes.NOT_A_DATA_DIR, `${dir} is not a BRI data directory: ${why}`, {
    hint: 'Point --data-dir (or storeConfig.dataDir) at a directory holding wal/ and snapshot.jss, or at an empty or new directory.',
    details: { dataDir: dir },
  });
}

/**
 * The lock and its scratch files: a first open takes the lock before it makes wal/, so a directory
 * holding only these is new (another open is making it, or one was killed doing so), not foreign.
 */
function isLockEntry(name: string): boolean {
  return name === LOCK_FILE || (name.startsWith(`${LOCK_FILE}.`) && isLockScratch(name));
}

/**
 * Accepts a directory holding wal/ or snapshot.jss, or an empty or missing one
 * (created when `create` is true); the lock's own files do not count (the lock
 * then says LOCKED, or takes over a stale one). Anything else is refused and left as it is.
 */
export async function assertDataDir(dir: string, create: boolean): Promise<void> {
  let entries: string[];
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) throw notADataDir(dir, 'it is not a directory');
    entries = await fsp.readdir(dir);
  } catch (err) {
    if (err instanceof BriError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw notADataDir(dir, (err as Error).message);
    if (!create) throw notADataDir(dir, 'it does not exist');
    await fsp.mkdir(dir, { recursive: true });
    return;
  }
  if (entries.every(isLockEntry)) return;
  if (entries.includes(WAL_DIR)) {
    const st = await fsp.stat(`${dir}/${WAL_DIR}`);
    if (!st.isDirectory()) throw notADataDir(dir, 'wal is not a directory');
    return;
  }
  if (entries.includes(SNAPSHOT_FILE)) return;
  const others = entries.filter((e) => !isLockEntry(e));
  throw notADataDir(dir, `it holds other files (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}) and no wal/ or snapshot.jss`);
}
