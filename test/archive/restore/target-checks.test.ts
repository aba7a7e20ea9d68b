/**
 * Targets a restore cannot replace are refused before anything is built, by the dry run as by the real run:
 * an empty mount point, a read-only file system, a symbolic link to nothing, a parent directory the user
 * cannot write to. Each used to pass the dry run and fail the real run late (EBUSY at the swap, ENOTDIR
 * after the build, IO_ERROR at the lock).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-target-checks-');

async function makeData(dataDir: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`K${i}`, { i });
  await db.archive.create();
  await db.close();
}

/** Mounts a small tmpfs at `dir` (root on Linux only): null, or why it cannot (the test is then skipped, saying so). */
function mountTmpfs(dir: string, options = 'size=4m'): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a tmpfs';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount failed: ${r.stderr.trim()}`;
}

function umount(dir: string): void {
  spawnSync('umount', [dir]);
}

describe('an empty mount point as the target', () => {
  it('is refused by the dry run and the real run before anything is built', async (ctx) => {
    const root = await tmp();
    const dataDir = path.join(root, 'd');
    await makeData(dataDir);
    const mnt = path.join(root, 'mnt');
    await fsp.mkdir(mnt);
    const cannot = mountTmpfs(mnt);
    if (cannot !== null) return ctx.skip(cannot);
    try {
      const api = openRestore({ dataDir });
      for (const dryRun of [true, false]) {
        await expect(api.fromLatest({ targetDir: mnt, dryRun })).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: expect.stringContaining(`${mnt}: it is a mount point`), hint: expect.stringContaining(path.join(mnt, 'data')) });
      }
      expect(fs.readdirSync(root).sort()).toEqual(['d', 'mnt']);
      expect(fs.readdirSync(mnt)).toEqual([]);
    } finally {
      umount(mnt);
    }
  });
});
