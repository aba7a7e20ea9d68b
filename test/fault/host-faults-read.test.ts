/**
 * An archive file the host keeps from being read is not a damaged archive. A file of mode 000 read by another
 * user (EACCES), and a process out of file handles (EMFILE: the reader's open, the decoder thread's start)
 * were said "damaged beyond repair" (ARCHIVE_CORRUPTED, exit 21; verify: dataIntact false, restorable false).
 * They are now IO_ERROR naming the errno and the file, with what to do (its mode; `ulimit -n`). And a restore
 * whose cleanup hit the same EMFILE answered the cleanup's error instead of its own.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-host-read-');
const NOBODY = 65534;
const asRoot = process.platform === 'linux' && process.getuid?.() === 0;
if (!asRoot) console.warn('host-faults-read: the EACCES case is skipped: it needs root (to run the CLI as another user)');

/** Runs `cmd` through sh (for `ulimit`), as `uid` when given; its exit code and output. */
function run(cmd: string, opts: { uid?: number; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, BRI_ENCRYPTION_KEY: '', BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const CLI = `${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts`;

describe.skipIf(!asRoot)('an archive file another user cannot read (EACCES)', () => {
  let dataDir: string;
  let file: string;
  let id: string;
  beforeAll(async () => {
    const root = await tmp();
    fs.chmodSync(root, 0o755);
    dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 50; i++) await db.set(`K${i}`, { i });
    id = (await db.archive.create()).archiveId;
    await db.close();
    // The data directory is the other user's; its archive has a mode the app's umask (or a copy) gave it.
    for (const p of [dataDir, ...fs.readdirSync(dataDir, { recursive: true }).map((n) => path.join(dataDir, String(n)))]) fs.chownSync(p, NOBODY, NOBODY);
    file = path.join(dataDir, 'archives', `${id}.bri`);
    fs.chmodSync(file, 0o000);
  }, 60_000);

  it.each([
    ['restore latest', () => `restore latest -d ${dataDir} --target ${path.join(path.dirname(dataDir), 'r')}`],
    ['archive history', () => `archive history K1 -d ${dataDir}`],
    ['archive verify', () => `archive verify ${id} -d ${dataDir}`],
    ['archive repair', () => `archive repair ${id} -d ${dataDir} --in-place`],
  ])('%s: IO_ERROR EACCES naming the file with a permissions hint, never "damaged"', async (_name, args) => {
    const res = await run(`${CLI} ${args()}`, { uid: NOBODY });
    const said = `exit ${res.code}\n${res.stdout}\n${res.stderr}`;
    expect(res.code, said).not.toBe(0);
    expect(res.code, said).not.toBe(21);
    expect(res.stderr, said).toMatch(/IO_ERROR/);
    expect(res.stderr, said).toMatch(/EACCES/);
    expect(res.stderr, said).toContain(file);
    expect(res.stderr, said).toMatch(/No permission for .*check its owner and mode/);
    expect(res.stderr + res.stdout, said).not.toMatch(/damaged|beyond repair/);
  }, 60_000);

  it('archive verify --json: the IO_ERROR, not a report of damage (dataIntact false, restorable false)', async () => {
    const res = await run(`${CLI} archive verify ${id} -d ${dataDir} --json`, { uid: NOBODY });
    const out = JSON.parse(res.stdout || res.stderr) as { error?: { code: string; details: { errno?: string; path?: string } }; dataIntact?: boolean };
    expect(out.dataIntact, res.stdout).toBeUndefined();
    expect(out.error).toMatchObject({ code: 'IO_ERROR', details: { errno: 'EACCES', path: file } });
  }, 60_000);
});

type CallLine = { call: string; spare: number; ok: boolean; report?: { ok: boolean }; error?: { code: string; message: string; hint?: string; details?: Record<string, unknown> } };

describe('a process out of file handles (EMFILE)', () => {
  let calls: CallLine[];
  let left: string[];
  let out: string;
  beforeAll(async () => {
    const work = await tmp();
    const res = await run(`ulimit -n 256 && exec ${CLI.replace('src/cli/main.ts', 'test/fault/children/few-file-handles.ts')} ${work} 8`);
    expect(res.code, res.stderr).toBe(0);
    out = res.stdout;
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as CallLine & { left?: string[] });
    calls = lines.filter((l) => l.call !== undefined);
    left = lines.find((l) => l.left !== undefined)!.left!;
    // Some calls must have been short of handles, or this tests nothing.
    expect(calls.filter((l) => !l.ok).length, out).toBeGreaterThan(0);
  }, 180_000);

  it('verify, a time-travel read and a clone answer IO_ERROR with the `ulimit -n` hint, never damage (nor a decoder thread "stopped")', () => {
    for (const l of calls) {
      const said = JSON.stringify(l);
      if (l.ok) {
        if (l.call === 'verify') expect(l.report!.ok, said).toBe(true);
        continue;
      }
      expect(l.error!.code, said).toBe('IO_ERROR');
      expect(l.error!.message, said).not.toMatch(/damaged|beyond repair|thread stopped/);
      if (l.call !== 'read') expect(l.error!.hint, said).toMatch(/ulimit -n/);
    }
  });

  it('a clone whose cleanup fails too (the scandir of its half-built directory) answers its own error, and names what it left for the next run', () => {
    const clones = calls.filter((l) => l.call === 'clone' && !l.ok);
    for (const l of clones) expect(l.error!.message, JSON.stringify(l)).not.toMatch(/scandir '[^']*\.restore-/);
    for (const dir of left) expect(clones.some((l) => l.error!.hint?.includes(dir) && /next restore/.test(l.error!.hint)), `${dir} left unsaid\n${out}`).toBe(true);
  });
});
