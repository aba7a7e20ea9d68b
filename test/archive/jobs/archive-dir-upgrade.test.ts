/**
 * Archive directories made before bri-archive-dir.json existed (the previous
 * version wrote none: here, the file is removed to stand for that). The
 * instances whose archives such a directory holds are its database's, as the
 * previous version's prune took them, unless another data directory beside it
 * records archiving there (a clone the previous version let share it): then
 * that one, refused there, goes on in an archive directory of its own.
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

  it("shared by a parent and its clone: the first to archive after the upgrade owns it without the other's instance; the other is refused there with the command to run, and that command makes its archives in a directory of its own", async () => {
    const r = await tmp();
    const shared = path.join(r, 'shared');
    const parent = path.join(r, 'parent');
    const clone = path.join(r, 'clone');
    await writeKeys(parent, 'P1', 2);
    expect((await createIn(parent, shared)).code).toBe(0);
    const cloned = await runCli(['restore', 'clone', '-q', '-d', parent, '-a', shared, '--target', clone]);
    expect(cloned.code, cloned.stderr).toBe(0);
    // What the previous version allowed: the clone archiving into the parent's directory, no owner recorded.
    await fsp.rm(path.join(shared, OWNER_FILE));
    await writeKeys(clone, 'C1', 2);
    expect((await createIn(clone, shared)).code).toBe(0);
    await fsp.rm(path.join(shared, OWNER_FILE), { force: true });

    // After the upgrade, the clone archives first: the parent's instance is not recorded as the clone's.
    await writeKeys(clone, 'C2', 1);
    const byClone = await createIn(clone, shared);
    expect(byClone.code, byClone.stderr).toBe(0);
    expect(ownerOf(shared)).toEqual(expect.objectContaining({ dataDir: fs.realpathSync(clone), instances: [await instanceOf(clone)] }));
    const cloneReport = await new ArchiveApi(offlineHost(clone, undefined), { localDir: shared, retentionDays: 1 }).prune({ now: later(), dryRun: true });
    const parentInstance = await instanceOf(parent);
    const parentIds = new Set<string>();
    for (const f of bris(shared)) {
      const m = await readManifest(path.join(shared, f));
      if (m.instanceId === parentInstance) parentIds.add(m.archiveId);
    }
    expect(parentIds.size).toBeGreaterThan(0);
    expect(cloneReport.removed.filter((d) => parentIds.has(d.archiveId))).toEqual([]);

    // The parent is refused there; the hint names the command that gives it an archive directory of its own.
    await writeKeys(parent, 'P2', 1);
    const refused = await createIn(parent, shared);
    expect(refused.code).toBe(2);
    const own = path.join(parent, 'archives');
    expect(refused.stderr).toContain(`bri archive create -d ${parent} --archive-dir ${own}`);
    const wayOut = await runCli(['archive', 'create', '-q', '-d', parent, '--archive-dir', own]);
    expect(wayOut.code, wayOut.stderr).toBe(0);
    const [first] = bris(own);
    expect((await readManifest(path.join(own, first!))).instanceId).toBe(parentInstance);
    // Its archives there restore its whole state, the lines archived in the shared directory included.
    const target = path.join(r, 'restored');
    const restored = await runCli(['restore', 'latest', '-q', '-d', parent, '-a', own, '--target', target]);
    expect(restored.code, restored.stderr).toBe(0);
    const back = await createDB({ storeConfig: { dataDir: target } });
    expect(await back.get('P1_0')).toEqual({ i: 0 });
    expect(await back.get('P2_0')).toEqual({ i: 0 });
    await back.close();
  });
});
