/**
 * A rekey run again (after one that finished, or one stopped half way) over a remote with shipped WAL: the
 * shipments the first run rewrapped no longer open with the old identity, and the rerun failed on the first
 * of them (DECRYPTION_FAILED, exit 12), so a stopped rekey could never be finished. Shipments now carry a
 * mark of their recipients in their metadata: those already for the new recipients are left as they are.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { ageKeyFile, NO_AGE_ENV } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-rekey-rerun-');

interface RekeyJson {
  shipments: number;
  shipmentsAlreadyNew: number;
  failures: Array<{ source: string; code?: string }>;
}

describe('archive rekey run again over shipped WAL', () => {
  it('leaves the shipments already for the new recipients as they are (exit 0), restores with the new key, and still refuses a third key for them', async () => {
    const r = await tmp();
    const [k1, k2, k3] = [await ageKeyFile(r, 'k1'), await ageKeyFile(r, 'k2'), await ageKeyFile(r, 'k3')];
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const dataDir = path.join(r, 'data');
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const db = await createDB({ storeConfig: { dataDir, archive } });
    for (let i = 0; i < 10; i++) await db.set(`K${i}`, { i });
    await db.archive.flushShipping();
    await db.archive.create();
    for (let i = 0; i < 6; i++) {
      await db.set(`L${i}`, { i });
      await db.archive.flushShipping();
    }
    await db.close();
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));
    const rekey = async (to: string) => {
      const res = await runCli(['archive', 'rekey', '-d', dataDir, '-c', cfg, '--recipient', to, '-i', k1.file, '--json'], NO_AGE_ENV);
      return { code: res.code, out: JSON.parse(res.stdout || '{}') as RekeyJson, stderr: res.stderr };
    };

    const first = await rekey(k2.recipient);
    expect(first.code, first.stderr).toBe(0);
    expect(first.out.shipments).toBeGreaterThan(0);
    const again = await rekey(k2.recipient);
    expect(again.code, again.stderr).toBe(0);
    expect(again.out).toMatchObject({ shipments: 0, shipmentsAlreadyNew: first.out.shipments, failures: [] });

    // The mark says "for k2": it is not taken for any other key.
    const third = await rekey(k3.recipient);
    expect(third.code).toBe(12);
    expect(third.out.failures).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'nas', code: 'DECRYPTION_FAILED' })]));

    const target = path.join(r, 'restored');
    const back = await runCli(['restore', 'latest', '-d', dataDir, '-c', cfg, '-i', k2.file, '--target', target], NO_AGE_ENV);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    const restored = await createDB({ storeConfig: { dataDir: target } });
    expect(await restored.get('L5')).toEqual({ i: 5 });
    await restored.close();
  }, 120_000);
});
