/**
 * A clone archives to its origin's remote with its own archive directory. `bri archive rekey` run for the clone
 * rewrapped the ORIGIN's archives and shipments on the shared remote for the clone's new key (the origin, still
 * configured for k1, lost them), and left the clone's own seed (the state its first archive starts from, sealed for
 * k1 by the restore) as it was: its create kept failing ENCRYPTION_KEY_MISSING after the rekey its hint asked for.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { ageKeyFile, NO_AGE_ENV } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-rekey-clone-');

async function write(dataDir: string, archive: object, tag: string, n: number, then?: 'archive'): Promise<string | undefined> {
  const db = await createDB({ storeConfig: { dataDir, archive } });
  try {
    for (let i = 0; i < n; i++) await db.set(`K_${i % 10}`, { tag, i });
    if ((archive as { continuous?: unknown }).continuous) await db.archive.flushShipping();
    return then === 'archive' ? (await db.archive.create()).manifest.archiveId : undefined;
  } finally {
    await db.close();
  }
}

async function contents(dataDir: string): Promise<unknown[]> {
  const db = await createDB({ storeConfig: { dataDir } });
  try {
    const out: unknown[] = [];
    for (let i = 0; i < 10; i++) out.push(await db.get(`K_${i}`));
    return out;
  } finally {
    await db.close();
  }
}

interface RekeyJson {
  archives: Array<{ archiveId: string }>;
  shipments: number;
  seeds: number;
  leftAlone: { instances: string[]; archives: string[]; shipments: number };
  failures: unknown[];
}

describe('archive rekey of a clone that shares its origin\'s remote', () => {
  it('rekeys the clone\'s own seed and leaves the origin\'s archives and shipments for k1; the clone then archives and restores with k2', async () => {
    const r = await tmp();
    const [k1, k2] = [await ageKeyFile(r, 'k1'), await ageKeyFile(r, 'k2')];
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
    const origin = { remotes, continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const clone = { remotes, compression: { level: 1 }, encryption: { recipients: [k2.recipient] } };
    const [cfg1, cfg2] = [path.join(r, 'cfg1.json'), path.join(r, 'cfg2.json')];
    await fsp.writeFile(cfg1, JSON.stringify({ archive: origin }));
    await fsp.writeFile(cfg2, JSON.stringify({ archive: clone }));
    const prod = path.join(r, 'prod');
    const audit = path.join(r, 'audit');

    const first = await write(prod, origin, 'p1', 20, 'archive');
    const second = await write(prod, origin, 'p1b', 20, 'archive');
    const made = await runCli(['restore', 'clone', '--target', audit, '-d', prod, '-c', cfg1, '-i', k1.file], NO_AGE_ENV);
    expect(made.code, made.stdout + made.stderr).toBe(0);
    await write(prod, origin, 'p2', 5); // the origin goes on: shipped only

    const refused = await runCli(['archive', 'create', '-d', audit, '-c', cfg2], NO_AGE_ENV);
    expect(refused.code, refused.stdout + refused.stderr).toBe(12);
    expect(refused.stderr).toMatch(/bri archive rekey/);

    const rekey = await runCli(['archive', 'rekey', '-d', audit, '-c', cfg2, '--recipient', k2.recipient, '-i', k1.file, '--json'], NO_AGE_ENV);
    expect(rekey.code, rekey.stdout + rekey.stderr).toBe(0);
    const out = JSON.parse(rekey.stdout) as RekeyJson;
    expect(out.archives).toEqual([]);
    expect(out.shipments).toBe(0);
    expect(out.seeds).toBe(1);
    expect(out.failures).toEqual([]);
    expect(out.leftAlone.archives.sort()).toEqual([first, second].sort());
    expect(out.leftAlone.shipments).toBeGreaterThan(0);
    expect(out.leftAlone.instances).toHaveLength(1);

    // The origin still opens everything of its own with k1: archives and shipped lines.
    const verify = await runCli(['archive', 'verify', '--all', '--deep', '-s', 'nas', '-d', prod, '-c', cfg1, '-i', k1.file], NO_AGE_ENV);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const originBack = path.join(r, 'prod-back');
    const pr = await runCli(['restore', 'latest', '-d', prod, '-c', cfg1, '-i', k1.file, '--target', originBack], NO_AGE_ENV);
    expect(pr.code, pr.stdout + pr.stderr).toBe(0);
    expect(await contents(originBack)).toEqual(await contents(prod));

    // The clone archives with its public key only, writes on, archives again, and restores with k2.
    expect(await write(audit, clone, 'a1', 0, 'archive')).toBeDefined();
    const last = await write(audit, clone, 'a2', 7, 'archive');
    const auditBack = path.join(r, 'audit-back');
    const ar = await runCli(['restore', 'latest', '-d', audit, '-c', cfg2, '-i', k2.file, '--target', auditBack], NO_AGE_ENV);
    expect(ar.code, ar.stdout + ar.stderr).toBe(0);
    expect(ar.stdout).toContain(last!);
    expect(await contents(auditBack)).toEqual(await contents(audit));
  }, 180_000);
});
