/**
 * An in-place restore keeps where the directory's archives are: the restored bri-archive.json used to
 * drop archiveDir/archivedFrom (commands not told -a then found "no archives" and create began a new
 * chain in <data>/archives), and <data>/archives as a link to another disk was left with the old
 * directory (deleted with --clean-existing), so that listings found no archives either.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { makeTempDir } from '../../support/fixtures.js';
import { runCli } from '../../support/cli.js';

async function twoArchives(dataDir: string, localDir?: string): Promise<void> {
  for (const p of ['A', 'B']) {
    const db = await createDB({ storeConfig: { dataDir, ...(localDir ? { archive: { localDir } } : {}) } });
    for (let i = 0; i < 3; i++) await db.set(`${p}${i}`, { i });
    await db.archive.create();
    await db.close();
  }
}

const listed = async (dataDir: string) => {
  const r = await runCli(['restore', 'list', '-d', dataDir, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { archives: unknown[] }).archives.length;
};

describe('an in-place restore keeps where the archives are', () => {
  it('archives made outside the data directory: the restored directory still records that archive directory', async () => {
    const root = await makeTempDir();
    const dir = path.join(root, 'd');
    const backup = path.join(root, 'backup');
    await twoArchives(dir, backup);
    const r = await runCli(['restore', 'latest', '-d', dir, '--force']);
    expect(r.code, r.stderr).toBe(0);
    const state = await readArchiveState(dir);
    expect(state?.archiveDir).toBe(fs.realpathSync(backup));
    expect(state?.archivedFrom).toBe(fs.realpathSync(dir));
    expect(await listed(dir)).toBe(2);
  });

  it('<data>/archives a link to another directory: the link is carried into the restored directory, also with --clean-existing', async () => {
    const root = await makeTempDir();
    const dir = path.join(root, 'd');
    const disk = path.join(root, 'other-disk', 'arch');
    await twoArchives(dir);
    // The archive directory moved to another disk, linked from where it was.
    fs.mkdirSync(path.dirname(disk), { recursive: true });
    fs.cpSync(path.join(dir, 'archives'), disk, { recursive: true });
    fs.rmSync(path.join(dir, 'archives'), { recursive: true });
    fs.symlinkSync(disk, path.join(dir, 'archives'));
    expect(fs.readdirSync(disk).filter((f) => f.endsWith('.bri'))).toHaveLength(2);
    const r = await runCli(['restore', 'latest', '-d', dir, '--force', '--clean-existing']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.lstatSync(path.join(dir, 'archives')).isSymbolicLink()).toBe(true);
    expect(await listed(dir)).toBe(2);
  });
});
