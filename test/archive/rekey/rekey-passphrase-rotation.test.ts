/**
 * Rotating a passphrase (`archive rekey --passphrase` on passphrase-encrypted archives) said "rekeyed" and
 * rewrapped no archive copy nor seed: every passphrase's manifest says the same (passphrase: true, no
 * recipients), so each looked "already for the new setting". The shipments moved to the new passphrase, the
 * archives stayed on the old one, and restore latest failed with either. A wrong old passphrase went unnoticed
 * for the same reason.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-rekey-passphrase-');

interface RekeyJson {
  archives: Array<{ archiveId: string; sources: string[] }>;
  shipments: number;
  seeds: number;
  failures: Array<{ archiveId: string | null; source: string; code?: string; seed?: string }>;
}

/** A database encrypted with passphrase 'old pass': one archive on local and nas, and a shipment after it. */
async function oldPassDatabase(r: string): Promise<{ dataDir: string; cfg: string; archiveId: string }> {
  const dataDir = path.join(r, 'data');
  const nas = path.join(r, 'nas');
  await fsp.mkdir(nas, { recursive: true });
  const remotes = [{ provider: 'local', name: 'nas', path: nas }];
  const db = await createDB({ storeConfig: { dataDir, archive: { remotes, compression: { level: 1 }, continuous: { enabled: true, intervalMs: 100 }, encryption: { passphrase: 'old pass' } } } });
  await db.set('A', { v: 1 });
  const archiveId = (await db.archive.create()).manifest.archiveId;
  await db.set('A', { v: 2 });
  await db.archive.flushShipping();
  await db.close();
  const cfg = path.join(r, 'cfg.json');
  await fsp.writeFile(cfg, JSON.stringify({ archive: { remotes } }));
  return { dataDir, cfg, archiveId };
}

const withPass = (p: string) => ({ BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: p });

describe('archive rekey --passphrase from one passphrase to another', () => {
  it('rewraps every archive copy, seed and shipment: restore latest and verify --all --deep work with the new passphrase, the old one is DECRYPTION_FAILED', async () => {
    const r = await tmp();
    const { dataDir, cfg, archiveId } = await oldPassDatabase(r);

    const rekey = await runCli(['archive', 'rekey', '--passphrase', '-d', dataDir, '-c', cfg, '--json'], { ...withPass('old pass'), BRI_AGE_NEW_PASSPHRASE: 'new pass' });
    expect(rekey.code, rekey.stdout + rekey.stderr).toBe(0);
    const out = JSON.parse(rekey.stdout) as RekeyJson;
    expect(out.failures).toEqual([]);
    expect(out.archives).toEqual([{ archiveId, sources: expect.arrayContaining(['local', 'nas']), alreadyNew: [] }]);
    expect(out.seeds).toBeGreaterThan(0);
    expect(out.shipments).toBeGreaterThan(0);

    const restored = path.join(r, 'restored-new');
    const ok = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '--target', restored], withPass('new pass'));
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const db = await createDB({ storeConfig: { dataDir: restored } });
    expect(await db.get('A')).toEqual({ v: 2 });
    await db.close();

    const old = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '--target', path.join(r, 'restored-old')], withPass('old pass'));
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain('DECRYPTION_FAILED');

    for (const source of ['local', 'nas']) {
      const v = await runCli(['archive', 'verify', '--all', '--deep', '-s', source, '-d', dataDir, '-c', cfg], withPass('new pass'));
      expect(v.code, v.stdout + v.stderr).toBe(0);
    }

    // Run again on local (as after a stop before the uploads): the archive and the seed already open with the new passphrase, and are kept.
    const again = await runCli(['archive', 'rekey', '--passphrase', '-s', 'local', '-d', dataDir, '-c', cfg, '--json'], { ...withPass('old pass'), BRI_AGE_NEW_PASSPHRASE: 'new pass' });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ archives: [{ archiveId, sources: [] }], seeds: 0, failures: [] });
  }, 180_000);

  it('with a wrong old passphrase: the archive and the seed are failures (DECRYPTION_FAILED), not reported rekeyed', async () => {
    const r = await tmp();
    const { dataDir, cfg, archiveId } = await oldPassDatabase(r);

    const rekey = await runCli(['archive', 'rekey', '--passphrase', '-d', dataDir, '-c', cfg, '--json'], { ...withPass('wrong pass'), BRI_AGE_NEW_PASSPHRASE: 'new pass' });
    expect(rekey.code).not.toBe(0);
    const out = JSON.parse(rekey.stdout) as RekeyJson;
    expect(out.archives).toEqual([]);
    expect(out.seeds).toBe(0);
    expect(out.failures).toEqual(expect.arrayContaining([
      expect.objectContaining({ archiveId, code: 'DECRYPTION_FAILED' }),
      expect.objectContaining({ archiveId: null, source: 'local', code: 'DECRYPTION_FAILED', seed: expect.stringMatching(/\.jss\.zst\.age$/) }),
    ]));

    // Nothing was rewrapped: the old passphrase still restores.
    const ok = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '--target', path.join(r, 'restored')], withPass('old pass'));
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  }, 120_000);
});
