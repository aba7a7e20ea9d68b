/**
 * A rekey without an identity says what it needs and why, in a sentence that reads (it said "rekeying
 * archives is encrypted with age: reading it needs an identity", of archives that were not encrypted).
 */
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-rekey-identity-');

describe('archive rekey without an identity', () => {
  it('is ENCRYPTION_KEY_MISSING (exit 12) saying a rekey needs the identity that reads the encrypted archives, with the ways to give it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await db.close();
    const recipient = await identityToRecipient(await generateIdentity());
    const res = await runCli(['archive', 'rekey', '-d', dataDir, '--recipient', recipient], { BRI_AGE_IDENTITY: '' });
    expect(res.code, res.stderr).toBe(12);
    expect(res.stderr).toMatch(/^error \[ENCRYPTION_KEY_MISSING\]: a rekey needs the age identity that reads the encrypted archives/m);
    expect(res.stderr).toMatch(/^hint: Pass --identity FILE .*not encrypted are left as they are/m);
  }, 30_000);
});
