/**
 * A moment only a plaintext archive holds (after its last line, before its seal), when the archive
 * after it is encrypted with age: show, history, diff and keys read it without an identity, as a restore
 * does. They asked for the identity of the encrypted archive, which holds nothing of that moment.
 */
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-encrypted-next-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('time travel before an encrypted archive', () => {
  it('show, history, diff to it and keys at a moment of the plaintext archive before it need no identity; past its start they still ask for one (exit 12)', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    let db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 'plain' });
    await sleep(30);
    const at = new Date().toISOString();
    await sleep(30);
    await db.archive.create();
    await db.close();
    const recipient = await identityToRecipient(await generateIdentity());
    db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [recipient] } } } });
    await sleep(30);
    await db.set('A', { v: 'encrypted' });
    await db.archive.create();
    await db.close();
    const env = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };

    const show = await runCli(['archive', 'show', 'A', '--at', at, '-d', dataDir, '--json'], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('plain');
    const history = await runCli(['archive', 'history', 'A', '--to', at, '-d', dataDir, '--json'], env);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('plain');
    const diff = await runCli(['restore', 'diff', '--at', at, '--to', at, '-d', dataDir, '--json'], env);
    expect(diff.code, diff.stderr).toBe(0);
    const keys = await runCli(['restore', 'keys', 'A', '--at', at, '--dry-run', '-d', dataDir, '--json'], env);
    expect(keys.code, keys.stderr).toBe(0);
    expect(keys.stdout).toContain('plain');

    // A diff to the newest moment reads the encrypted archive: that one needs its identity.
    const toNow = await runCli(['restore', 'diff', '--at', at, '-d', dataDir], env);
    expect(toNow.code, toNow.stderr).toBe(12);
    expect(toNow.stderr).toMatch(/ENCRYPTION_KEY_MISSING/);
  }, 60_000);
});
