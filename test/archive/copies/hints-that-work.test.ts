/**
 * The hints of a refused delete, a failed download and a repair of an intact archive lead somewhere: the
 * command a hint names works on the archive as it is (no "repair --in-place" of a local file that is not
 * there), "every copy failed" is not said when one source was asked, and a repair that writes nothing
 * leaves nothing behind.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-hints-work-');

/** Two archives on local + nas + nas2. */
async function threeSources(): Promise<{ args: string[]; archiveDir: string; id: string; copy: (s: 'local' | 'nas' | 'nas2') => string }> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const remotes = (['nas', 'nas2'] as const).map((name) => ({ provider: 'local' as const, name, path: path.join(root, name) }));
  for (const r of remotes) await fsp.mkdir(r.path);
  const config = path.join(root, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ remotes }));
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { compression: { level: 1 }, remotes } } });
  const ids: string[] = [];
  try {
    for (let a = 0; a < 2; a++) {
      for (let i = 0; i < 40; i++) await db.set(`K${a}_${i}`, { a, i, pad: 'x'.repeat(200 + i) });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  const id = ids[0]!;
  const archiveDir = path.join(dataDir, 'archives');
  const copy = (s: 'local' | 'nas' | 'nas2') => (s === 'local' ? path.join(archiveDir, `${id}.bri`) : path.join(root, s, 'archives', `${id}.bri`));
  return { args: ['-d', dataDir, '-c', config], archiveDir, id, copy };
}

async function flip(file: string, from: number, to?: number): Promise<void> {
  const bytes = await fsp.readFile(file);
  for (let i = from; i < (to ?? bytes.length); i++) bytes[i]! ^= 0xff;
  await fsp.writeFile(file, bytes);
}

describe('hints that work', () => {
  it("a delete refused because the other copy (a remote's, no local file) is damaged names a download into the archive directory, which works", async () => {
    const s = await threeSources();
    expect((await runCli(['archive', 'cleanup-wal', ...s.args])).code).toBe(0);
    await fsp.rm(s.copy('local'));
    await flip(s.copy('nas'), 4200, 4201); // repairable
    const refused = await runCli(['archive', 'delete', s.id, '-s', 'nas2', ...s.args]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).not.toMatch(/--in-place/);
    const download = `bri archive download ${s.id} ${s.copy('local')} --source nas`;
    expect(refused.stderr).toContain(download);
    const fetched = await runCli([...download.split(' ').slice(1), ...s.args]);
    expect(fetched.code, fetched.stderr).toBe(0);
    const again = await runCli(['archive', 'delete', s.id, '-s', 'nas2', ...s.args]);
    expect(again.code, again.stderr).toBe(0);
  }, 60_000);

  it('a download from one source asked (-s nas), damaged beyond repair, does not say every copy failed', async () => {
    const s = await threeSources();
    await flip(s.copy('nas'), 3000);
    const r = await runCli(['archive', 'download', s.id, path.join(s.archiveDir, '..', '..', 'out.bri'), '-s', 'nas', ...s.args]);
    expect(r.code, r.stderr).toBe(21);
    expect(r.stderr).not.toMatch(/Every copy failed/);
    expect(r.stderr).toMatch(/Only nas was tried: local, nas2 may hold a whole copy/);
  }, 60_000);

  it('a repair of an intact archive leaves no empty repaired/ folder', async () => {
    const s = await threeSources();
    const r = await runCli(['archive', 'repair', s.id, ...s.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/intact/);
    expect(fs.existsSync(path.join(s.archiveDir, 'repaired'))).toBe(false);
  }, 60_000);
});
