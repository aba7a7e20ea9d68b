/**
 * Archives encrypted with age, through whole lifecycles: a database that holds recipients only
 * archives (several times, its seeds sealed), a restore with the identity gives the state back
 * (latest and to a point in time), verify and repair need no identity, and every failure to open
 * is said as a key problem (exit 12), never as damage.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { parseIdentityText } from '../../../src/archive/crypto/age-keys.js';
import { ageHeaderLength } from '../../../src/archive/crypto/age-rekey.js';

const tmp = useTempDirs('bri-age-life-');

async function keyPair(dir: string, name: string) {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const file = path.join(dir, `${name}.txt`);
  await fsp.writeFile(file, `# created for a test\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { identity, recipient, file };
}

/** Every byte of every file under `dir`, as one buffer per file. */
async function filesUnder(dir: string): Promise<Array<{ file: string; bytes: Buffer }>> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out.push({ file, bytes: await fsp.readFile(file) });
  }
  return out;
}

const SECRET = 'SECRET-VALUE-e7d1';

async function encryptedDb() {
  const r = await tmp();
  const dataDir = path.join(r, 'data');
  const key = await keyPair(r, 'key');
  const archive = { compression: { level: 3 }, encryption: { recipients: [key.recipient] } };
  const db = await createDB({ storeConfig: { dataDir, archive } });
  for (let i = 0; i < 30; i++) await db.set(`USER_${i}`, { name: `${SECRET}-${i}`, i });
  const first = await db.archive.create();
  const mid = Date.now();
  await new Promise((res) => setTimeout(res, 5));
  for (let i = 0; i < 30; i++) await db.set(`USER_${i}`, { name: `${SECRET}-again-${i}`, i: i * 2 });
  await db.delete('USER_3');
  const second = await db.archive.create();
  const state = toPlainState(db.state);
  await db.close();
  return { r, dataDir, key, archive, first, second, mid, state };
}

