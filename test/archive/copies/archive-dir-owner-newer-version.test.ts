/**
 * bri-archive-dir.json written by a newer bri (its format version 2) was called damaged, with a hint to remove it:
 * it is told apart now (written by a newer version: upgrade bri), and left as it is; a damaged one is still damaged.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-owner-newer-');

async function archivedOnce(r: string): Promise<{ dataDir: string; archiveDir: string; ownerFile: string }> {
  const [dataDir, archiveDir] = [path.join(r, 'V'), path.join(r, 'V-archives')];
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`V_${i}`, { i });
  await db.close();
  const made = await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', archiveDir]);
  expect(made.code, made.stderr).toBe(0);
  const db2 = await createDB({ storeConfig: { dataDir } });
  await db2.set('V_more', { more: true });
  await db2.close();
  return { dataDir, archiveDir, ownerFile: path.join(archiveDir, 'bri-archive-dir.json') };
}

describe('bri-archive-dir.json of a newer format version', () => {
  it('the create says it was written by a newer version of bri and to upgrade, not that it is damaged; the file is kept', async () => {
    const { dataDir, archiveDir, ownerFile } = await archivedOnce(await tmp());
    const newer = JSON.stringify({ ...(JSON.parse(await fsp.readFile(ownerFile, 'utf8')) as object), version: 2, movedOn: true });
    await fsp.writeFile(ownerFile, newer);
    const res = await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', archiveDir]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('ARCHIVE_ERROR');
    expect(res.stderr).toMatch(/written by a newer version of bri \(its format version 2; this one reads version 1\)/);
    expect(res.stderr).toMatch(/hint: Upgrade bri-archive/);
    expect(res.stderr).not.toMatch(/damaged|remove it/);
    expect(fs.readFileSync(ownerFile, 'utf8')).toBe(newer);
    expect(fs.readdirSync(archiveDir).filter((f) => f.endsWith('.bri'))).toHaveLength(1);
  });

  it('one with bad fields is still damaged (remove it, and archive from its data directory again)', async () => {
    const { dataDir, archiveDir, ownerFile } = await archivedOnce(await tmp());
    await fsp.writeFile(ownerFile, JSON.stringify({ version: 1, dataDir: 7, instances: [] }));
    const res = await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', archiveDir]);
    expect(res.stderr).toMatch(/bri-archive-dir\.json in .* is damaged: bad fields/);
    expect(res.stderr).toMatch(/hint: It names the data directory whose archives these are: remove it/);
  });
});
