/**
 * Targets a restore cannot replace are refused before anything is built, by the dry run as by the real run:
 * an empty mount point, a read-only file system, a symbolic link to nothing, a parent directory the user
 * cannot write to. Each used to pass the dry run and fail the real run late (EBUSY at the swap, ENOTDIR
 * after the build, IO_ERROR at the lock).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { REPO_ROOT, tsNodeArgs } from '../../support/child.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { mountTmpfs, umount } from '../../support/tmpfs.js';

const tmp = useTempDirs('bri-target-checks-');

async function makeData(dataDir: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`K${i}`, { i });
  await db.archive.create();
  await db.close();
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

describe('a target the restore cannot build beside', () => {
  it('on a read-only file system: the dry run refuses it IO_ERROR, as the real run does', async (ctx) => {
    const root = await tmp();
    const dataDir = path.join(root, 'd');
    await makeData(dataDir);
    const ro = path.join(root, 'ro');
    await fsp.mkdir(ro);
    const cannot = mountTmpfs(ro, 'size=4m,ro');
    if (cannot !== null) return ctx.skip(cannot);
    try {
      const api = openRestore({ dataDir });
      const target = path.join(ro, 'new');
      await expect(api.fromLatest({ targetDir: target, dryRun: true })).rejects.toMatchObject({ code: 'IO_ERROR', details: { errno: 'EROFS', path: ro }, hint: expect.stringContaining(ro) });
      await expect(api.fromLatest({ targetDir: target })).rejects.toMatchObject({ code: 'IO_ERROR' });
    } finally {
      umount(ro);
    }
  });

  it('a symbolic link to nothing: refused RESTORE_ERROR by the dry run and by the real run before the build', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'd');
    await makeData(dataDir);
    const link = path.join(root, 'link');
    await fsp.symlink(path.join(root, 'not-mounted', 'data'), link);
    const api = openRestore({ dataDir });
    for (const dryRun of [true, false]) {
      await expect(api.fromLatest({ targetDir: link, dryRun })).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: expect.stringContaining('is a symbolic link to'), hint: expect.stringContaining('remove the link') });
    }
    expect(fs.readdirSync(root).sort()).toEqual(['d', 'link']);
  });

  it('in place under a parent directory the user cannot write to: the dry run refuses it IO_ERROR naming the parent', async () => {
    const root = await tmp();
    const parent = path.join(root, 'P');
    const dataDir = path.join(parent, 'D');
    await makeData(dataDir);
    const asRoot = process.getuid?.() === 0;
    // Root writes anywhere: the database's own user (nobody) runs the restore then, as a service would.
    if (asRoot) {
      spawnSync('chown', ['-R', 'nobody', dataDir]);
      for (const d of [root, parent]) await fsp.chmod(d, 0o755);
    } else await fsp.chmod(parent, 0o555);
    try {
      const r = await runCliAs(asRoot ? 65534 : null, ['restore', 'latest', '-d', dataDir, '--force', '--dry-run']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('IO_ERROR');
      expect(r.stderr).toContain(`in ${parent}, and cannot write there`);
      expect(r.stderr).toMatch(new RegExp(`hint: .*${parent.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(fs.readdirSync(parent)).toEqual(['D']);
    } finally {
      await fsp.chmod(parent, 0o755);
    }
  });
});

/** The CLI run as another user (uid, with the group nogroup), or as this one (null). */
function runCliAs(uid: number | null, args: string[]): Promise<CliResult> {
  if (uid === null) return runCli(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...tsNodeArgs(), ...args], {
      cwd: REPO_ROOT,
      uid,
      gid: 65534,
      env: { ...process.env, BRI_ENCRYPTION_KEY: '', HOME: '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