describe('archives encrypted with age', () => {
  it('hold no plaintext: every archive and seed a database with recipients only writes is ciphertext but the manifest, which names the recipients', async () => {
    const { dataDir, key, first, second } = await encryptedDb();
    expect(second.manifest.encryption).toEqual({ scheme: 'age', recipients: [key.recipient], passphrase: false });
    expect(second.manifest.contents.snapshot.file).toBe('snapshot.jss.zst.age');
    expect(second.manifest.contents.segments.every((s) => s.file.endsWith('.wal.zst.age'))).toBe(true);
    expect(second.manifest.timeRange.walLines.start).toBe(first.manifest.timeRange.walLines.end);
    const files = await filesUnder(path.join(dataDir, 'archives'));
    expect(files.some((f) => f.file.includes('.seeds') && f.file.endsWith('.age'))).toBe(true);
    for (const f of files) {
      expect(f.bytes.includes(Buffer.from(SECRET)), f.file).toBe(false);
      expect(f.bytes.includes(Buffer.from('USER_1')), f.file).toBe(false);
    }
  });

  it('restore the latest state and a point in time with the identity, and the restored database archives again', async () => {
    const { r, dataDir, key, archive, mid, state, first } = await encryptedDb();
    const api = openRestore({ dataDir, config: archive });
    const target = path.join(r, 'restored');
    const res = await api.fromLatest({ targetDir: target, identity: key.file });
    expect(res.linesRestored).toBeGreaterThan(0);
    expect(toPlainState((await recover(target)).state)).toEqual(state);
    const pitr = path.join(r, 'pitr');
    await api.toTimestamp(mid, { targetDir: pitr, identity: parseIdentityText(key.identity, 'test') });
    const atMid = toPlainState((await recover(pitr)).state);
    expect(Object.keys(atMid.documents)).toHaveLength(30);
    expect(JSON.parse(atMid.documents['USER_1'] as string)).toEqual({ name: `${SECRET}-1`, i: 1 });
    expect(first.manifest.timeRange.walLines.end).toBe(30);
    await api.close();
    // A clone made from it is a database like another: it archives encrypted, and that restores.
    const clone = path.join(r, 'clone');
    const api2 = openRestore({ dataDir, config: archive });
    await api2.clone({ targetDir: clone, timestamp: mid, identity: key.file });
    await api2.close();
    const db = await createDB({ storeConfig: { dataDir: clone, archive } });
    await db.set('CLONE_ONLY', { x: 1 });
    const made = await db.archive.create();
    const cloneState = toPlainState(db.state);
    await db.close();
    expect(made.manifest.encryption?.scheme).toBe('age');
    const back = path.join(r, 'clone-back');
    const api3 = openRestore({ dataDir: clone, config: archive });
    await api3.fromLatest({ targetDir: back, identity: key.file });
    await api3.close();
    expect(toPlainState((await recover(back)).state)).toEqual(cloneState);
  });

  it('no identity is ENCRYPTION_KEY_MISSING and a wrong one DECRYPTION_FAILED (exit 12), nothing written; verify needs neither', async () => {
    const { r, dataDir, archive, second } = await encryptedDb();
    const config = path.join(r, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ archive }));
    const target = path.join(r, 'restored');
    const env = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };
    const missing = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target, '--json'], env);
    expect(missing.code, missing.stderr).toBe(12);
    expect(missing.stderr).toContain('ENCRYPTION_KEY_MISSING');
    const other = await keyPair(r, 'other');
    const wrong = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target, '--identity', other.file], env);
    expect(wrong.code, wrong.stderr).toBe(12);
    expect(wrong.stderr).toContain('DECRYPTION_FAILED');
    expect(fs.existsSync(target)).toBe(false);
    const verified = await runCli(['archive', 'verify', second.archiveId, '-d', dataDir, '-c', config, '--json'], env);
    expect(verified.code, verified.stderr).toBe(0);
    const report = JSON.parse(verified.stdout);
    expect(report.ok).toBe(true);
    expect(report.checked.chain).toBe('encrypted-not-checked');
    // In words: the WAL was not opened (not "0 WAL lines"), for one archive and for every one.
    for (const args of [['archive', 'verify', second.archiveId], ['archive', 'verify', '--all']]) {
      const text = await runCli([...args, '-d', dataDir, '-c', config], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('WAL lines not opened (encrypted, no identity');
      expect(text.stdout).not.toMatch(/\b0 WAL lines/);
    }
    const deep = await runCli(['archive', 'verify', second.archiveId, '-d', dataDir, '-c', config, '--deep'], env);
    expect(deep.code, deep.stderr).toBe(12);
  });

  it('sha256sum -c checks an encrypted archive unpacked by tar, and age -d -i opens every member', async () => {
    const { r, key, second } = await encryptedDb();
    const out = path.join(r, 'unpacked');
    await fsp.mkdir(out);
    execFileSync('tar', ['-xf', second.file, '-C', out]);
    execFileSync('sha256sum', ['-c', '--quiet', 'checksums.sha256'], { cwd: out });
    let hasAge = true;
    try {
      execFileSync('age', ['--version']);
    } catch {
      hasAge = false;
    }
    if (!hasAge) {
      console.warn('skipping the age CLI part: age is not installed (apt-get install age)');
      return;
    }
    for (const s of second.manifest.contents.segments) {
      const zst = execFileSync('age', ['-d', '-i', key.file, path.join(out, s.file)]);
      const text = execFileSync('zstd', ['-dc'], { input: zst }).toString('utf8');
      expect(text.split('\n').filter(Boolean)).toHaveLength(s.lastLine - s.firstLine + 1);
    }
  });
});

