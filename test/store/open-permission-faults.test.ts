/**
 * A data directory the app's user cannot fully read or write (files another user's tool left, a mode 000
 * segment, a directory owned by root): createDB gave raw Node errors (EACCES, no hint, no code), while the CLI
 * said IO_ERROR for the same faults; an unreadable snapshot.jss was SNAPSHOT_CORRUPTED ("corrupted", exit 13).
 * Each is now IO_ERROR naming the errno and the path at fault (the directory, never a lock's scratch file),
 * with what to do. Run as root, the app being `nobody` (setpriv).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT, tsNodeArgs } from '../support/child.js';
import { runAsApp } from '../support/app-user.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-open-perm-');
const NOBODY = 65534;
const asRoot = process.platform === 'linux' && process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');
if (!asRoot) console.warn('open-permission-faults: skipped: it needs root and setpriv (to open as another user)');

const asApp = runAsApp;

interface Said {
  name?: string;
  code?: string;
  message?: string;
  hint?: string;
  details?: Record<string, unknown>;
  opened?: true;
}

/** The app's createDB on `dataDir` (then one write and a close), in a child as nobody: what it threw, or opened. */
async function appOpens(dataDir: string): Promise<Said> {
  const code = `const { createDB } = await import(${JSON.stringify(path.join(REPO_ROOT, 'src/db.ts'))});
try { const db = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)} } }); await db.set('X', { a: 1 }); await db.close(); console.log(JSON.stringify({ opened: true })); }
catch (e) { console.log(JSON.stringify({ name: e?.name, code: e?.code, message: e?.message, hint: e?.hint, details: e?.details })); }`;
  const res = await asApp([process.execPath, '--import', 'tsx', '--input-type=module', '-e', code]);
  return JSON.parse(res.stdout.trim().split('\n').pop() || '{}') as Said;
}

/** A data directory of the app's (nobody's), with two segments of a few lines each and a snapshot. */
async function appDataDir(): Promise<string> {
  const root = await tmp();
  fs.chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 256 } });
  for (let i = 0; i < 8; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(40) });
  await db.close();
  for (const p of [dataDir, ...fs.readdirSync(dataDir, { recursive: true }).map((n) => path.join(dataDir, String(n)))]) fs.chownSync(p, NOBODY, NOBODY);
  return dataDir;
}

function segments(dataDir: string): string[] {
  return fs.readdirSync(path.join(dataDir, 'wal')).filter((n) => n.endsWith('.wal')).sort().map((n) => path.join(dataDir, 'wal', n));
}

function expectIoError(said: Said, at: string): void {
  const shown = JSON.stringify(said);
  expect(said.name, shown).toBe('BriError');
  expect(said.code, shown).toBe('IO_ERROR');
  expect(said.details, shown).toMatchObject({ errno: 'EACCES', path: at });
  expect(said.hint, shown).toContain(`No permission for ${at}`);
  expect(shown).not.toMatch(/\.tmp\b/);
}

describe.skipIf(!asRoot)('createDB on a data directory the app cannot fully read or write', () => {
  it('an older segment of mode 000: IO_ERROR naming the segment, with the permission hint', async () => {
    const dataDir = await appDataDir();
    const older = segments(dataDir)[0]!;
    expect(segments(dataDir).length).toBeGreaterThan(1);
    fs.chmodSync(older, 0o000);
    expectIoError(await appOpens(dataDir), older);
  }, 60_000);

  it('wal/ of mode 000: IO_ERROR naming wal/', async () => {
    const dataDir = await appDataDir();
    fs.chmodSync(path.join(dataDir, 'wal'), 0o000);
    expectIoError(await appOpens(dataDir), path.join(dataDir, 'wal'));
  }, 60_000);

  it('a data directory the app cannot write: IO_ERROR naming the directory, not the lock scratch file', async () => {
    const dataDir = await appDataDir();
    fs.chownSync(dataDir, 0, 0);
    const said = await appOpens(dataDir);
    expectIoError(said, dataDir);
    expect(said.message).toContain(`cannot create bri.lock in ${dataDir}`);
  }, 60_000);

  it('a last segment owned by root (a root tool sealed it): IO_ERROR naming the segment', async () => {
    const dataDir = await appDataDir();
    const last = segments(dataDir).at(-1)!;
    fs.chownSync(last, 0, 0);
    expectIoError(await appOpens(dataDir), last);
  }, 60_000);

  it('a last segment owned by root that ends in an unfinished line (a crash): IO_ERROR saying why it must be written', async () => {
    const dataDir = await appDataDir();
    const last = segments(dataDir).at(-1)!;
    fs.appendFileSync(last, '{"torn');
    fs.chownSync(last, 0, 0);
    const said = await appOpens(dataDir);
    expectIoError(said, last);
    expect(said.message).toMatch(/unfinished .* cannot be opened for writing/);
  }, 60_000);

  it('snapshot.jss the app cannot read: IO_ERROR naming it, not SNAPSHOT_CORRUPTED; `bri data stats` is not exit 13', async () => {
    const dataDir = await appDataDir();
    const snapshot = path.join(dataDir, 'snapshot.jss');
    expect(fs.existsSync(snapshot)).toBe(true);
    fs.chownSync(snapshot, 0, 0);
    fs.chmodSync(snapshot, 0o600);
    expectIoError(await appOpens(dataDir), snapshot);
    const cli = await asApp([process.execPath, ...tsNodeArgs(), 'data', 'stats', '-d', dataDir]);
    expect(cli.code, cli.stderr).not.toBe(13);
    expect(cli.stderr).toMatch(/IO_ERROR/);
    expect(cli.stderr).not.toMatch(/SNAPSHOT_CORRUPTED|corrupted/);
  }, 60_000);

  it("a restore's lock beside a target in a directory the app cannot write: IO_ERROR naming that directory, not the lock's scratch file", async () => {
    const place = await tmp();
    fs.chmodSync(place, 0o755);
    const dataDir = path.join(place, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('K', { a: 1 });
    await db.archive.create();
    await db.close();
    fs.chmodSync(dataDir, 0o755);
    const cli = await asApp([process.execPath, ...tsNodeArgs(), 'restore', 'latest', '-d', dataDir, '--target', path.join(place, 'r1'), '--json']);
    const said = (JSON.parse(cli.stdout || cli.stderr) as { error: Said }).error;
    expect(said.code, cli.stderr).toBe('IO_ERROR');
    expect(said.details).toMatchObject({ errno: 'EACCES', path: place });
    expect(said.message).toContain(`cannot create .r1.restore.lock in ${place}`);
    expect(said.hint).toContain(`No permission for ${place}:`);
    expect(JSON.stringify(said)).not.toMatch(/\.tmp\b/);
  }, 60_000);

  it('a whole data directory of the app opens, writes and closes as the app (the cases above are the faults only)', async () => {
    const dataDir = await appDataDir();
    expect(await appOpens(dataDir)).toEqual({ opened: true });
  }, 60_000);
});
