/**
 * A full data disk and the commands that would free space on it. `bri archive cleanup-wal` stopped at the lock
 * ("free space there and run it again", of the lock file) and, once a little space was freed, at the new
 * snapshot.jss with the same words: no way out was named, nor how much room the cleanup needs (a whole new
 * snapshot, written before any segment goes). Each now says the figures and what can go without losing data;
 * with that room the cleanup runs, and every line stays restorable. Real tmpfs (needs root; skipped otherwise).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { mountTmpfs, umount, fillLeaving } from '../support/tmpfs.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-full-data-disk-');

type CliError = { code: string; message: string; hint?: string; details: { bytesNeeded?: number } };
const errorOf = (stderr: string): CliError => (JSON.parse(stderr) as { error: CliError }).error;

describe('WAL cleanup on a full data disk', () => {
  let root: string;
  let mnt: string;
  let skip: string | null = null;
  beforeAll(async () => {
    root = await tmp();
    mnt = path.join(root, 'mnt');
    fs.mkdirSync(mnt);
    skip = mountTmpfs(mnt, 'size=4m');
    if (skip) console.warn(`full-data-disk-cleanup: skipped: ${skip}`);
  });
  afterAll(() => {
    if (!skip) umount(mnt);
  });

  it('says the room it needs and what can go, at the lock and at the snapshot; with that room it frees the archived WAL and every line restores', async (ctx) => {
    if (skip) ctx.skip();
    const dataDir = path.join(mnt, 'data');
    const nas = path.join(root, 'nas');
    fs.mkdirSync(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir, archive } });
    for (let i = 0; i < 300; i++) await db.set(`K${i}`, { v: 'x'.repeat(2000) });
    await db.archive.create();
    for (let i = 0; i < 300; i++) await db.set(`L${i}`, { v: 'y'.repeat(2000) });
    await db.archive.create();
    await db.close();
    const cfg = path.join(root, 'cfg.json');
    fs.writeFileSync(cfg, JSON.stringify({ archive }));
    const snapshotBytes = fs.statSync(path.join(dataDir, 'snapshot.jss')).size;
    const cleanup = () => runCli(['archive', 'cleanup-wal', '-d', dataDir, '-c', cfg, '--json']);

    fillLeaving(mnt, 0);
    const atLock = await cleanup();
    expect(atLock.code).not.toBe(0);
    const lockError = errorOf(atLock.stderr);
    expect(lockError.code).toBe('IO_ERROR');
    expect(lockError.message).toMatch(/lock of data directory/);
    expect(lockError.hint).toContain(`${snapshotBytes} bytes`);
    expect(lockError.hint).toMatch(/bri archive list/);
    expect(lockError.hint).toMatch(/never WAL segments/);

    fillLeaving(mnt, 64 * 1024);
    const atSnapshot = await cleanup();
    expect(atSnapshot.code).not.toBe(0);
    const snapshotError = errorOf(atSnapshot.stderr);
    expect(snapshotError.code).toBe('IO_ERROR');
    expect(snapshotError.details.bytesNeeded).toBeGreaterThan(64 * 1024);
    expect(snapshotError.hint).toContain(`free at least ${snapshotError.details.bytesNeeded} bytes`);
    const segments = () => fs.readdirSync(path.join(dataDir, 'wal')).filter((n) => n.endsWith('.wal')).length;
    const before = segments();

    fillLeaving(mnt, snapshotError.details.bytesNeeded! + 64 * 1024);
    const freed = await cleanup();
    expect(freed.code, freed.stderr).toBe(0);
    expect(segments()).toBeLessThan(before);
    fs.rmSync(path.join(mnt, 'filler'));
    const target = path.join(root, 'restored');
    const back = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '--target', target]);
    expect(back.code, back.stderr).toBe(0);
    const restored = await createDB({ storeConfig: { dataDir: target } });
    expect(await restored.get('K0')).toEqual({ v: 'x'.repeat(2000) });
    expect(await restored.get('L299')).toEqual({ v: 'y'.repeat(2000) });
    await restored.close();
  }, 120_000);
});
