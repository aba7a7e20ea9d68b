/**
 * The hint of a full disk names the file being written, as a person needs it to know which disk: the .bri
 * writer's and the PAR2 writer's write() errors carry no path, and their hints said "the disk holding the
 * path". A file larger than `ulimit -f` (EFBIG) had no hint at all. Real tmpfs (needs root; skipped otherwise).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { runCli } from '../support/cli.js';
import { mountTmpfs, umount, fillLeaving } from '../support/tmpfs.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-disk-hints-');

/** Fills the file system under `dir`, leaving `spare` bytes free. */

async function writeDocs(dataDir: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, fsyncMode: 'batched' } });
  for (let i = 0; i < n; i++) await db.set(`K${i}`, { r: randomBytes(700).toString('base64') });
  await db.close();
}

type CliError = { code: string; message: string; hint?: string; details: { errno?: string } };
const errorOf = (stdout: string, stderr: string): CliError => (JSON.parse(stdout || stderr) as { error: CliError }).error;

describe('full-disk hints name the file', () => {
  let root: string;
  let mnt: string;
  let dataDir: string;
  let skip: string | null = null;
  beforeAll(async () => {
    root = await tmp();
    mnt = path.join(root, 'mnt');
    fs.mkdirSync(mnt);
    skip = mountTmpfs(mnt, 'size=4m');
    if (skip) console.warn(`full-disk-hints: skipped: ${skip}`);
    dataDir = path.join(root, 'data');
    await writeDocs(dataDir, 1000);
  }, 60_000);
  afterAll(() => {
    if (!skip) umount(mnt);
  });

  it('archive create and repair --out on a full disk: ENOSPC whose hint names the file written (the package, recovery.par2), never "the path"', async (ctx) => {
    if (skip) ctx.skip();
    const errors: CliError[] = [];
    // From too little room for the package to room for all but its recovery data: each writer fails in turn.
    for (const kib of [300, 900, 1500, 2100]) {
      fs.rmSync(path.join(mnt, 'arch'), { recursive: true, force: true });
      fillLeaving(mnt, kib * 1024);
      const res = await runCli(['archive', 'create', '-d', dataDir, '-a', path.join(mnt, 'arch'), '--json']);
      if (res.code !== 0) errors.push(errorOf(res.stdout, res.stderr));
    }
    // A repair into the full disk.
    fs.rmSync(path.join(mnt, 'arch'), { recursive: true, force: true });
    fs.rmSync(path.join(mnt, 'filler'), { force: true });
    const arch = path.join(root, 'arch');
    expect((await runCli(['archive', 'create', '-d', dataDir, '-a', arch])).code).toBe(0);
    const file = path.join(arch, fs.readdirSync(arch).find((n) => n.endsWith('.bri'))!);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(16, 0x58), 0, 16, 300_000);
    fs.closeSync(fd);
    fillLeaving(mnt, 200 * 1024);
    const repair = await runCli(['archive', 'repair', file, '--out', path.join(mnt, 'x.bri'), '--json']);
    expect(repair.code, repair.stdout + repair.stderr).not.toBe(0);
    errors.push(errorOf(repair.stdout, repair.stderr));
    fs.rmSync(path.join(mnt, 'filler'), { force: true });

    expect(errors.length).toBeGreaterThan(1);
    for (const e of errors) {
      const said = JSON.stringify(e);
      expect(e, said).toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
      expect(e.hint, said).not.toMatch(/the path/);
      expect(e.hint, said).toMatch(new RegExp(`holding ${mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S+ is full`));
    }
  }, 180_000);

  it('a file past `ulimit -f` (EFBIG): IO_ERROR whose hint names the file and the limit', async () => {
    const fresh = path.join(root, 'data-efbig');
    await writeDocs(fresh, 1000);
    const res = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('sh', ['-c', `ulimit -f 300 && exec ${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts archive create -d ${fresh} -a ${path.join(root, 'big')} --json`], { cwd: REPO_ROOT, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let [stdout, stderr] = ['', ''];
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(res.code, res.stdout + res.stderr).not.toBe(0);
    const e = errorOf(res.stdout, res.stderr);
    expect(e, JSON.stringify(e)).toMatchObject({ code: 'IO_ERROR', details: { errno: 'EFBIG' } });
    expect(e.hint, JSON.stringify(e)).toMatch(new RegExp(`${path.join(root, 'big').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S+ grew past .*ulimit -f`));
  }, 120_000);
});
