/**
 * A local remote on a NAS that is not mounted is its mount point: an empty directory on this machine's disk.
 * Copies put there are hidden once the NAS is back, so none may count: the remote is REMOTE_NOT_FOUND (its
 * copies confirmed before are not there), keepLocal keeps the local copies it would have pruned, and once
 * the NAS is mounted again every archive is still somewhere.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-unmounted-nas-');

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

const bris = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort() : []);

describe('a local remote whose disk is not mounted', () => {
  it('is REMOTE_NOT_FOUND (not mounted?) to the listing, keepLocal prunes no local copy on its word, and every archive is still somewhere once it is mounted', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const archiveDir = path.join(r, 'arch');
    const nas = path.join(r, 'nas');
    const nasDisk = path.join(r, 'nas-disk');
    await fsp.mkdir(nas);
    const config = path.join(r, 'c.json');
    await fsp.writeFile(config, JSON.stringify({ archive: { localDir: archiveDir, keepLocal: 1, remotes: [{ provider: 'local', name: 'nas', path: nas }] } }));
    const C = ['-d', dataDir, '-c', config];
    await writeKeys(dataDir, 'A', 3);
    const first = await runCli(['archive', 'create', '-q', ...C]);
    expect(first.code, first.stderr).toBe(0);
    expect(fs.existsSync(path.join(nas, '.bri-remote.json'))).toBe(true);
    // The NAS goes away: its mount point is left, an empty directory.
    await fsp.rename(nas, nasDisk);
    await fsp.mkdir(nas);

    const list = await runCli(['archive', 'list', ...C]);
    expect(list.stderr).toMatch(/unreachable: nas: \[REMOTE_NOT_FOUND\].*not mounted/);
    for (const round of ['B', 'C']) {
      await writeKeys(dataDir, round, 3);
      const made = await runCli(['archive', 'create', ...C]);
      expect(made.stdout, made.stderr).toMatch(/pruned\s+nothing \(not listed, not pruned: nas\)/);
      // Nothing is written to the mount point (this machine's disk), where the copy would be hidden once the NAS is back.
      expect(made.stderr).toMatch(/nas.*REMOTE_NOT_FOUND.*not mounted/);
      expect(bris(path.join(nas, 'archives'))).toEqual([]);
    }
    expect(bris(archiveDir)).toHaveLength(3);

    // The NAS is back (what was written under its mount point is hidden again).
    await fsp.rm(nas, { recursive: true });
    await fsp.rename(nasDisk, nas);
    const back = await runCli(['archive', 'list', '--json', ...C]);
    expect(back.code, back.stderr).toBe(0);
    expect((JSON.parse(back.stdout) as { archives: unknown[] }).archives).toHaveLength(3);
  }, 150_000);
});
