/**
 * What a restore does to the rest of the directory it replaces. The restored directory holds the
 * store's own entries and the archive directory carried over; anything else stays with the old
 * directory (moved aside, or deleted with --clean-existing). Archives there that are not carried over
 * (another database's, the only copies perhaps) are never deleted that way, and the other entries (an
 * application's settings, an index kept beside the data) are said, not lost without a word.
 */
import type { Dirent, Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { chownIfAllowed } from '../../store/durable-fs.js';
import { DATA_DIR_ENTRIES, SNAPSHOT_FILE, TXN_DIR } from '../../store/layout.js';
import { ARCHIVE_DIR_OWNER_FILE } from '../copies/archive-dir-owner.js';
import { ARCHIVE_EXTENSION } from '../package/ids.js';

/**
 * How many entries the search for archives reads before it gives up: bounded by entries, not depth (an
 * archive directory four folders down was deleted as holding "no archive"), and said when reached.
 */
export const ARCHIVE_SEARCH_ENTRIES = 1_000_000;
const NAMES_SHOWN = 10;

/**
 * Visits `root`'s directories breadth first (nearest first), each with its entries, where `visit` says to go
 * on below it; symbolic links are not followed (removing a directory removes a link, never what it points
 * to). False when `maxEntries` were read before the whole tree was.
 */
export async function walkTree(root: string, skip: (rel: string) => boolean, visit: (rel: string, entries: readonly Dirent[]) => boolean, maxEntries: number): Promise<boolean> {
  let left = maxEntries;
  const queue = [''];
  for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
    if (skip(rel)) continue;
    const dir = await fsp.opendir(path.join(root, rel)).catch(() => null);
    if (dir === null) continue;
    const entries: Dirent[] = [];
    for await (const e of dir) {
      if (left-- === 0) break;
      entries.push(e);
    }
    if (left < 0) {
      visit(rel, entries);
      return false;
    }
    if (visit(rel, entries)) for (const e of entries) if (e.isDirectory()) queue.push(path.join(rel, e.name));
  }
  return true;
}

/**
 * The directories of `target` (relative; '.' for itself) holding archives or an archive directory's record,
 * other than those carried over, the store's own directories searched too (an archive directory given as
 * another database's wal/); `complete` false when the search stopped at its bound.
 */
export async function archivesNotCarried(target: string, carryOver: readonly string[]): Promise<{ found: string[]; complete: boolean }> {
  const carried = new Set(carryOver.map((rel) => path.normalize(rel)));
  const found: string[] = [];
  const complete = await walkTree(target, (rel) => carried.has(rel), (rel, entries) => {
    if (!entries.some((e) => e.isFile() && (e.name.endsWith(ARCHIVE_EXTENSION) || e.name === ARCHIVE_DIR_OWNER_FILE))) return true;
    found.push(rel === '' ? '.' : rel);
    return false;
  }, ARCHIVE_SEARCH_ENTRIES);
  return { found, complete };
}

/**
 * --clean-existing over a directory holding archives this restore does not keep, or too large to be searched
 * for them whole (what was not searched is never said to hold no archive): refused, nothing changed.
 */
export async function refuseDeletingArchives(target: string, carryOver: readonly string[]): Promise<void> {
  const { found, complete } = await archivesNotCarried(target, carryOver);
  if (found.length === 0 && complete) return;
  const dirs = found.map((rel) => path.join(target, rel));
  const kept = 'leave out --clean-existing: the old directory is then kept beside the restored one, archives and all.';
  if (found.length === 0) {
    throw new BriError(ErrorCodes.USAGE, `--clean-existing would delete ${target}, which holds more than ${ARCHIVE_SEARCH_ENTRIES} entries: the restore searched that many for archives (another database's, the only copies perhaps) and stopped, and deletes nothing it has not searched; nothing was changed`, {
      hint: `Remove what ${target} holds yourself once you know it holds no archive you need (the restore then replaces an empty directory), or ${kept}`,
      details: { target, searchedEntries: ARCHIVE_SEARCH_ENTRIES },
    });
  }
  throw new BriError(ErrorCodes.USAGE, `--clean-existing would delete archives that this restore does not keep: ${dirs.join(', ')} (in ${target}, which it replaces); nothing was changed`, {
    hint: `Move those archives out of the directory first (they may be the only copies, another database's perhaps), or ${kept}`,
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
