/**
 * Which instances a rekey run for a data directory rewraps: its own and the ones it continues, never another
 * database's. A clone archiving to its origin's remote sees the origin's archives and shipments there: rewrapped
 * for the clone's new key, the origin (still configured for its own recipients) could no longer open them.
 * (The shipments' rekey takes these instances: shipping/rekey-shipments.ts.)
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readArchiveState } from '../../store/archive-state.js';
import { holdsAnothersArchives, instancesArchivedBy } from '../copies/archive-dir-owner.js';
import type { CatalogArchive } from '../copies/catalog.js';
import { LOCAL_SOURCE } from '../copies/sources.js';
import { SEEDS_DIR } from '../create/seeds.js';

/** A seed's file name: `<instance>.<line>.` then its kind. */
const SEED_NAME = /^(.+)\.(\d+)\.(?:facts\.json|jss.*)$/;

/**
 * The data directory's instance and those of its own lineage: the instances it archived into its archive
 * directory (its earlier ones after a restore in place; bri-archive-dir.json records them), whatever archives
 * are there as local copies (an archive directory holds one database's), and the instances its seeds there are
 * kept for (a clone or a restore that has not archived yet). A clone's origin is none of these: it is another
 * live database, configured for its own recipients. Nor is anything in an archive directory another data
 * directory owns (given with -a): its only, then.
 */
export async function instancesOfThisDatabase(archiveDir: string, dataDir: string | undefined, archives: readonly CatalogArchive[]): Promise<Set<string>> {
  const own = new Set<string>();
  if (dataDir !== undefined) {
    const state = await readArchiveState(dataDir);
    if (state) own.add(state.instanceId);
    if (await holdsAnothersArchives(archiveDir, dataDir)) return own;
    for (const i of await instancesArchivedBy(archiveDir, dataDir)) own.add(i);
  }
  for (const a of archives) if (a.copies.some((c) => c.source === LOCAL_SOURCE)) own.add(a.manifest.instanceId);
  for (const name of await fsp.readdir(path.join(archiveDir, SEEDS_DIR)).catch(() => [] as string[])) {
    const id = SEED_NAME.exec(name)?.[1];
    if (id !== undefined) own.add(id);
  }
  return own;
}

/**
 * Stands for a data directory that has no instance yet (it never archived) in the stats' scope: with no
 * instance at all, every archive would count as its own (a lost machine's), those of another data
 * directory's archive directory too.
 */
const NO_INSTANCE_YET = '';

/** Whose archives `bri archive stats` counts: this database's instances, and the one its data directory is now. */
export async function statsScope(archiveDir: string, dataDir: string, archives: readonly CatalogArchive[]): Promise<{ own: Set<string>; current: string | null }> {
  const own = await instancesOfThisDatabase(archiveDir, dataDir, archives);
  if (own.size === 0 && (await holdsAnothersArchives(archiveDir, dataDir))) own.add(NO_INSTANCE_YET);
  return { own, current: (await readArchiveState(dataDir).catch(() => null))?.instanceId ?? null };
}
