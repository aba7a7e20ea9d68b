/**
 * archive.encryption.passphrase changed in the configuration without a rekey: the next archive took the seed
 * sealed with the old passphrase as its snapshot member as it was (every passphrase's seed facts say the
 * same), and its WAL was sealed with the new one: an archive that neither passphrase restores, verified OK.
 * A seed is now taken as it is only when the configured passphrase opens it.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { NO_AGE_ENV } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-pass-change-');

const open = (dataDir: string, passphrase: string) => createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { passphrase } } } });

async function write(dataDir: string, passphrase: string, from: number, to: number, archive: boolean): Promise<string | null> {
  const db = await open(dataDir, passphrase);
  try {
    for (let i = from; i < to; i++) await db.set(`K${i}`, { i });
    return archive ? (await db.archive.create()).archiveId : null;
  } finally {
    await db.close();
  }
}

describe('a passphrase changed without a rekey', () => {
  for (const snapshotMoved of [false, true]) {
    it(`never makes an archive the new passphrase cannot restore${snapshotMoved ? ' (the directory\'s snapshot moved past the previous archive\'s end)' : ''}`, async () => {
      const r = await tmp();
      const dataDir = path.join(r, 'data');
      await write(dataDir, 'pass-one', 0, 5, true);
      if (snapshotMoved) await write(dataDir, 'pass-one', 5, 8, false);
      const second = await (async () => write(dataDir, 'pass-two', 8, 12, true))().catch((e: { code?: string }) => e);
      if (typeof second !== 'string') {
        // Refused: typed, and it says the passphrase (no archive was made from a mix of the two).
        expect(second).toMatchObject({ code: expect.stringMatching(/^(DECRYPTION_FAILED|ENCRYPTION_KEY_MISSING)$/) });
        return;
      }
      const target = path.join(r, 'restored');
      const res = await runCli(['restore', 'latest', '-d', dataDir, '--target', target], { ...NO_AGE_ENV, BRI_AGE_PASSPHRASE: 'pass-two' });
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toContain(second);
      const db = await createDB({ storeConfig: { dataDir: target } });
      expect(await db.get('K11')).toEqual({ i: 11 });
      expect(await db.get('K0')).toEqual({ i: 0 });
      await db.close();
    }, 120_000);
  }
});
