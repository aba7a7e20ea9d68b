/**
 * The seeds a restore left beside the directory it made, taken into the archive directory the database
 * archives to. A restore into a new directory (a clone, a restore elsewhere) cannot know where that
 * directory's archives will go, so it keeps the new instance's starting state in the directory's default
 * archive directory (`<data>/archives/.seeds`). Run with its archives elsewhere (`archive.localDir`,
 * `--archive-dir`), the database would otherwise start its first archive at its snapshot: the lines between
 * the restore and that snapshot would be in no archive, and no moment among them could be restored. So a
 * create with no archive of the instance yet copies the instance's seeds from there first (durably; the
 * originals stay, for a reader that looks there).
 */
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { sameDirectory } from '../../store/archive-state.js';
import { commitFile, makeOwnDir, pathExists } from '../../store/durable-fs.js';
import { archiveDirFor } from '../copies/locations.js';
import { SEEDS_DIR } from './seeds.js';

/** The directory a restore keeps a new instance's seeds in when it made `dataDir` (its default archive directory, restore-api.ts). */
export function restoreSeedsDir(dataDir: string): string {
  return archiveDirFor(dataDir, {});
}

/** Copies the seeds of `instanceId` the restore left in `<dataDir>/archives` into `archiveDir` (none already there is replaced). */
export async function adoptRestoreSeeds(dataDir: string, archiveDir: string, instanceId: string): Promise<void> {
  const fromDir = restoreSeedsDir(dataDir);
  if (sameDirectory(fromDir, path.resolve(archiveDir))) return;
  const from = path.join(fromDir, SEEDS_DIR);
  const names = (await fsp.readdir(from).catch(() => [] as string[])).filter((n) => n.startsWith(`${instanceId}.`) && !n.endsWith('.tmp'));
  if (names.length === 0) return;
  const to = path.join(archiveDir, SEEDS_DIR);
  await makeOwnDir(to);
  // The facts go after their seed: a seed is read by its own name, and its facts only with it.
  names.sort((a, b) => Number(a.endsWith('.facts.json')) - Number(b.endsWith('.facts.json')));
  for (const name of names) {
    const target = path.join(to, name);
    if (await pathExists(target)) continue;
    const source = path.join(from, name);
    if (!(await fsp.lstat(source)).isFile()) continue;
    const tmp = `${target}.tmp`;
    // (A temp file a killed copy left goes first: the copy makes its own, never writes through a name found there.)
    await fsp.rm(tmp, { force: true });
    await fsp.copyFile(source, tmp, fsConstants.COPYFILE_EXCL);
    await commitFile(tmp, target);
  }
}
