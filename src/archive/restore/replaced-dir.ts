/**
 * What a restore does to the rest of the directory it replaces. The restored directory holds the
 * store's own entries and the archive directory carried over; anything else stays with the old
 * directory (moved aside, or deleted with --clean-existing). Archives there that are not carried over
 * (another database's, the only copies perhaps) are never deleted that way, and the other entries (an
 * application's settings, an index kept beside the data) are said, not lost without a word.
 */
import type { Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { chownIfAllowed } from '../../store/durable-fs.js';
import { COLD_DIR, DATA_DIR_ENTRIES, SNAPSHOT_FILE, TXN_DIR, WAL_DIR } from '../../store/layout.js';
import { ARCHIVE_DIR_OWNER_FILE } from '../copies/archive-dir-owner.js';
import { ARCHIVE_EXTENSION } from '../package/ids.js';

/** How deep archives are looked for (an archive directory is at most a few levels down: backups/db1/archives). */
const ARCHIVE_SEARCH_DEPTH = 3;
/** The store's directories hold no archive (the store would delete one), and may be large: not walked. */
const STORE_DIRS = new Set([WAL_DIR, COLD_DIR, TXN_DIR]);
const NAMES_SHOWN = 10;

/** The directories of `target` (relative; '.' for itself) holding archives or an archive directory's record, other than those carried over. */
export async function archivesNotCarried(target: string, carryOver: readonly string[]): Promise<string[]> {
  const carried = new Set(carryOver.map((rel) => path.normalize(rel)));
  const found: string[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (carried.has(rel)) return;
    const entries = await fsp.readdir(path.join(target, rel), { withFileTypes: true }).catch(() => []);
    if (entries.some((e) => e.isFile() && (e.name.endsWith(ARCHIVE_EXTENSION) || e.name === ARCHIVE_DIR_OWNER_FILE))) {
      found.push(rel === '' ? '.' : rel);
      return;
    }
    if (depth === 0) return;
    // Links are not followed: removing the old directory removes a link, never what it points to.
    for (const e of entries) if (e.isDirectory() && !(rel === '' && STORE_DIRS.has(e.name))) await walk(path.join(rel, e.name), depth - 1);
  };
  await walk('', ARCHIVE_SEARCH_DEPTH);
  return found;
}

/** --clean-existing over a directory holding archives this restore does not keep: refused, nothing changed. */
export async function refuseDeletingArchives(target: string, carryOver: readonly string[]): Promise<void> {
  const left = await archivesNotCarried(target, carryOver);
  if (left.length === 0) return;
  const dirs = left.map((rel) => path.join(target, rel));
  throw new BriError(ErrorCodes.USAGE, `--clean-existing would delete archives that this restore does not keep: ${dirs.join(', ')} (in ${target}, which it replaces); nothing was changed`, {
    hint: 'Move those archives out of the directory first (they may be the only copies, another database\'s perhaps), or leave out --clean-existing: the old directory is then kept beside the restored one, archives and all.',
    details: { target, archives: dirs },
  });
}

/** The entries of `target` the restored directory does not bring back: not the store's (txn/ only when it holds something), not carried over. */
export async function entriesLeftBehind(target: string, carryOver: readonly string[]): Promise<string[]> {
  const carriedTop = new Set(carryOver.map((rel) => path.normalize(rel).split(path.sep)[0]));
  const entries = await fsp.readdir(target, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    if (carriedTop.has(e.name)) continue;
    // Transactions under way are in no archive: a restore rebuilds txn/ empty.
    if (e.name === TXN_DIR ? (await fsp.readdir(path.join(target, TXN_DIR)).catch(() => [])).length === 0 : DATA_DIR_ENTRIES.includes(e.name)) continue;
    out.push(e.isDirectory() ? `${e.name}/` : e.name);
  }
  return out.sort();
}

/** The warning that says those entries and where they go (null: there are none). */
export function leftBehindWarning(entries: readonly string[], fate: { dryRun: boolean; movedAside: string | null }): string | null {
  if (entries.length === 0) return null;
  const more = entries.length > NAMES_SHOWN ? ` and ${entries.length - NAMES_SHOWN} more` : '';
  const where =
    fate.movedAside === null
      ? `${fate.dryRun ? 'the restore would delete them' : 'deleted them'} with it (--clean-existing)`
      : `${fate.dryRun ? 'they would be kept' : 'kept'} in ${fate.movedAside}, not in the restored directory`;
  return `the directory replaced holds entries that no archive holds and the restore does not bring back: ${entries.slice(0, NAMES_SHOWN).join(', ')}${more}: ${where}`;
}

/**
 * The restored directory gets the replaced one's mode and owner, its files the mode its snapshot had:
 * built with the defaults of the user restoring, a private directory came back readable by every user of
 * the machine, and one owned by the application's user came back owned by root. Each entry takes the
 * owner of the one it replaces (a group-shared root:app directory holds the application's files), else
 * of the directory it goes into.
 */
export async function keepModeAndOwner(replaced: string, built: string): Promise<void> {
  const top = await fsp.stat(replaced).catch(() => null);
  if (top === null || !top.isDirectory()) return;
  const snapshot = await fsp.stat(path.join(replaced, SNAPSHOT_FILE)).catch(() => null);
  const walk = async (rel: string, parentOwner: Owner): Promise<void> => {
    const p = path.join(built, rel);
    const owner = (await counterpart(replaced, rel, true)) ?? parentOwner;
    // The owner first: a chown may drop the set-group-id bit a shared directory's mode sets again.
    await giveTo(p, owner);
    await fsp.chmod(p, top.mode & 0o7777);
    for (const e of await fsp.readdir(p, { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) await walk(child, owner);
      else if (e.isFile()) {
        await giveTo(path.join(built, child), (await counterpart(replaced, child, false)) ?? owner);
        if (snapshot !== null) await fsp.chmod(path.join(built, child), snapshot.mode & 0o7777);
      }
    }
  };
  await walk('', top);
}

type Owner = Pick<Stats, 'uid' | 'gid'>;

/** The owner of the entry of the same kind at `rel` in the replaced directory (null: none there). */
async function counterpart(replaced: string, rel: string, isDir: boolean): Promise<Owner | null> {
  const st = await fsp.lstat(path.join(replaced, rel)).catch(() => null);
  return st !== null && (isDir ? st.isDirectory() : st.isFile()) ? st : null;
}

/** Only root can give a file away: anyone else restores a directory that is theirs already. */
const giveTo = (p: string, owner: Owner): Promise<void> => chownIfAllowed(p, owner.uid, owner.gid);
