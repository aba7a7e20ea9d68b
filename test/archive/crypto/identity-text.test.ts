/**
 * An identity given as text, not as a path: BRI_AGE_IDENTITY="$(cat key.txt)" (the file's comments,
 * then the key), the key alone given to the API, or key text after --identity. It is read as the key
 * when it is one, and no message, hint, details or --json output ever holds the secret (it was
 * quoted as a path that did not exist: message, hint and details.path, three times in --json).
 */
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-identity-text-');

/** A key pair, with the identity file's whole text as age-keygen writes it. */
async function keyPair() {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  return { identity, recipient, text: `# created: 2026-01-01T00:00:00Z\n# public key: ${recipient}\n${identity}\n` };
}

/** A data directory with one archive encrypted for `recipient`. */
async function encryptedArchive(recipient: string): Promise<{ r: string; dataDir: string }> {
  const r = await tmp();
  const dataDir = path.join(r, 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [recipient] } } } });
  await db.set('A', { v: 1 });
  await db.archive.create();
  await db.close();
  return { r, dataDir };
}

/** The secret part of a key: what must appear nowhere (the bech32 body, upper or lower case). */
function secretOf(identity: string): RegExp {
  return new RegExp(identity.slice('AGE-SECRET-KEY-1'.length, -6), 'i');
}

describe('an age identity given as text', () => {
  it('BRI_AGE_IDENTITY holding an identity file\'s whole text (comments, then the key) restores with it', async () => {
    const key = await keyPair();
    const { r, dataDir } = await encryptedArchive(key.recipient);
    const res = await runCli(['restore', 'latest', '-d', dataDir, '--target', path.join(r, 'out'), '--json'], { BRI_AGE_IDENTITY: key.text, BRI_AGE_PASSPHRASE: '' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toMatch(secretOf(key.identity));
  }, 30_000);

  it('a wrong key, a damaged key and key text after --identity fail without the secret in message, hint, details or --json', async () => {
    const key = await keyPair();
    const other = await keyPair();
    const { r, dataDir } = await encryptedArchive(key.recipient);
    const damaged = other.text.replace(other.identity, other.identity.slice(0, -2) + (other.identity.endsWith('QQ') ? 'PP' : 'QQ'));
    const cases: Array<{ env: NodeJS.ProcessEnv; args: string[]; code: number; errCode: string }> = [
      { env: { BRI_AGE_IDENTITY: other.text }, args: [], code: 12, errCode: 'DECRYPTION_FAILED' },
      { env: { BRI_AGE_IDENTITY: damaged }, args: [], code: 2, errCode: 'USAGE' },
      { env: { BRI_AGE_IDENTITY: '' }, args: ['--identity', other.text], code: 2, errCode: 'USAGE' },
      { env: { BRI_AGE_IDENTITY: '' }, args: ['--identity', other.identity], code: 2, errCode: 'USAGE' },
    ];
    for (const [i, c] of cases.entries()) {
      for (const json of [false, true]) {
        const res = await runCli(['restore', 'latest', '-d', dataDir, '--target', path.join(r, `out${i}`), ...c.args, ...(json ? ['--json'] : [])], { ...c.env, BRI_AGE_PASSPHRASE: '' });
        const said = `case ${i}${json ? ' --json' : ''}: ${res.stdout}${res.stderr}`;
        expect(res.code, said).toBe(c.code);
        expect(res.stdout + res.stderr, said).toContain(c.errCode);
        expect(res.stdout + res.stderr, said).not.toMatch(secretOf(other.identity));
        expect(res.stdout + res.stderr, said).not.toMatch(/AGE-SECRET-KEY-1[0-9A-Z]{8}/i);
        // Key text on the command line is refused as such (others can read it in ps), not read as a path.
        if (c.args.length > 0) expect(res.stdout + res.stderr, said).toMatch(/--identity takes the path of an identity file, and was given the key itself/);
      }
    }
  }, 60_000);

  it('the API takes the key itself as identity; a missing path is still named, the key never', async () => {
    const key = await keyPair();
    const other = await keyPair();
    const { r, dataDir } = await encryptedArchive(key.recipient);
    const api = openRestore({ dataDir });
    await expect(api.fromLatest({ targetDir: path.join(r, 'out'), identity: key.identity })).resolves.toBeDefined();
    const err = await api.fromLatest({ targetDir: path.join(r, 'out2'), identity: other.text }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'DECRYPTION_FAILED' });
    const e = err as Error & { hint?: string; details?: unknown };
    expect(`${e.message} ${e.hint} ${JSON.stringify(e.details)}`).not.toMatch(secretOf(other.identity));
    const missing = path.join(r, 'nope.txt');
    await expect(api.fromLatest({ targetDir: path.join(r, 'out3'), identity: missing })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(missing) });
  }, 30_000);
});
