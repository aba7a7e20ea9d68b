/**
 * A rekey with an identity that opens only some of what it rewraps (the recipients changed between
 * archives) says, item by item, what it rewrapped and what it could not, and exits with the failure's
 * code. It rewrapped archive 1, then stopped on the sealed seed with a bare DECRYPTION_FAILED: nothing
 * said archive 1 now opens with the new key only.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { ageKeyFile } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-rekey-partial-');

describe('archive rekey', () => {
  it('with an identity that opens only the first archive: lists it as rekeyed, the second archive and the seed as failed, exit 12', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const [k1, k2, k3] = [await ageKeyFile(r, 'k1'), await ageKeyFile(r, 'k2'), await ageKeyFile(r, 'k3')];
    let db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [k1.recipient] } } } });
    await db.set('A', { v: 1 });
    const first = (await db.archive.create()).manifest.archiveId;
    await db.close();
    // The change of recipients reads the seed sealed for k1 once.
    db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [k2.recipient], identityFile: k1.file } } } });
    await db.set('A', { v: 2 });
    const second = (await db.archive.create()).manifest.archiveId;
    await db.close();

    const res = await runCli(['archive', 'rekey', '-d', dataDir, '--recipient', k3.recipient, '-i', k1.file, '--json'], { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' });
    expect(res.code, res.stderr).toBe(12);
    const out = JSON.parse(res.stdout) as { archives: Array<{ archiveId: string; sources: string[] }>; seeds: number; failures: Array<{ archiveId: string | null; source: string; code?: string; seed?: string; error: string }> };
    expect(out.archives).toEqual([{ archiveId: first, sources: ['local'], alreadyNew: [] }]);
    expect(out.failures).toEqual(expect.arrayContaining([
      expect.objectContaining({ archiveId: second, source: 'local', code: 'DECRYPTION_FAILED' }),
      expect.objectContaining({ archiveId: null, source: 'local', code: 'DECRYPTION_FAILED', seed: expect.stringMatching(/\.jss\.zst\.age$/) }),
    ]));
    // Under --json the failures are in the document; the text says them on stderr.
    expect(res.stderr).not.toMatch(/rekey failed on local/);
    const text = await runCli(['archive', 'rekey', '-d', dataDir, '--recipient', k3.recipient, '-i', k1.file], { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' });
    expect(text.code).toBe(12);
    expect(text.stderr).toMatch(/rekey failed on local.*\[DECRYPTION_FAILED\]/);

    // What it said is what it did: archive 1 opens with k3 now, archive 2 still with k2.
    for (const [key, ok] of [[k3.file, first], [k2.file, second]] as const) {
      const v = await runCli(['archive', 'verify', ok, '-d', dataDir, '--deep', '-i', key], { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' });
      expect(v.code, v.stdout + v.stderr).toBe(0);
    }
  }, 90_000);
});