describe('rekey', () => {
  it('rewrites the age headers only: the new identity restores, the old one is DECRYPTION_FAILED, the payload bytes and the archive id stay, PAR2 still repairs', async () => {
    const { r, dataDir, key, archive, second, state } = await encryptedDb();
    const config = path.join(r, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ archive }));
    const next = await keyPair(r, 'next');
    const before = await fsp.readFile(second.file);
    const member = second.manifest.contents.segments[0]!.file;
    const payload = (file: string) => {
      const bytes = execFileSync('tar', ['-xOf', file, member]);
      return bytes.subarray(ageHeaderLength(bytes, member));
    };
    const payloadBefore = payload(second.file);
    const env = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };
    const rekey = await runCli(['archive', 'rekey', '-d', dataDir, '-c', config, '--recipient', next.recipient, '--identity', key.file, '--json'], env);
    expect(rekey.code, rekey.stderr).toBe(0);
    const out = JSON.parse(rekey.stdout);
    expect(out.archives.map((a: { archiveId: string }) => a.archiveId)).toContain(second.archiveId);
    expect(out.seeds).toBeGreaterThan(0);
    const after = await fsp.readFile(second.file);
    expect(after.equals(before)).toBe(false);
    // The payload of a WAL member is the same bytes: only its age header changed.
    expect(payload(second.file).equals(payloadBefore)).toBe(true);
    const listed = await runCli(['archive', 'get', second.archiveId, '-d', dataDir, '-c', config, '--json'], env);
    expect(JSON.parse(listed.stdout).manifest.encryption.recipients).toEqual([next.recipient]);
    const oldTry = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', path.join(r, 'old'), '--identity', key.file], env);
    expect(oldTry.code, oldTry.stderr).toBe(12);
    expect(oldTry.stderr).toContain('DECRYPTION_FAILED');
    const target = path.join(r, 'new');
    const ok = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target, '--identity', next.file], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(toPlainState((await recover(target)).state)).toEqual(state);
    // Repair without any identity: a damaged byte in a WAL member comes back from the new PAR2 data.
    const fh = await fsp.open(second.file, 'r+');
    const seg = second.manifest.contents.segments[0]!;
    const rekeyed = JSON.parse(listed.stdout).manifest;
    expect(rekeyed.contents.segments[0].sha256).not.toBe(seg.sha256);
    await fh.write(Buffer.from([0xff, 0x00, 0xff]), 0, 3, 2048);
    await fh.close();
    const bad = await runCli(['archive', 'verify', second.archiveId, '-d', dataDir, '-c', config, '--json'], env);
    expect(JSON.parse(bad.stdout).ok).toBe(false);
    const fixed = await runCli(['archive', 'repair', second.archiveId, '-d', dataDir, '-c', config, '--in-place'], env);
    expect(fixed.code, fixed.stderr).toBe(0);
    const good = await runCli(['archive', 'verify', second.archiveId, '-d', dataDir, '-c', config, '--deep', '--identity', next.file, '--json'], env);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout).checked.chain).toBe('verified');
  });
});

