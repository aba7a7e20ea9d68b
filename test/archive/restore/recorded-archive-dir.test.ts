/**
 * The archive directory bri-archive.json records (where the data directory's
 * archives are made) is kept as safe by a restore that was not told it (-a
 * left out, the remote's configuration only) as the configured one: refused
 * as a target, carried over by a restore in place.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-recorded-archive-dir-');

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

const bris = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort();

/** Two archives made into `archiveDir` with a local remote 'nas'; the first one's copy on nas deleted (the archive directory holds its only copy). */
async function twoArchives(r: string, archiveDir: string): Promise<{ dataDir: string; config: string; archives: string[] }> {
  const dataDir = path.join(r, 'data');
  const config = path.join(r, 'c.json');
  await fsp.mkdir(path.join(r, 'nas'));
  await fsp.writeFile(config, JSON.stringify({ remote: { provider: 'local', name: 'nas', path: path.join(r, 'nas') } }));
  for (const round of ['K', 'L']) {
    await writeKeys(dataDir, round, 3);
    const made = await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', archiveDir, '-c', config]);
    expect(made.code, made.stderr).toBe(0);
  }
  const archives = bris(archiveDir);
  expect(archives).toHaveLength(2);
  const deleted = await runCli(['archive', 'delete', archives[0]!.replace(/\.bri$/, ''), '-s', 'nas', '-d', dataDir, '-a', archiveDir, '-c', config, '-q']);
  expect(deleted.code, deleted.stderr).toBe(0);
  return { dataDir, config, archives };
}

describe('a restore without -a keeps the recorded archive directory', () => {
  it('refuses it as the target (USAGE, naming it); its archives stay', async () => {
    const r = await tmp();
    const arch = path.join(r, 'arch');
    const { dataDir, config, archives } = await twoArchives(r, arch);
    const res = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', arch, '--clean-existing', '--force', '-q']);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/USAGE/);
    // Not told -a, the CLI takes the recorded directory as its archive directory (the API's protection of it is in the other test's path).
    expect(res.stderr).toMatch(/archive directory (bri-archive.json records|\(archive.localDir, --archive-dir\))/);
    expect(bris(arch)).toEqual(archives);
  });

  it('carries it over in a restore in place with --clean-existing (an archive directory inside the data directory); every archive is still listed', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const bk = path.join(dataDir, 'bk');
    const { config, archives } = await twoArchives(r, bk);
    const res = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--clean-existing', '--force', '-q']);
    expect(res.code, res.stderr).toBe(0);
    expect(bris(bk)).toEqual(archives);
    const listed = await runCli(['archive', 'list', '--json', '-d', dataDir, '-a', bk, '-c', config]);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { archives: Array<{ manifest: { archiveId: string } }> }).archives.map((a) => `${a.manifest.archiveId}.bri`).sort()).toEqual(archives);
  });
});
