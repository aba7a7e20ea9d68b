/**
 * A really full disk (a 2 MiB tmpfs, filled), not an injected one: the compression runs on a worker
 * thread, whose errors cross a thread boundary. Whatever fails first (the thread's write or the
 * main thread's), the caller, the CLI and the archive's 'failed' listeners get a typed IO_ERROR
 * naming ENOSPC, nothing half-written stays, and the run after space is freed succeeds. A read-only
 * archive directory is EROFS with its hint (Node's recursive mkdir says ENOENT there).
 * Needs root and a mountable tmpfs (CI runs as root); skipped with the reason otherwise.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { asBriError, type BriError, ErrorCodes, isBriError } from '../../src/errors.js';
import { createLocalRemote } from '../../src/remote/local.js';
import { writeFileDurable } from '../../src/store/durable-fs.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-full-');
const CRASH = /internal error|Unhandled|triggerUncaughtException|\n\s+at [^\n]+:\d+:\d+/;

/** Mounts a tmpfs of `size` at a new directory: its path, or why it cannot. */
function mountTmpfs(size: string): { dir: string } | { reason: string } {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { reason: 'needs root on Linux to mount a tmpfs' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bri-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { reason: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}` };
  }
  return { dir };
}

const mounted = mountTmpfs('2m');
const small = 'dir' in mounted ? mounted.dir : null;
if (small === null) console.warn(`full-disk-tmpfs: skipped: ${(mounted as { reason: string }).reason}`);

/** Fills the file system under `dir` to the last byte. */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

async function writeDocs(dataDir: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`USER_${i}`, { i, text: `${i * 7919}-${'x'.repeat(40)}-${i % 13}` });
  await db.close();
}

describe.skipIf(small === null)('a full disk under the archive directory (real tmpfs)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = path.join(await tmp(), 'data');
    await writeDocs(dataDir, 400);
  });

  it('bri archive create: IO_ERROR naming ENOSPC with a hint, no stack trace, nothing left; the run after space is freed succeeds', async () => {
    const archiveDir = path.join(small!, 'cli');
    fs.mkdirSync(archiveDir);
    const filler = fill(small!);
    try {
      for (const json of [false, true]) {
        const res = await runCli(['archive', 'create', '-d', dataDir, '-a', archiveDir, ...(json ? ['--json'] : [])]);
        const ctx = `exit ${res.code}\n${res.stdout}\n${res.stderr}`;
        expect(res.code, ctx).not.toBe(0);
        expect(res.stderr, ctx).not.toMatch(CRASH);
        if (json) expect(JSON.parse(res.stdout || res.stderr).error).toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
        else {
          expect(res.stderr, ctx).toMatch(/^error \[IO_ERROR\]: .*ENOSPC/m);
          expect(res.stderr, ctx).toMatch(/^hint: .*full/m);
        }
        expect(fs.readdirSync(archiveDir).filter((f) => f.endsWith('.bri'))).toEqual([]);
      }
    } finally {
      fs.rmSync(filler);
    }
    const again = await runCli(['archive', 'create', '-d', dataDir, '-a', archiveDir, '-q']);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readdirSync(archiveDir).filter((f) => f.endsWith('.bri'))).toHaveLength(1);
  }, 60_000);

  it('db.archive.create() in a running application: the caller and the "failed" listeners get one typed IO_ERROR; it writes on, and archives once space is freed', async () => {
    const appDir = path.join(await tmp(), 'app');
    await writeDocs(appDir, 400);
    const archiveDir = path.join(small!, 'app');
    const db = await createDB({ storeConfig: { dataDir: appDir, archive: { localDir: archiveDir } } });
    const events: unknown[] = [];
    db.archive.on('failed', (e: { error: unknown }) => events.push(e.error));
    fs.mkdirSync(archiveDir, { recursive: true });
    const filler = fill(small!);
    let caught: unknown;
    try {
      await db.archive.create();
    } catch (err) {
      caught = err;
    } finally {
      fs.rmSync(filler);
    }
    expect(isBriError(caught, ErrorCodes.IO_ERROR), String(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/ENOSPC/);
    expect(events).toHaveLength(1);
    expect(isBriError(events[0], ErrorCodes.IO_ERROR), String(events[0])).toBe(true);
    await db.set('AFTER', { ok: true });
    const made = await db.archive.create();
    expect(made.manifest.timeRange.walLines.end).toBe(401);
    await db.close();
  }, 60_000);

  it('a durable file write (a snapshot, a state file) and a local remote\'s put on a full disk name the file in the error and its hint (write() errors carry no path)', async () => {
    const dir = path.join(small!, 'named');
    fs.mkdirSync(path.join(dir, 'remote'), { recursive: true });
    const source = path.join(await tmp(), 'object.bin');
    fs.writeFileSync(source, Buffer.alloc(64 * 1024, 7));
    const filler = fill(small!);
    try {
      const target = path.join(dir, 'snapshot.jss');
      const written = await writeFileDurable(target, 'x'.repeat(64 * 1024)).then(() => null, (err: unknown) => err);
      expect((written as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(asBriError(written, 'snapshot write').hint).toContain(target);
      expect(fs.readdirSync(dir)).toEqual(['remote']);

      const remote = createLocalRemote({ path: path.join(dir, 'remote') });
      const sha256 = createHash('sha256').update(fs.readFileSync(source)).digest('hex');
      const put = await remote.put('archives/a.bri', { path: source }, { size: 64 * 1024, sha256 }).then(() => null, (err: unknown) => err);
      expect(isBriError(put, ErrorCodes.REMOTE_ERROR), String(put)).toBe(true);
      expect((put as BriError).hint).toContain(path.join(dir, 'remote', 'archives', 'a.bri'));
    } finally {
      fs.rmSync(filler);
    }
  }, 30_000);
});

/** A tmpfs holding an empty `arch/`, remounted read-only: its path, or null (skipped, the reason said). */
function readOnlyTmpfs(): string | null {
  const m = mountTmpfs('1m');
  if (!('dir' in m)) return null;
  fs.mkdirSync(path.join(m.dir, 'arch'));
  if (spawnSync('mount', ['-o', 'remount,ro', m.dir]).status === 0) return m.dir;
  console.warn('full-disk-tmpfs: the read-only case is skipped: mount -o remount,ro failed');
  spawnSync('umount', [m.dir]);
  fs.rmSync(m.dir, { recursive: true, force: true });
  return null;
}
const roDir = small === null ? null : readOnlyTmpfs();

// Unmounted whatever ran (a test filter skips the describes, and their hooks with them).
afterAll(() => {
  for (const d of [small, roDir]) {
    if (d === null) continue;
    spawnSync('umount', [d]);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

describe.skipIf(roDir === null)('a read-only archive directory (real tmpfs)', () => {

  it('bri archive create: IO_ERROR naming EROFS with the read-only hint (Node says ENOENT for a directory it cannot make), not "does not exist"', async () => {
    const dataDir = path.join(await tmp(), 'data');
    await writeDocs(dataDir, 20);
    const res = await runCli(['archive', 'create', '-d', dataDir, '-a', path.join(roDir!, 'arch')]);
    expect(res.code, res.stderr).not.toBe(0);
    expect(res.stderr).not.toMatch(CRASH);
    expect(res.stderr).toMatch(/^error \[IO_ERROR\]: .*EROFS/m);
    expect(res.stderr).toMatch(/^hint: .*read-only/m);
  }, 30_000);
});
