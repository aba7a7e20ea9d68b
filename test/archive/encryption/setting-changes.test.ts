/**
 * archive.encryption changed between archives (age recipients -> new recipients -> a passphrase -> off):
 * with the identity that opens the previous archives, the next archive starts from the sealed seed and
 * follows the new setting, and a restore at a moment on each side of every change gives that moment's
 * state. Without it, the create is refused as a key problem that says which identity to give.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-age-setting-');
const PASSPHRASE = 'correct horse battery staple';
const NO_AGE_ENV = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };

async function keyPair(dir: string, name: string) {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const file = path.join(dir, `${name}.txt`);
  await fsp.writeFile(file, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { identity, recipient, file };
}

/** Writes one document with the database closed again (the CLI archives a stopped database); answers its state. */
async function write(dataDir: string, key: string): Promise<PlainState> {
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set(key, { key, at: Date.now() });
  const state = toPlainState(db.state);
  await db.close();
  return state;
}

async function createWith(r: string, dataDir: string, archive: object, env: NodeJS.ProcessEnv, json = true) {
  const config = path.join(r, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ archive: { compression: { level: 1 }, ...archive } }));
  return runCli(['archive', 'create', '-d', dataDir, '-c', config, ...(json ? ['--json'] : [])], env);
}

const pause = () => new Promise((res) => setTimeout(res, 15));

describe('a change of archive.encryption between archives', () => {
  it('archives on from the sealed seed with the old identity (new recipients, a passphrase, off), and every moment restores', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const [k1, k2] = [await keyPair(r, 'k1'), await keyPair(r, 'k2')];
    const steps: Array<{ archive: object; env: NodeJS.ProcessEnv; encryption: unknown }> = [
      { archive: { encryption: { recipients: [k1.recipient] } }, env: NO_AGE_ENV, encryption: { scheme: 'age', recipients: [k1.recipient], passphrase: false } },
      { archive: { encryption: { recipients: [k2.recipient] } }, env: { ...NO_AGE_ENV, BRI_AGE_IDENTITY: k1.file }, encryption: { scheme: 'age', recipients: [k2.recipient], passphrase: false } },
      { archive: { encryption: { passphrase: PASSPHRASE } }, env: { ...NO_AGE_ENV, BRI_AGE_IDENTITY: k2.file }, encryption: { scheme: 'age', recipients: [], passphrase: true } },
      { archive: {}, env: { ...NO_AGE_ENV, BRI_AGE_PASSPHRASE: PASSPHRASE }, encryption: undefined },
      { archive: {}, env: NO_AGE_ENV, encryption: undefined },
    ];
    const moments: Array<{ at: number; state: PlainState }> = [];
    for (const [i, step] of steps.entries()) {
      const state = await write(dataDir, `DOC_${i}`);
      await pause();
      moments.push({ at: Date.now(), state });
      await pause();
      const made = await createWith(r, dataDir, step.archive, step.env);
      expect(made.code, `step ${i}: ${made.stderr}`).toBe(0);
      expect(JSON.parse(made.stdout).manifest.encryption, `step ${i}`).toEqual(step.encryption);
    }
    const identity = { identities: [k1.identity, k2.identity], passphrases: [PASSPHRASE], source: 'test' };
    const api = openRestore({ dataDir, config: {} });
    try {
      for (const [i, m] of moments.entries()) {
        const target = path.join(r, `at-${i}`);
        await api.toTimestamp(m.at, { targetDir: target, identity });
        expect(toPlainState((await recover(target)).state), `moment ${i}`).toEqual(m.state);
      }
      const latest = path.join(r, 'latest');
      await api.fromLatest({ targetDir: latest, identity });
      expect(toPlainState((await recover(latest)).state)).toEqual(moments.at(-1)!.state);
    } finally {
      await api.close();
    }
  }, 180_000);

  it('a running database whose configuration changed archives on with BRI_AGE_IDENTITY (the seed opened once)', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const [k1, k2] = [await keyPair(r, 'k1'), await keyPair(r, 'k2')];
    const first = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [k1.recipient] } } } });
    await first.set('A', { a: 1 });
    await first.archive.create();
    // Its snapshot is now past the archive's end: the data directory alone cannot give the state there.
    await first.set('A2', { a: 2 });
    await first.close();
    const was = process.env.BRI_AGE_IDENTITY;
    process.env.BRI_AGE_IDENTITY = k1.file;
    try {
      const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [k2.recipient] } } } });
      await db.set('B', { b: 2 });
      const made = await db.archive.create();
      const state = toPlainState(db.state);
      await db.close();
      expect(made.manifest.encryption?.recipients).toEqual([k2.recipient]);
      const api = openRestore({ dataDir, config: {} });
      const target = path.join(r, 'restored');
      // The newest archive alone, with k2 alone: its starting state was sealed again for k2.
      await api.from(made.archiveId, { targetDir: target, identity: k2.file });
      await api.close();
      expect(toPlainState((await recover(target)).state)).toEqual(state);
    } finally {
      if (was === undefined) delete process.env.BRI_AGE_IDENTITY;
      else process.env.BRI_AGE_IDENTITY = was;
    }
  }, 120_000);

  it('without the old identity it is refused as a key problem (exit 12) that says which identity to give, never as a rekey or BRI_ENCRYPTION_KEY', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const [k1, k2] = [await keyPair(r, 'k1'), await keyPair(r, 'k2')];
    await write(dataDir, 'A');
    expect((await createWith(r, dataDir, { encryption: { recipients: [k1.recipient] } }, NO_AGE_ENV)).code).toBe(0);
    await write(dataDir, 'B');
    for (const archive of [{}, { encryption: { recipients: [k2.recipient] } }, { encryption: { passphrase: PASSPHRASE } }]) {
      const refused = await createWith(r, dataDir, archive, NO_AGE_ENV, false);
      expect(refused.code, refused.stderr).toBe(12);
      expect(refused.stderr).toContain('ENCRYPTION_KEY_MISSING');
      expect(refused.stderr).toContain(`sealed with age for recipients ${k1.recipient}`);
      expect(refused.stderr).toMatch(/hint: .*set BRI_AGE_IDENTITY to an identity file that opens the previous archives/);
      expect(refused.stderr).not.toMatch(/BRI_ENCRYPTION_KEY|rekeyed since/);
    }
    // An identity that does not open it is said as such.
    const wrong = await createWith(r, dataDir, {}, { ...NO_AGE_ENV, BRI_AGE_IDENTITY: k2.file }, false);
    expect(wrong.code, wrong.stderr).toBe(12);
    expect(wrong.stderr).toContain('DECRYPTION_FAILED');
    expect(wrong.stderr).toContain(`no identity from ${k2.file} opens it`);
  }, 120_000);
});

describe('a change of archive.encryption with identityFile in the configuration', () => {
  it('archives on with the identity the configuration names (no environment), as a restore reads it', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const [k1, k2] = [await keyPair(r, 'k1'), await keyPair(r, 'k2')];
    await write(dataDir, 'DOC_0');
    expect((await createWith(r, dataDir, { encryption: { recipients: [k1.recipient] } }, NO_AGE_ENV)).code).toBe(0);
    await write(dataDir, 'DOC_1');
    const made = await createWith(r, dataDir, { encryption: { recipients: [k2.recipient], identityFile: k1.file } }, NO_AGE_ENV);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).manifest.encryption).toMatchObject({ recipients: [k2.recipient] });
  });
});
