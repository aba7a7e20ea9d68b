/**
 * verify --deep (archive verify, restore verify) of an archive encrypted with a passphrase that the
 * passphrase or identity given does not open: the hint says to set BRI_AGE_PASSPHRASE, as a restore's
 * does. It said "encrypted for a passphrase; pass the identity of one of them (--identity FILE ...)",
 * which no identity file can ever answer.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-verify-passphrase-');

describe('verify --deep of a passphrase-encrypted archive that does not open', () => {
  it('hints to set BRI_AGE_PASSPHRASE (the one given is not it), never an identity file, for archive verify and restore verify', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { passphrase: 'correct horse' } } } });
    await db.set('A', { v: 1 });
    const id = (await db.archive.create()).manifest.archiveId;
    await db.close();
    const identity = await generateIdentity();
    const keyFile = path.join(r, 'key.txt');
    await fsp.writeFile(keyFile, `# public key: ${await identityToRecipient(identity)}\n${identity}\n`, { mode: 0o600 });

    for (const cmd of [['archive', 'verify', id], ['restore', 'verify', id]]) {
      const wrong = await runCli([...cmd, '-d', dataDir, '--deep'], { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: 'wrong' });
      expect(wrong.code, wrong.stderr).toBe(12);
      expect(wrong.stderr).toMatch(/^error \[DECRYPTION_FAILED\]: archive \S+ cannot be decrypted .* encrypted with another passphrase$/m);
      expect(wrong.stderr).toMatch(/^hint: It is encrypted with a passphrase: set BRI_AGE_PASSPHRASE to it \(the one given is not it\)\.$/m);
      expect(wrong.stderr).not.toMatch(/--identity FILE/);
      const withFile = await runCli([...cmd, '-d', dataDir, '--deep', '-i', keyFile], { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' });
      expect(withFile.code, withFile.stderr).toBe(12);
      expect(withFile.stderr).toMatch(/^hint: It is encrypted with a passphrase: set BRI_AGE_PASSPHRASE to it\.$/m);
    }
  }, 90_000);
});
