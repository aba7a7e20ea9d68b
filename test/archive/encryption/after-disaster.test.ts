/**
 * Archives encrypted with age (the machine holds the recipients only) and a remote; the machine is lost
 * and restored from the remote with the identity; the application writes again. The next create needs the
 * state at the previous archive's end, which only that (sealed) archive holds now: without an identity it is
 * a key problem that says which identity to give (never "set BRI_ENCRYPTION_KEY", the at-rest key), with one
 * it archives on.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-age-dr-');
const NO_AGE_ENV = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '', BRI_ENCRYPTION_KEY: '' };

async function write(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

describe('after a disaster recovery of an age-encrypted database', () => {
  it('the restore leaves a sealed seed, so the next create needs no identity; with the seed gone it is ENCRYPTION_KEY_MISSING naming BRI_AGE_IDENTITY, and with the identity it archives on', async () => {
    const r = await tmp();
    const identity = await generateIdentity();
    const keyFile = path.join(r, 'key.txt');
    await fsp.writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const config = path.join(r, 'c.json');
    await fsp.writeFile(config, JSON.stringify({ encryption: { recipients: [await identityToRecipient(identity)] }, remotes: [{ provider: 'local', name: 'nas', path: nas }], compression: { level: 1 } }));
    const dataDir = path.join(r, 'data');
    await write(dataDir, 'K', 3);
    expect((await runCli(['archive', 'create', '-d', dataDir, '-c', config, '-q'], NO_AGE_ENV)).code).toBe(0);
    await write(dataDir, 'L', 2);
    expect((await runCli(['archive', 'create', '-d', dataDir, '-c', config, '-q'], NO_AGE_ENV)).code).toBe(0);
    fs.rmSync(dataDir, { recursive: true });
    const restored = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '-i', keyFile, '-q'], NO_AGE_ENV);
    expect(restored.code, restored.stderr).toBe(0);
    await write(dataDir, 'M', 2);
    // The restore, which held the identity, left the state at the archive's end sealed for the recipients: the
    // restored application archives on with public keys only.
    const onward = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '-q'], NO_AGE_ENV);
    expect(onward.code, onward.stderr).toBe(0);
    // With that seed gone, the state is only in the (sealed) previous archive: a key problem, said as one.
    await write(dataDir, 'N', 2);
    fs.rmSync(path.join(dataDir, 'archives', '.seeds'), { recursive: true, force: true });
    const without = await runCli(['archive', 'create', '-d', dataDir, '-c', config], NO_AGE_ENV);
    expect(without.code, without.stderr).toBe(12);
    expect(without.stderr).toMatch(/ENCRYPTION_KEY_MISSING[\s\S]*previous archive, encrypted with age/);
    expect(without.stderr).toMatch(/BRI_AGE_IDENTITY/);
    expect(without.stderr).not.toMatch(/BRI_ENCRYPTION_KEY/);
    const withKey = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '-q'], { ...NO_AGE_ENV, BRI_AGE_IDENTITY: keyFile });
    expect(withKey.code, withKey.stderr).toBe(0);
  });
});
