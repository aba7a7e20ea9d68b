/**
 * Disaster recovery of an age-encrypted, shipping database: the machine is lost after an archive (line 20)
 * and 10 lines shipped only; `restore latest -i KEY` brings both back. The restored app holds public keys
 * only (as it should), so its next archive, which starts at line 20, could not be made: the state there is
 * in that archive alone, and the restore kept no seed of it (ENCRYPTION_KEY_MISSING on every run).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { ageKeyFile, NO_AGE_ENV } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-dr-seed-');

async function write(dataDir: string, archive: object, tag: string, n: number, then?: 'archive', encryptionKey?: string): Promise<string | undefined> {
  const db = await createDB({ storeConfig: { dataDir, archive, ...(encryptionKey ? { encryptionKey } : {}) } });
  try {
    for (let i = 0; i < n; i++) await db.set(`K_${i % 10}`, { tag, i });
    if ((archive as { continuous?: unknown }).continuous) await db.archive.flushShipping();
    return then === 'archive' ? (await db.archive.create()).manifest.archiveId : undefined;
  } finally {
    await db.close();
  }
}

async function contents(dataDir: string, encryptionKey?: string): Promise<unknown[]> {
  const db = await createDB({ storeConfig: { dataDir, ...(encryptionKey ? { encryptionKey } : {}) } });
  try {
    const out: unknown[] = [];
    for (let i = 0; i < 10; i++) out.push(await db.get(`K_${i}`));
    return out;
  } finally {
    await db.close();
  }
}

describe('restore latest of a lost age-encrypted, shipping database', () => {
  it('leaves the state at the archive end sealed: the restored app archives with public keys only, and that archive restores to its data', async () => {
    const r = await tmp();
    const k1 = await ageKeyFile(r, 'k1');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const dataDir = path.join(r, 'prod');
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));

    await write(dataDir, archive, 'p1', 20, 'archive');
    await write(dataDir, archive, 'p2', 10);
    await fsp.rm(dataDir, { recursive: true, force: true }); // the machine is lost, its archive directory with it

    const res = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '-i', k1.file], NO_AGE_ENV);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/through line 30/);
    expect(res.stdout + res.stderr).not.toMatch(/WARNING/);
    expect(await fsp.readdir(dataDir)).not.toContain('.restore-end-state');

    // The app has the recipients only: its archive starts at line 20 and holds lines 21..35.
    const second = await write(dataDir, archive, 'p3', 5, 'archive');
    expect(second).toBeDefined();
    const expected = await contents(dataDir);

    const again = path.join(r, 'again');
    const back = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '-i', k1.file, '--target', again], NO_AGE_ENV);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain(second!);
    expect(await contents(again)).toEqual(expected);
    expect(expected[4]).toEqual({ tag: 'p3', i: 4 });
  }, 120_000);
  it('without shipped lines after the archive (the seed is the state the restore built): the app writes, closes, and archives with public keys only', async () => {
    const r = await tmp();
    const k1 = await ageKeyFile(r, 'k1');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const dataDir = path.join(r, 'prod');
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));

    await write(dataDir, archive, 'p1', 20, 'archive');
    await fsp.rm(dataDir, { recursive: true, force: true });

    const res = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '-i', k1.file], NO_AGE_ENV);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/through (absolute )?line 20\b/);
    expect(res.stdout + res.stderr).not.toMatch(/WARNING/);

    // Written and closed first: the directory's snapshot moves past line 20, where the next archive starts.
    await write(dataDir, archive, 'p2', 7);
    const second = await write(dataDir, archive, 'p3', 5, 'archive');
    expect(second).toBeDefined();
    const expected = await contents(dataDir);

    const again = path.join(r, 'again');
    const back = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '-i', k1.file, '--target', again], NO_AGE_ENV);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain(second!);
    expect(await contents(again)).toEqual(expected);
    expect(expected[6]).toEqual({ tag: 'p2', i: 6 });
    expect(expected[4]).toEqual({ tag: 'p3', i: 4 });
  }, 120_000);
  it('the same for a directory also encrypted at rest (BRI\'s key): the seed is the built state under that key', async () => {
    const r = await tmp();
    const k1 = await ageKeyFile(r, 'k1');
    const dataDir = path.join(r, 'prod');
    const key = 'b'.repeat(64);
    const archive = { localDir: path.join(r, 'nas'), compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));
    const env = { ...NO_AGE_ENV, BRI_ENCRYPTION_KEY: key };

    await write(dataDir, archive, 'p1', 20, 'archive', key);
    await fsp.rm(dataDir, { recursive: true, force: true });
    const res = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '-i', k1.file], env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toMatch(/WARNING/);

    await write(dataDir, archive, 'p2', 7, undefined, key);
    const second = await write(dataDir, archive, 'p3', 5, 'archive', key);
    const expected = await contents(dataDir, key);
    const again = path.join(r, 'again');
    const back = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '-i', k1.file, '--target', again], env);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain(second!);
    expect(await contents(again, key)).toEqual(expected);
    expect(expected[6]).toEqual({ tag: 'p2', i: 6 });
  }, 120_000);
});
