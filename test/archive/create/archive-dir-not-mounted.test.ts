/**
 * An archive directory on a disk that is not mounted leaves its mount point: an empty directory. It is not
 * "no archives": bri-archive.json names the archive made there. Listing, archiving and the WAL cleanup are
 * refused there, nothing is written under the mount point, and once the disk is back the chain goes on.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-unmounted-archive-dir-');

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

const bris = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort();

describe('an archive directory whose disk is not mounted', () => {
  it('list, create and cleanup-wal are refused ARCHIVE_NOT_FOUND (not mounted?), nothing is written at the mount point, and the chain goes on once it is mounted', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const mnt = path.join(r, 'mnt');
    const disk = path.join(r, 'disk');
    await writeKeys(dataDir, 'A', 3);
    const first = await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', mnt]);
    expect(first.code, first.stderr).toBe(0);
    // The disk goes away: its mount point is left, an empty directory.
    await fsp.rename(mnt, disk);
    await fsp.mkdir(mnt);
    const segments = fs.readdirSync(path.join(dataDir, 'wal')).sort();

    const list = await runCli(['archive', 'list', '-d', dataDir]);
    expect(list.code, list.stdout + list.stderr).toBe(20);
    expect(list.stderr).toMatch(/ARCHIVE_NOT_FOUND/);
    expect(list.stderr).toMatch(/not mounted/);
    const restoreList = await runCli(['restore', 'list', '-d', dataDir]);
    expect(restoreList.code, restoreList.stdout + restoreList.stderr).toBe(20);

    await writeKeys(dataDir, 'B', 3);
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code, made.stdout + made.stderr).toBe(20);
    expect(made.stderr).toMatch(/not mounted/);
    const madeThere = await runCli(['archive', 'create', '-d', dataDir, '-a', mnt]);
    expect(madeThere.code, madeThere.stdout + madeThere.stderr).toBe(20);
    const cleanup = await runCli(['archive', 'cleanup-wal', '-d', dataDir]);
    expect(cleanup.code, cleanup.stdout + cleanup.stderr).not.toBe(0);
    expect(fs.readdirSync(path.join(dataDir, 'wal')).sort()).toEqual(expect.arrayContaining(segments));
    // Nothing but the create's empty working folder, made before the chain is looked at.
    expect(fs.readdirSync(mnt).filter((n) => n !== '.tmp')).toEqual([]);
    expect(fs.readdirSync(path.join(mnt, '.tmp'))).toEqual([]);

    // The disk is back: the next archive continues the first, with no gap.
    await fsp.rm(mnt, { recursive: true });
    await fsp.rename(disk, mnt);
    const next = await runCli(['archive', 'create', '-d', dataDir]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout + next.stderr).not.toMatch(/first of its chain|not in any archive|gap/i);
    expect(next.stdout).toMatch(/previous/);
    expect(bris(mnt)).toHaveLength(2);
  });
});
