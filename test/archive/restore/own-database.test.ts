/**
 * A restore over a data directory of its own (bri-archive.json records its chain) pointed at sources that
 * hold only another database's archives (a wrong --archive-dir) must not put that database over it: the
 * planner refuses (USAGE naming the instances found and --instance). An instance the directory was
 * restored or cloned from is its database's: not refused as another's, but its newest state is not the
 * directory's own (ARCHIVE_NOT_FOUND, --instance takes it); any instance is taken when the directory is
 * gone or says nothing of its chain.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSources } from '../../../src/archive/copies/catalog.js';
import { ArchiveSources } from '../../../src/archive/copies/sources.js';
import { planFor } from '../../../src/archive/restore/planner.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { dataDirEnd } from '../../../src/archive/timetravel/wal-tail.js';
import { createDB } from '../../../src/db.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-own-database-');

/** `keys` written into `dataDir` (archives in its archives/), then archived when `archive`. */
async function write(dataDir: string, keys: string[], archive: boolean): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  try {
    for (const k of keys) await db.set(k, { k });
    if (archive) await db.archive.create();
  } finally {
    await db.close();
  }
}

/** The plan of `restore latest -d dataDir -a archiveDir`, the planner told what the directory records (as restore-api reads it). */
async function planOver(dataDir: string, archiveDir: string, instanceId?: string) {
  const sources = new ArchiveSources([]);
  const listing = await listSources(archiveDir, sources);
  const state = await readArchiveState(dataDir).catch(() => null);
  return planFor(
    {
      archives: listing.archives,
      sources,
      order: sources.order,
      unreachable: listing.unreachable,
      unreadable: listing.unreadable,
      ...(state ? { ownInstance: state.instanceId, ownChain: state } : {}),
      ...(instanceId !== undefined ? { explicitInstance: instanceId } : {}),
      dataDirEnd: () => dataDirEnd(dataDir),
    },
    { kind: 'latest' },
  );
}

const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as { code?: string; message?: string; hint?: string; details?: { instances?: string[] } });

describe("restore over a data directory from sources holding only another database's archives", () => {
  it('refuses USAGE naming the instances found and --instance; --instance takes one on purpose; a lost or never-archived directory still restores', async () => {
    const root = await tmp();
    const mine = path.join(root, 'mine');
    const theirs = path.join(root, 'theirs');
    await write(mine, ['MINE_0', 'MINE_1'], true);
    await write(mine, ['MINE_NEW_0'], false);
    await write(theirs, ['THEIRS_0', 'THEIRS_1', 'THEIRS_2'], true);
    const theirId = (await readArchiveState(theirs))!.instanceId;
    const wrong = await refusal(planOver(mine, path.join(theirs, 'archives')));
    expect(wrong?.code).toBe('USAGE');
    expect(wrong?.message).toContain((await readArchiveState(mine))!.instanceId);
    expect(wrong?.message).toContain(theirId);
    expect(wrong?.hint).toContain('--instance');
    expect(wrong?.details?.instances).toEqual([theirId]);
    // Named, it is taken: the user said so.
    expect((await planOver(mine, path.join(theirs, 'archives'), theirId)).instanceId).toBe(theirId);
    // The directory gone (disaster recovery), or one that never archived (no bri-archive.json): the archives there are taken.
    expect((await planOver(path.join(root, 'gone'), path.join(theirs, 'archives'))).instanceId).toBe(theirId);
    const fresh = path.join(root, 'fresh');
    await write(fresh, ['F'], false);
    expect((await planOver(fresh, path.join(theirs, 'archives'))).instanceId).toBe(theirId);
  }, 120_000);

  it("takes the instance a directory was cloned from, whose archives the sources hold (the directory's own chain began on one of its lines)", async () => {
    const root = await tmp();
    const origin = path.join(root, 'origin');
    await write(origin, ['O1'], true);
    await write(origin, ['O2'], true);
    const originId = (await readArchiveState(origin))!.instanceId;
    const clone = path.join(root, 'clone');
    const api = openRestore({ dataDir: origin, config: {} });
    try {
      await api.clone({ targetDir: clone });
    } finally {
      await api.close();
    }
    expect((await readArchiveState(clone))?.origin?.line).toBe(1);
    // The clone archives elsewhere (its archives not in origin's directory), and is pointed at origin's.
    await write(clone, ['C1'], true);
    await fsp.access(path.join(clone, 'archives'));
    // Its database's (not USAGE), but origin's newest state is not the clone's (C1 is in none of these archives): named, it is taken.
    const notHere = await refusal(planOver(clone, path.join(origin, 'archives')));
    expect(notHere?.code).toBe('ARCHIVE_NOT_FOUND');
    expect(notHere?.hint).toContain(`--instance ${originId}`);
    expect((await planOver(clone, path.join(origin, 'archives'), originId)).instanceId).toBe(originId);
    // And the other way: origin's directory pointed at the clone's archives (which began on origin's chain).
    const cloneId = (await readArchiveState(clone))!.instanceId;
    expect((await refusal(planOver(origin, path.join(clone, 'archives'))))?.code).toBe('ARCHIVE_NOT_FOUND');
    expect((await planOver(origin, path.join(clone, 'archives'), cloneId)).instanceId).toBe(cloneId);
  }, 120_000);
});