describe('a rekey that stopped half way', () => {
  it('run again, it finishes: a local copy already for the new recipients is uploaded as it is, the remote copy still for the old ones is replaced, and a dead rekey\'s stage directory is removed', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const key = await keyPair(r, 'key');
    const archive = { compression: { level: 1 }, encryption: { recipients: [key.recipient] }, remotes: [{ provider: 'local', name: 'nas', path: nas }] };
    const db = await createDB({ storeConfig: { dataDir, archive } });
    for (let i = 0; i < 20; i++) await db.set(`K_${i}`, { i });
    const made = await db.archive.create();
    await db.close();
    const config = path.join(r, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ archive }));
    const next = await keyPair(r, 'next');
    const env = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };
    // What a rekey killed between its local rename and its upload leaves: the local copy rekeyed, the one on nas not; and its stage directory.
    const half = await runCli(['archive', 'rekey', '-d', dataDir, '-c', config, '--recipient', next.recipient, '--identity', key.file, '-s', 'local'], env);
    expect(half.code, half.stderr).toBe(0);
    const dead = path.join(dataDir, 'archives', '.tmp', 'rekey-999999-1');
    await fsp.mkdir(dead, { recursive: true });
    await fsp.writeFile(path.join(dead, 'downloaded.bri'), 'x');
    const again = await runCli(['archive', 'rekey', '-d', dataDir, '-c', config, '--recipient', next.recipient, '--identity', key.file], env);
    expect(again.code, again.stderr).toBe(0);
    const local = await fsp.readFile(made.file);
    expect((await fsp.readFile(path.join(nas, 'archives', path.basename(made.file)))).equals(local)).toBe(true);
    expect(fs.existsSync(dead)).toBe(false);
    const target = path.join(r, 'restored');
    const ok = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target, '--identity', next.file, '--source', 'nas'], env);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('after a rekey', () => {
  it('a create with the configuration not yet changed says its seed is sealed for the new recipients (not "no seed, keep .seeds/"); with them named, it archives', async () => {
    const { r, dataDir, key, archive } = await encryptedDb();
    const config = path.join(r, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ archive }));
    const next = await keyPair(r, 'next');
    const env = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };
    expect((await runCli(['archive', 'rekey', '-d', dataDir, '-c', config, '--recipient', next.recipient, '--identity', key.file], env)).code).toBe(0);
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('AFTER', { a: 1 });
    await db.close();
    const stale = await runCli(['archive', 'create', '-d', dataDir, '-c', config], env);
    expect(stale.code).toBe(23);
    expect(stale.stderr).toMatch(/sealed for other age recipients \(age1\S+\)[\s\S]*hint: The archives were rekeyed/);
    expect(stale.stderr).not.toMatch(/Keep the archive directory/);
    await fsp.writeFile(config, JSON.stringify({ archive: { ...archive, encryption: { recipients: [next.recipient] } } }));
    const made = await runCli(['archive', 'create', '-d', dataDir, '-c', config], env);
    expect(made.code, made.stderr).toBe(0);
  });
});

describe('damage to an encrypted archive is damage, not a key problem', () => {
  /** Offset of the n-th age header (0: the snapshot member's) in the archive file. */
  function ageHeaderAt(buf: Buffer, n: number): number {
    let at = -1;
    for (let i = 0; i <= n; i++) at = buf.indexOf('age-encryption.org/v1\n', at + 1);
    expect(at).toBeGreaterThan(0);
    return at;
  }

  it('a damaged recipient stanza (which age cannot tell from a wrong key) is repaired from PAR2 and the restore goes on; without PAR2 it is ARCHIVE_CORRUPTED naming the member', async () => {
    const { r, dataDir, key, archive, second, state } = await encryptedDb();
    const buf = await fsp.readFile(second.file);
    const stanza = ageHeaderAt(buf, 1) + 30; // inside the first WAL member's X25519 stanza
    buf[stanza] = buf[stanza]! ^ 0x01;
    await fsp.writeFile(second.file, buf);
    const api = openRestore({ dataDir, config: archive });
    const target = path.join(r, 'restored');
    const res = await api.fromLatest({ targetDir: target, identity: key.file });
    expect(res.repaired?.repairedBlocks).toBeGreaterThan(0);
    expect(toPlainState((await recover(target)).state)).toEqual(state);
    await api.close();

    // The same archive made without recovery data: a flipped payload byte names the member.
    const r2 = await tmp();
    const dataDir2 = path.join(r2, 'data');
    const plainPar = { ...archive, errorCorrection: { enabled: false } };
    const db = await createDB({ storeConfig: { dataDir: dataDir2, archive: plainPar } });
    for (let i = 0; i < 50; i++) await db.set(`K_${i}`, { v: 'x'.repeat(200) });
    const made = await db.archive.create();
    await db.close();
    const b2 = await fsp.readFile(made.file);
    const payload = ageHeaderAt(b2, 1) + 400;
    b2[payload] = b2[payload]! ^ 0x10;
    await fsp.writeFile(made.file, b2);
    const api2 = openRestore({ dataDir: dataDir2, config: plainPar });
    const err = (await api2.fromLatest({ targetDir: path.join(r2, 'out'), identity: key.file }).then(() => ({}), (e: unknown) => e)) as { code?: string; message?: string };
    await api2.close();
    expect(err.code).toBe('ARCHIVE_CORRUPTED');
    expect(err.message).toContain('wal/');
    expect(fs.existsSync(path.join(r2, 'out'))).toBe(false);
  });
});

