/**
 * A restore replaces its whole target (moved aside, or deleted with --clean-existing), so a target inside
 * another database's data directory (its wal/) or archive directory, or one holding another database, took
 * that database's files with it: a running one's WAL writes failed, its segments went aside and it no longer
 * opened, its archives were gone. Refused before anything is built, LOCKED while that database is open; never
 * with --force as the way out, which is what led there.
 */
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { ARCHIVE_STATE_FILE, LOCK_FILE, SNAPSHOT_FILE, WAL_DIR } from '../../store/layout.js';
import { isLiveOwner, readLockOwner, type LockOwner } from '../../store/lock/dir-lock.js';
import { ARCHIVE_DIR_OWNER_FILE } from '../copies/archive-dir-owner.js';
import { archiveDirOwner, isDataDirectory, realPath } from '../copies/locations.js';
import { walkTree } from './replaced-dir.js';

/** How many entries of the target are looked through for databases inside it, nearest first. */
const ENTRIES_LOOKED_AT = 100_000;
/** A data directory holds one of these (its wal/ is checked for segments), so others are not looked into. */
const DATA_DIR_MARKS = new Set([SNAPSHOT_FILE, ARCHIVE_STATE_FILE, WAL_DIR, LOCK_FILE]);

interface OtherDatabase {
  /** The data directory, or the archive directory (its data directory as `owner`: '' when unreadable). */
  dir: string;
  owner?: string;
  where: 'is' | 'is inside' | 'holds';
}

/** The nearest directory above the target that is a data directory, or the target or one above it that is an archive directory. */
function around(target: string): OtherDatabase | null {
  for (let dir = target; ; dir = path.dirname(dir)) {
    const owner = archiveDirOwner(dir);
    if (owner !== null) return { dir, owner, where: dir === target ? 'is' : 'is inside' };
    if (dir !== target && isDataDirectory(dir)) return { dir, where: 'is inside' };
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * Data directories below the target, and archive directories of another data directory than the target
 * (a database given as the target with its own archives/ is replaced whole, as --force asks), the carried-over
 * paths aside. Not looked into further once found.
 */
async function within(target: string, carryOver: readonly string[]): Promise<OtherDatabase[]> {
  const carried = new Set(carryOver.map((rel) => path.normalize(rel)));
  const found: OtherDatabase[] = [];
  await walkTree(target, (rel) => carried.has(rel), (rel, entries) => {
    if (rel === '') return true;
    const dir = path.join(target, rel);
    if (entries.some((e) => DATA_DIR_MARKS.has(e.name)) && isDataDirectory(dir)) {
      found.push({ dir, where: 'holds' });
      return false;
    }
    const owner = entries.some((e) => e.name === ARCHIVE_DIR_OWNER_FILE) ? archiveDirOwner(dir) : null;
    if (owner === null || owner === target) return true;
    found.push({ dir, owner, where: 'holds' });
    return false;
  }, ENTRIES_LOOKED_AT);
  return found;
}

function described(o: OtherDatabase): string {
  return o.owner === undefined ? `the data directory ${o.dir} of another database` : `the archive directory ${o.dir} of the data directory ${o.owner || '(unreadable)'}`;
}

/**
 * Refuses a target inside, or holding, another database's data directory or archive directory: LOCKED when a
 * process has that database open, else USAGE; both name it. `look: 'around'` looks only above the target: made
 * before the restore makes the target's parents and its lock file beside it, which would land in that database.
 */
export async function refuseOtherDatabases(target: string, carryOver: readonly string[], look: 'around' | 'everywhere' = 'everywhere'): Promise<void> {
  const real = realPath(target);
  const found = [around(real), ...(look === 'around' ? [] : await within(real, carryOver))].filter((o): o is OtherDatabase => o !== null);
  if (found.length === 0) return;
  const shown = found.slice(0, 3).map(described).join(', ') + (found.length > 3 ? ` and ${found.length - 3} more` : '');
  const message = `cannot restore into ${target}: it ${found[0]!.where} ${shown}, which a restore would take apart with it (moved aside, or deleted with --clean-existing)`;
  const hint = `Restore into a directory of its own, outside every other database's data directory and archive directory and holding none (a new directory beside ${found[0]!.where === 'holds' ? target : found[0]!.dir}, for example)${found[0]!.where === 'holds' ? `, or move ${found.map((o) => o.dir).join(', ')} out of ${target} first` : ''}.`;
  const details = { target, otherDirectories: found.map((o) => o.dir) };
  for (const o of found.filter((f) => f.owner === undefined)) {
    const owner = await readLockOwner(o.dir);
    if (isLiveOwner(owner)) throw new BriError(ErrorCodes.LOCKED, `${message}; ${o.dir} is open: ${openBy(owner!)}; nothing was changed`, { hint: `${hint} That database stays open and untouched.`, details: { ...details, lockPath: path.join(o.dir, LOCK_FILE), owner } });
  }
  throw new BriError(ErrorCodes.USAGE, `${message}; nothing was changed`, { hint, details });
}

function openBy(owner: LockOwner): string {
  return `locked by pid ${owner.pid} on ${owner.host} (${owner.purpose || 'unknown'})`;
}
