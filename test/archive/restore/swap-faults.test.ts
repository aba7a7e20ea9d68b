/**
 * A restore in place whose swap fails part way (DESIGN.md: "Restore is atomic"): the second rename
 * failing puts the old directory back; a failure that leaves the swap half-done keeps its journal
 * (the next open finishes it) and says where each directory is; an archive directory mounted at
 * <dataDir>/archives (which no rename can move) is refused before anything is touched.
 * Faults are injected into the `bri` child process: test/support/nth-call-fault.ts (one call) and
 * test/support/io-faults.ts (every call from one on).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { REPO_ROOT } from '../../support/child.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-swap-');
const NTH = path.join(REPO_ROOT, 'test/support/nth-call-fault.ts');
const STAYS = path.join(REPO_ROOT, 'test/support/io-faults.ts');
const ARCHIVED = 120;
const NEWER = 15;

let template: string;

/** A data directory with its archives inside: one archive of ARCHIVED lines, then NEWER lines in no archive. */
async function makeData(dataDir: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  for (let i = 0; i < ARCHIVED; i++) await db.set(`D_${i}`, { i });
  await db.archive.create();
  for (let i = ARCHIVED; i < ARCHIVED + NEWER; i++) await db.set(`D_${i}`, { i });
  await db.close();
}

beforeAll(async () => {
  template = path.join(await tmp(), 'data');
  await makeData(template);
}, 60_000);

async function fresh(): Promise<{ parent: string; dataDir: string }> {
  const parent = await tmp();
  const dataDir = path.join(parent, 'data');
  await fsp.cp(template, dataDir, { recursive: true });
  return { parent, dataDir };
}

/** Which of the archived and the newer keys the database at `dataDir` holds, and its archives. */
async function contents(dataDir: string): Promise<{ archived: boolean; newer: boolean; archives: string[] }> {
  const db = await createDB({ storeConfig: { dataDir } });
  try {
    return { archived: db.get(`D_${ARCHIVED - 1}`) != null, newer: db.get(`D_${ARCHIVED}`) != null, archives: fs.readdirSync(path.join(dataDir, 'archives')).filter((n) => n.endsWith('.bri')) };
  } finally {
    await db.close();
  }
}

const restoreLatest = (dataDir: string, env: NodeJS.ProcessEnv, preload: string) => runCli(['restore', 'latest', '-d', dataDir, '--force'], env, { preload });

describe('restore in place, when its swap fails', () => {
  it('puts the old directory back when the restored one cannot be renamed in, and says nothing was swapped in', async () => {
    const { parent, dataDir } = await fresh();
    // The 1st rename naming the target moves it aside; the 2nd brings the restored one in: that one fails.
    const r = await restoreLatest(dataDir, { BRI_NTH_FAULT: JSON.stringify({ fn: 'rename', arg: dataDir, code: 'EIO', nth: 2 }) }, NTH);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('nothing was swapped in');
    expect(fs.readdirSync(parent).sort()).toEqual(['data']);
    expect(await contents(dataDir)).toMatchObject({ archived: true, newer: true });
    expect((await contents(dataDir)).archives).toHaveLength(1);
  });

  it('stopped between its renames (the old directory cannot be put back either): says where the old data is, keeps the journal, and the next open finishes the restore', async () => {
    const { parent, dataDir } = await fresh();
    const r = await restoreLatest(dataDir, { BRI_IO_FAULT: JSON.stringify({ code: 'EIO', op: 'rename', under: dataDir, after: 0 }) }, STAYS);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toContain('nothing was swapped in');
    const aside = fs.readdirSync(parent).find((n) => n.startsWith('data.pre-restore-'))!;
    expect(r.stderr).toContain(`the old data is in ${path.join(parent, aside)}`);
    expect(r.stderr).toContain('next open of the database');
    expect(fs.existsSync(dataDir)).toBe(false);
    expect(fs.existsSync(path.join(parent, '.data.restore.json'))).toBe(true);
    // The restored directory was kept: the open finishes the swap and carries the archives over.
    expect(await contents(dataDir)).toEqual({ archived: true, newer: false, archives: expect.any(Array) });
    expect((await contents(dataDir)).archives).toHaveLength(1);
    expect(fs.existsSync(path.join(parent, '.data.restore.json'))).toBe(false);
    expect(fs.existsSync(path.join(parent, aside, 'bri.lock'))).toBe(false);
  });

  it('swapped in, then the archives cannot be carried over: says the restore is in place and where the archives still are, and the next open moves them in', async () => {
    const { parent, dataDir } = await fresh();
    // The restored directory's rename into the target succeeds; the next rename into it (archives/) fails.
    const r = await restoreLatest(dataDir, { BRI_IO_FAULT: JSON.stringify({ code: 'EIO', op: 'rename', under: dataDir, after: 1 }) }, STAYS);
    expect(r.code).not.toBe(0);
    const aside = path.join(parent, fs.readdirSync(parent).find((n) => n.startsWith('data.pre-restore-'))!);
    expect(r.stderr).toContain(`was swapped in, but finishing it failed`);
    expect(r.stderr).toContain(`the old data in ${aside} (with its archives, not moved into ${dataDir} yet)`);
    expect(fs.readdirSync(path.join(aside, 'archives')).some((n) => n.endsWith('.bri'))).toBe(true);
    expect(fs.existsSync(path.join(parent, '.data.restore.json'))).toBe(true);
    const after = await contents(dataDir);
    expect(after).toMatchObject({ archived: true, newer: false });
    expect(after.archives).toHaveLength(1);
    expect(fs.existsSync(path.join(parent, '.data.restore.json'))).toBe(false);
  });
});

/** Mounts a small tmpfs at `dir` (root on Linux only): null, or why it cannot. */
function mountTmpfs(dir: string): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a tmpfs';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount failed: ${r.stderr.trim()}`;
}

describe('restore in place with the archive directory mounted at <dataDir>/archives', () => {
  it('is refused before anything is touched, naming the mount point', async (ctx) => {
    const { parent, dataDir } = await fresh();
    const archives = path.join(dataDir, 'archives');
    const held = path.join(await tmp(), 'archives');
    await fsp.rename(archives, held);
    await fsp.mkdir(archives);
    const cannot = mountTmpfs(archives);
    if (cannot !== null) return ctx.skip(cannot);
    try {
      await fsp.cp(held, archives, { recursive: true });
      const before = fs.readdirSync(dataDir).sort();
      const r = await runCli(['restore', 'latest', '-d', dataDir, '--force']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`${archives} is a mount point`);
      expect(r.stderr).toContain('nothing was changed');
      expect(fs.readdirSync(parent).sort()).toEqual(['data']);
      expect(fs.readdirSync(dataDir).sort()).toEqual(before);
      expect(await contents(dataDir)).toMatchObject({ archived: true, newer: true });
    } finally {
      spawnSync('umount', [archives]);
    }
  });
});