describe('the encryption settings', () => {
  it('refuse a bad recipient, a secret key given as a recipient, and recipients with a passphrase, naming the key and never the value', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const secret = await generateIdentity();
    const cases: Array<[unknown, string]> = [
      [{ recipients: ['age1notakey'] }, 'archive.encryption.recipients.0'],
      [{ recipients: [secret] }, 'archive.encryption.recipients.0'],
      [{ recipients: [] }, 'archive.encryption.recipients'],
      [{ recipients: [await identityToRecipient(secret)], passphrase: 'pw' }, 'archive.encryption.passphrase'],
      [{ recipients: [await identityToRecipient(secret)], extra: 1 }, 'archive.encryption'],
    ];
    for (const [encryption, where] of cases) {
      const err = await createDB({ storeConfig: { dataDir, archive: { encryption } as never } }).then(
        async (db) => {
          await db.close();
          return null;
        },
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code, JSON.stringify(encryption)).toBe('CONFIG_INVALID');
      expect(err!.message).toContain(where);
      expect(err!.message).not.toContain(secret);
      expect(err!.message).not.toContain('pw');
    }
  });

  it('a passphrase instead of recipients: restores with BRI_AGE_PASSPHRASE, and says which is missing without it', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const archive = { compression: { level: 1 }, encryption: { passphrase: 'correct horse battery staple' } };
    const db = await createDB({ storeConfig: { dataDir, archive } });
    for (let i = 0; i < 5; i++) await db.set(`P_${i}`, { i });
    const made = await db.archive.create();
    const state = toPlainState(db.state);
    await db.close();
    expect(made.manifest.encryption).toEqual({ scheme: 'age', recipients: [], passphrase: true });
    const api = openRestore({ dataDir, config: archive });
    const none = (await api.fromLatest({ targetDir: path.join(r, 'none'), identity: { identities: [], passphrases: ['wrong'], source: 'test' } }).then(() => ({}), (e: unknown) => e)) as { code?: string };
    expect(none.code).toBe('DECRYPTION_FAILED');
    const target = path.join(r, 'restored');
    await api.fromLatest({ targetDir: target, identity: { identities: [], passphrases: ['correct horse battery staple'], source: 'BRI_AGE_PASSPHRASE' } });
    await api.close();
    expect(toPlainState((await recover(target)).state)).toEqual(state);
  }, 120_000);
});

describe('time travel on archives encrypted with age', () => {
  it('read, history and diff with the identity; ENCRYPTION_KEY_MISSING without it', async () => {
    const { dataDir, key, archive, mid } = await encryptedDb();
    const api = openRestore({ dataDir, config: archive });
    const env = { ...process.env };
    delete process.env.BRI_AGE_IDENTITY;
    try {
      const r = await api.read('USER_1', { at: mid, identity: key.file });
      expect(JSON.parse(r.document!)).toEqual({ name: `${SECRET}-1`, i: 1 });
      const h = await api.history('USER_3', { identity: key.file });
      expect(h.entries.map((e) => e.action)).toEqual(['SET', 'SET', 'DELETE']);
      const d = await api.diff({ at: mid, identity: key.file });
      expect(d.removed).toEqual(['USER_3']);
      expect(d.changed).toHaveLength(29);
      const missing = await api.read('USER_1', { at: mid }).then(() => null, (e: unknown) => e as { code: string });
      expect(missing?.code).toBe('ENCRYPTION_KEY_MISSING');
    } finally {
      process.env = env;
      await api.close();
    }
  });
});
