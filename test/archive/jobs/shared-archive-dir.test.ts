/**
 * An archive directory holds one database's archives: a second data directory
 * archiving into it is refused, and neither database's prune decides on the
 * other's archives there. A restore in place keeps the directory its own (its
 * earlier instance's archives are still its to prune).
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

const tmp = useTempDirs('bri-shared-archive-dir-');

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

const bris = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort();
const readArchive = (dataDir: string, id: string) => readManifest(path.join(dataDir, 'archives', `${id}.bri`));
const later = () => new Date(Date.now() + 30 * 86_400_000);

describe('two data directories given one archive directory', () => {
  it("the second one's create is refused (USAGE, naming the first); the first one's retention never deletes archives it did not make there", async () => {
    const r = await tmp();
    const shared = path.join(r, 'shared');
    const a = path.join(r, 'A');
    const b = path.join(r, 'B');
    await writeKeys(a, 'A1', 2);
    const madeA = await runCli(['archive', 'create', '-q', '-d', a, '-a', shared]);
    expect(madeA.code, madeA.stderr).toBe(0);
    await writeKeys(b, 'B1', 2);
    const madeB = await runCli(['archive', 'create', '-q', '-d', b, '-a', shared]);
    expect(madeB.code, madeB.stderr).toBe(2);
    expect(madeB.stderr).toMatch(/USAGE/);
    expect(madeB.stderr).toContain(fs.realpathSync(a));
    expect(bris(shared)).toHaveLength(1);

    // B's archive put there anyway (made elsewhere, copied in): A's retention leaves it, B's own prune decides on it.
    const bArch = path.join(r, 'B-arch');
    await writeKeys(b, 'B2', 2);
    const madeB2 = await runCli(['archive', 'create', '-q', '-d', b, '-a', bArch]);
    expect(madeB2.code, madeB2.stderr).toBe(0);
    const bFile = bris(bArch)[0]!;
    await fsp.copyFile(path.join(bArch, bFile), path.join(shared, bFile));
    await writeKeys(a, 'A2', 2);
    const madeA2 = await runCli(['archive', 'create', '-q', '-d', a, '-a', shared]);
    expect(madeA2.code, madeA2.stderr).toBe(0);
    const report = await new ArchiveApi(offlineHost(a, undefined), { localDir: shared, retentionDays: 1 }).prune({ now: later() });
    expect(report.removed.map((d) => `${d.archiveId}.bri`)).not.toContain(bFile);
    expect(report.kept.filter((d) => d.reason === 'other-database').map((d) => `${d.archiveId}.bri`)).toEqual([bFile]);
    expect(bris(shared)).toContain(bFile);
    // A's own older archive did expire: its retention still holds for its own.
    expect(report.removed).toHaveLength(1);
    // B's prune over the shared directory decides on none of A's archives there.
    const bReport = await new ArchiveApi(offlineHost(b, undefined), { localDir: shared, retentionDays: 1 }).prune({ now: later() });
    expect(bReport.removed.map((d) => `${d.archiveId}.bri`).every((f) => f === bFile)).toBe(true);
  });

  it("a restore in place keeps the archive directory its own: the earlier instance's archives are still pruned by its retention; a clone archiving there is refused", async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    const ids: string[] = [];
    for (let round = 0; round < 2; round++) {
      await db.set(`K${round}`, { round });
      ids.push((await db.archive.create()).archiveId);
    }
    await db.close();
    // In place, to the first archive: a new instance of the same directory.
    await openRestore({ dataDir }).from(ids[0]!, { force: true });
    const again = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await again.set('N', { n: 1 });
    const next = await again.archive.create();
    await again.close();
    expect(next.manifest.instanceId).not.toBe((await readArchive(dataDir, ids[0]!)).instanceId);
    const report = await new ArchiveApi(offlineHost(dataDir, undefined), { retentionDays: 1 }).prune({ now: later() });
    expect(report.kept.filter((d) => d.reason === 'other-database')).toEqual([]);
    // The earlier instance's first archive expired (its newest is kept, as every instance's is).
    expect(report.removed.map((d) => d.archiveId)).toEqual([ids[0]]);

    const clone = path.join(r, 'clone');
    await openRestore({ dataDir }).clone({ targetDir: clone });
    const fromClone = await runCli(['archive', 'create', '-q', '-d', clone, '-a', path.join(dataDir, 'archives')]);
    expect(fromClone.code, fromClone.stderr).toBe(2);
    expect(fromClone.stderr).toMatch(/holds the archives of the data directory/);
  });
});
