/**
 * Archive directories made before bri-archive-dir.json existed (the previous
 * version wrote none: here, the file is removed to stand for that). The
 * instances whose archives such a directory holds are its database's, as the
 * previous version's prune took them, unless another data directory beside it
 * records archiving there (a clone the previous version let share it).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { readManifest } from '../../../src/archive/package/reader.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-archive-dir-upgrade-');

const OWNER_FILE = 'bri-archive-dir.json';
const later = () => new Date(Date.now() + 30 * 86_400_000);
const bris = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort();
const ownerOf = (archiveDir: string) => JSON.parse(fs.readFileSync(path.join(archiveDir, OWNER_FILE), 'utf8')) as { dataDir: string; instances: string[] };
const instanceOf = async (dataDir: string) => (JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { instanceId: string }).instanceId;

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

async function createIn(dataDir: string, archiveDir: string) {
  return runCli(['archive', 'create', '-q', '-d', dataDir, '-a', archiveDir]);
}

describe('an archive directory made before bri-archive-dir.json existed', () => {
  it("keeps the instances it archived before a restore in place as its own: pruned by its retention (before and after the first create), none called another database's", async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const archiveDir = path.join(dataDir, 'archives');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    const ids: string[] = [];
    for (let round = 0; round < 2; round++) {
      await db.set(`K${round}`, { round });
      ids.push((await db.archive.create()).archiveId);
    }
    await db.close();
    await openRestore({ dataDir }).from(ids[0]!, { force: true });
    await fsp.rm(path.join(archiveDir, OWNER_FILE));
    const api = () => new ArchiveApi(offlineHost(dataDir, undefined), { retentionDays: 1 });

    const before = await api().prune({ now: later(), dryRun: true });
    expect(before.kept.filter((d) => d.reason === 'other-database')).toEqual([]);
    expect(before.removed.map((d) => d.archiveId)).toEqual([ids[0]]);

    // The first create after the upgrade writes the owner file: the earlier instance is recorded with the new one.
    const earlier = (await readManifest(path.join(archiveDir, `${ids[0]!}.bri`))).instanceId;
    await writeKeys(dataDir, 'N', 1);
    const made = await createIn(dataDir, archiveDir);
    expect(made.code, made.stderr).toBe(0);
    expect(ownerOf(archiveDir).instances.sort()).toEqual([earlier, await instanceOf(dataDir)].sort());
    const after = await api().prune({ now: later() });
    expect(after.kept.filter((d) => d.reason === 'other-database')).toEqual([]);
    expect(after.removed.map((d) => d.archiveId)).toEqual([ids[0]]);
    expect(bris(archiveDir)).not.toContain(`${ids[0]!}.bri`);
  });
});
