/**
 * The age primitives: recipients and identities, streaming encrypt/decrypt (round trips, every
 * error mapping, bounded memory), header-only rekeying, and interop with the `age` CLI both ways
 * (skipped, saying why, when `age`/`age-keygen` are not installed).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateHybridIdentity, generateIdentity, identityToRecipient } from 'age-encryption';
import { beforeAll, describe, expect, it } from 'vitest';
import { identityRecipients, loadIdentity, parseIdentityText, recipientProblem, type AgeIdentity } from '../../../src/archive/crypto/age-keys.js';
import { ageHeaderLength, rekeyHeader } from '../../../src/archive/crypto/age-rekey.js';
import { decryptChunks, encryptChunks, encryptFile, isAgeFile } from '../../../src/archive/crypto/age-stream.js';
import { BriError } from '../../../src/errors.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { flipByte, requireTools } from '../../support/tools.js';

const tempDir = useTempDirs('bri-age-');
const hasAge = requireTools('age', 'age-keygen');
const MEMBER = 'wal/000001.wal.zst.age';

async function* pieces(buf: Uint8Array, size = 10_000): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield Buffer.from(buf.subarray(i, i + size));
}
async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of gen) out.push(c);
  return Buffer.concat(out);
}
const idOf = (...identities: string[]): AgeIdentity => ({ identities, passphrases: [], source: 'test-key' });
const encrypt = (plain: Uint8Array, to: { recipients: string[]; passphrase?: string }) => collect(encryptChunks(pieces(plain), to));
const decrypt = (stored: Uint8Array, id: AgeIdentity | null, member = MEMBER) => collect(decryptChunks(pieces(stored, 7_000), id, member));
function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0, x = seed; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

/** The file with one character of its header MAC changed to another base64 letter (still a well-formed header). */
function macTampered(file: Buffer): Buffer {
  const b = Buffer.from(file);
  const at = ageHeaderLength(b, MEMBER) - 10; // inside the 43 MAC characters, not the last one (it holds padding bits)
  b[at] = b[at] === 0x41 ? 0x42 : 0x41;
  return b;
}

/** Rejects with a BriError of `code` naming the member, and (when given) not quoting `secret`. */
async function expectBri(p: Promise<unknown>, code: string, member = MEMBER, secret?: string): Promise<BriError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(BriError);
  const e = err as BriError;
  expect(e.code, e.message).toBe(code);
  expect(e.message).toContain(member);
  if (secret !== undefined) expect(JSON.stringify(e.toJSON())).not.toContain(secret);
  return e;
}

let keyA: string, keyB: string, recA: string, recB: string, stored: Buffer;
const plain = bytes(200_000);
beforeAll(async () => {
  [keyA, keyB] = [await generateIdentity(), await generateIdentity()];
  [recA, recB] = [await identityToRecipient(keyA), await identityToRecipient(keyB)];
  stored = await encrypt(plain, { recipients: [recA] });
});

describe('recipients and identities', () => {
  it('recipientProblem accepts X25519 and hybrid recipients, and rejects the rest without quoting secrets', async () => {
    expect(recipientProblem(recA)).toBeNull();
    expect(recipientProblem(await identityToRecipient(await generateHybridIdentity()))).toBeNull();
    const badChecksum = recA.slice(0, -1) + (recA.endsWith('q') ? 'p' : 'q');
    for (const bad of [badChecksum, recA.slice(0, 20), '', 'ssh-ed25519 AAAA', 'age1tag1qqqq', ` ${recA}`]) expect(recipientProblem(bad), bad).toMatch(/./);
    const msg = recipientProblem(keyA);
    expect(msg).toMatch(/secret key/);
    expect(msg).not.toContain(keyA);
  });

  it('parseIdentityText reads age-keygen files and refuses files without a valid identity', () => {
    const text = `# created: 2024-01-01T00:00:00Z\n# public key: ${recA}\n${keyA}\n\n${keyB}\r\n`;
    expect(parseIdentityText(text, 'k.txt')).toEqual({ identities: [keyA, keyB], passphrases: [], source: 'k.txt' });
    for (const t of ['', '# only a comment\n']) {
      expect(() => parseIdentityText(t, 'k.txt')).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringMatching(/age-keygen/) }));
    }
    const damaged = keyA.slice(0, -2) + (keyA.endsWith('QQ') ? 'PP' : 'QQ');
    const err = (() => { try { parseIdentityText(`${keyA}\n${damaged}\n`, 'k.txt'); } catch (e) { return e as BriError; } })();
    expect(err).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/k\.txt, line 2/) });
    expect(JSON.stringify(err)).not.toContain(damaged.slice(20));
  });

  it('loadIdentity: a file, BRI_AGE_IDENTITY as a path or as the key, BRI_AGE_PASSPHRASE, nothing, an unreadable file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'key.txt');
    await fsp.writeFile(file, `# public key: ${recA}\n${keyA}\n`);
    expect(await loadIdentity({ identityFile: file, env: {} })).toEqual({ identities: [keyA], passphrases: [], source: file });
    expect(await loadIdentity({ env: { BRI_AGE_IDENTITY: file } })).toMatchObject({ identities: [keyA], source: file });
    expect(await loadIdentity({ env: { BRI_AGE_IDENTITY: `${keyB}\n` } })).toEqual({ identities: [keyB], passphrases: [], source: 'BRI_AGE_IDENTITY' });
    expect(await loadIdentity({ env: { BRI_AGE_PASSPHRASE: 'pw' } })).toEqual({ identities: [], passphrases: ['pw'], source: 'BRI_AGE_PASSPHRASE' });
    expect(await loadIdentity({ identityFile: file, env: { BRI_AGE_IDENTITY: keyB, BRI_AGE_PASSPHRASE: 'pw' } })).toMatchObject({ identities: [keyA], passphrases: ['pw'] });
    expect(await loadIdentity({ env: {} })).toBeNull();
    const missing = path.join(dir, 'nope.txt');
    await expect(loadIdentity({ identityFile: missing, env: {} })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(missing) });
    await expect(loadIdentity({ env: { BRI_AGE_IDENTITY: missing } })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('BRI_AGE_IDENTITY') });
    expect(await identityRecipients(idOf(keyA, keyB))).toEqual([recA, recB]);
  });
});

describe('encrypt and decrypt', () => {
  it('X25519, two recipients: each identity decrypts; encryptFile writes the same format and reports its size and sha256', async () => {
    const two = await encrypt(plain, { recipients: [recA, recB] });
    expect(isAgeFile(two)).toBe(true);
    expect((await decrypt(two, idOf(keyA))).equals(plain)).toBe(true);
    expect((await decrypt(two, idOf(keyB))).equals(plain)).toBe(true);
    const dir = await tempDir();
    await fsp.writeFile(path.join(dir, 'in.zst'), plain);
    const r = await encryptFile(path.join(dir, 'in.zst'), path.join(dir, 'out.zst.age'), { recipients: [recA, recB] });
    const file = await fsp.readFile(path.join(dir, 'out.zst.age'));
    expect(r).toEqual({ size: file.length, sha256: createHash('sha256').update(file).digest('hex') });
    expect((await decrypt(file, idOf(keyB))).equals(plain)).toBe(true);
  });

  it('hybrid post-quantum recipient; empty and chunk-boundary plaintexts', async () => {
    const pq = await generateHybridIdentity();
    const f = await encrypt(plain, { recipients: [await identityToRecipient(pq)] });
    expect((await decrypt(f, idOf(pq))).equals(plain)).toBe(true);
    for (const n of [0, 1, 65_536, 131_072]) expect((await decrypt(await encrypt(bytes(n), { recipients: [recA] }), idOf(keyA))).equals(bytes(n))).toBe(true);
  });

  it('passphrase (scrypt, the default work factor), from a file', async () => {
    const dir = await tempDir();
    await fsp.writeFile(path.join(dir, 'in'), 'small member');
    await encryptFile(path.join(dir, 'in'), path.join(dir, 'out.age'), { recipients: [], passphrase: 'correct horse battery staple' });
    const f = await fsp.readFile(path.join(dir, 'out.age'));
    expect((await decrypt(f, { identities: [keyA], passphrases: ['correct horse battery staple'], source: 'env' })).toString()).toBe('small member');
    const e = await expectBri(decrypt(f, idOf(keyA)), 'DECRYPTION_FAILED');
    expect(e.hint).toMatch(/BRI_AGE_PASSPHRASE/);
  });

  it('bad recipients are USAGE before anything is written; a failed encryptFile leaves no file', async () => {
    for (const to of [{ recipients: [] }, { recipients: [recA], passphrase: 'x' }, { recipients: ['age1nope'] }, { recipients: [keyA] }]) {
      await expect(encrypt(plain, to)).rejects.toMatchObject({ code: 'USAGE' });
    }
    const dir = await tempDir();
    const out = path.join(dir, 'out.age');
    await expect(encryptFile(path.join(dir, 'missing'), out, { recipients: [recA] })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(fsp.stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('decrypt errors', () => {
  it('no identity: ENCRYPTION_KEY_MISSING before anything is read or yielded', async () => {
    let pulled = false;
    const input = (async function* () { pulled = true; yield stored; })();
    const e = await expectBri(collect(decryptChunks(input, null, MEMBER)), 'ENCRYPTION_KEY_MISSING');
    expect(e.hint).toMatch(/--identity FILE|BRI_AGE_IDENTITY/);
    expect(pulled).toBe(false);
  });

  it('wrong identity: DECRYPTION_FAILED with the member in details', async () => {
    const e = await expectBri(decrypt(stored, idOf(keyB)), 'DECRYPTION_FAILED', MEMBER, keyB);
    expect(e.details).toMatchObject({ member: MEMBER });
    expect(e.hint).toMatch(/other recipients/);
  });

  it('not an age file, a malformed header, an empty file: ARCHIVE_CORRUPTED', async () => {
    await expectBri(decrypt(bytes(5000), idOf(keyA)), 'ARCHIVE_CORRUPTED');
    await expectBri(decrypt(Buffer.from('age-encryption.org/v1\n-> X25519\n\n'), idOf(keyA)), 'ARCHIVE_CORRUPTED');
    await expectBri(decrypt(Buffer.alloc(0), idOf(keyA)), 'ARCHIVE_CORRUPTED');
  });

  it('a tampered payload byte, a tampered header MAC, truncation anywhere, trailing data: ARCHIVE_CORRUPTED with the repair hint', async () => {
    const h = ageHeaderLength(stored, MEMBER);
    const tamper = (at: number) => { const b = Buffer.from(stored); flipByte(b, at, 0x01); return b; };
    const badMac = macTampered(stored);
    const cases: [string, Buffer][] = [
      ['payload byte', tamper(h + 100_000)],
      ['last byte', tamper(stored.length - 1)],
      ['nonce byte', tamper(h + 3)],
      ['header MAC', badMac],
      ['within the header', stored.subarray(0, h - 5)],
      ['right after the header', stored.subarray(0, h + 8)],
      ['mid payload', stored.subarray(0, stored.length - 1000)],
      ['on a chunk boundary', stored.subarray(0, h + 16 + 65_536 + 16)],
      ['trailing data', Buffer.concat([stored, Buffer.from('x')])],
    ];
    for (const [what, bad] of cases) {
      const e = await expectBri(decrypt(bad, idOf(keyA)), 'ARCHIVE_CORRUPTED').catch((err: unknown) => { throw new Error(`${what}: ${String(err)}`); });
      expect(e.hint, what).toMatch(/repair/);
    }
    expect((await expectBri(decrypt(badMac, idOf(keyA)), 'ARCHIVE_CORRUPTED')).message).toMatch(/MAC/);
  });

  it("the input's own error goes through unchanged", async () => {
    const boom = new Error('disk gone');
    const failing = async function* () { yield stored.subarray(0, 80_000); throw boom; };
    await expect(collect(decryptChunks(failing(), idOf(keyA), MEMBER))).rejects.toBe(boom);
    await expect(collect(decryptChunks((async function* () { throw boom; })(), idOf(keyA), MEMBER))).rejects.toBe(boom);
    // A Node stream that fails before it is first read (ENOENT while the recipients are wrapped).
    const missing = createReadStream(path.join(await tempDir(), 'missing'));
    await expect(collect(encryptChunks(missing, { recipients: [recA] }))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('bounded memory', () => {
  it('64 MiB streams through encrypt and decrypt: output comes before the input is consumed, and the lag stays small', async () => {
    const MiB = 1 << 20;
    let consumed = 0;
    const plainSource = async function* () { for (let i = 0; i < 64; i++) yield Buffer.alloc(MiB, i); };
    const counted = async function* (src: AsyncIterable<Buffer>) { for await (const c of src) { consumed += c.length; yield c; } };
    const base = process.memoryUsage();
    let yielded = 0, firstAt = -1, maxLag = 0, peak = 0, ok = true;
    for await (const c of decryptChunks(counted(encryptChunks(plainSource(), { recipients: [recA] })), idOf(keyA), 'big.zst.age')) {
      if (firstAt < 0) firstAt = consumed;
      if (c[0] !== (yielded / MiB) >> 0 || c[c.length - 1] !== ((yielded + c.length - 1) / MiB) >> 0) ok = false;
      yielded += c.length;
      maxLag = Math.max(maxLag, consumed - yielded);
      const m = process.memoryUsage();
      peak = Math.max(peak, m.arrayBuffers - base.arrayBuffers);
    }
    expect(ok).toBe(true);
    expect(yielded).toBe(64 * MiB);
    // The exact check: output starts within the first MiB of input, and the pipeline never holds
    // more than 1 MiB in flight (it measures about 80 KB: one 64 KiB chunk and the header).
    expect(firstAt).toBeLessThan(MiB);
    expect(maxLag).toBeLessThan(MiB);
    // A coarse one: 192 MiB pass through (plain, stored, decrypted) and garbage waits for the GC
    // (about 40 MiB seen), but buffering the whole file would keep 128 MiB and more alive.
    expect(peak).toBeLessThan(96 * MiB);
  });
});

describe('rekey', () => {
  it('ageHeaderLength finds the end of the header, or says the member is damaged', () => {
    const h = ageHeaderLength(stored, MEMBER);
    expect(stored.subarray(0, h).toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> X25519 [^\n]+\n[^\n]+\n--- [A-Za-z0-9+/]{43}\n$/);
    expect(() => ageHeaderLength(stored.subarray(0, h - 1), MEMBER)).toThrow(expect.objectContaining({ code: 'ARCHIVE_CORRUPTED', message: expect.stringContaining(MEMBER) }));
    expect(() => ageHeaderLength(bytes(100), MEMBER)).toThrow(expect.objectContaining({ code: 'ARCHIVE_CORRUPTED' }));
  });

  it('rewrites the header only: the payload bytes are kept, the new identity decrypts, the old one no longer does', async () => {
    const pq = await generateHybridIdentity();
    const { header, oldHeaderLength } = await rekeyHeader(stored.subarray(0, 65_536), idOf(keyA), { recipients: [recB, await identityToRecipient(pq)] }, MEMBER);
    expect(oldHeaderLength).toBe(ageHeaderLength(stored, MEMBER));
    const rekeyed = Buffer.concat([header, stored.subarray(oldHeaderLength)]);
    expect(rekeyed.subarray(ageHeaderLength(rekeyed, MEMBER)).equals(stored.subarray(oldHeaderLength))).toBe(true);
    expect((await decrypt(rekeyed, idOf(keyB))).equals(plain)).toBe(true);
    expect((await decrypt(rekeyed, idOf(pq))).equals(plain)).toBe(true);
    await expectBri(decrypt(rekeyed, idOf(keyA)), 'DECRYPTION_FAILED');
  });

  it('to a passphrase', async () => {
    const { header, oldHeaderLength } = await rekeyHeader(stored, idOf(keyA), { recipients: [], passphrase: 'new pass' }, MEMBER);
    const rekeyed = Buffer.concat([header, stored.subarray(oldHeaderLength)]);
    expect((await decrypt(rekeyed, { identities: [], passphrases: ['new pass'], source: 'env' })).equals(plain)).toBe(true);
  });

  it('errors: no identity, a wrong one, a damaged header, not age, bad recipients', async () => {
    const to = { recipients: [recB] };
    await expectBri(rekeyHeader(stored, null, to, MEMBER), 'ENCRYPTION_KEY_MISSING');
    await expectBri(rekeyHeader(stored, idOf(keyB), to, MEMBER), 'DECRYPTION_FAILED');
    expect((await expectBri(rekeyHeader(macTampered(stored), idOf(keyA), to, MEMBER), 'ARCHIVE_CORRUPTED')).message).toMatch(/MAC/);
    await expectBri(rekeyHeader(bytes(1000), idOf(keyA), to, MEMBER), 'ARCHIVE_CORRUPTED');
    await expect(rekeyHeader(stored, idOf(keyA), { recipients: ['age1bad'] }, MEMBER)).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe.skipIf(!hasAge)('interop with the age CLI', () => {
  const run = (args: string[]) => spawnSync(args[0]!, args.slice(1), { encoding: 'buffer' });
  async function keygen(dir: string, name: string): Promise<{ file: string; recipient: string; id: AgeIdentity }> {
    const file = path.join(dir, name);
    expect(run(['age-keygen', '-o', file]).status).toBe(0);
    const id = (await loadIdentity({ identityFile: file, env: {} }))!;
    return { file, recipient: run(['age-keygen', '-y', file]).stdout.toString().trim(), id };
  }

  it('age -d reads what encryptFile writes, and decryptChunks reads what age -r writes', async () => {
    const dir = await tempDir();
    const k = await keygen(dir, 'key.txt');
    expect((await identityRecipients(k.id))[0]).toBe(k.recipient);
    await fsp.writeFile(path.join(dir, 'in'), plain);
    await encryptFile(path.join(dir, 'in'), path.join(dir, 'ours.age'), { recipients: [k.recipient, recB] });
    const d = run(['age', '-d', '-i', k.file, '-o', path.join(dir, 'back'), path.join(dir, 'ours.age')]);
    expect(d.status, d.stderr.toString()).toBe(0);
    expect((await fsp.readFile(path.join(dir, 'back'))).equals(plain)).toBe(true);
    const e = run(['age', '-r', k.recipient, '-o', path.join(dir, 'theirs.age'), path.join(dir, 'in')]);
    expect(e.status, e.stderr.toString()).toBe(0);
    expect((await decrypt(await fsp.readFile(path.join(dir, 'theirs.age')), k.id)).equals(plain)).toBe(true);
  });

  it('a rekeyed file decrypts with age -d -i NEWKEY and fails with the old key', async () => {
    const dir = await tempDir();
    const [oldK, newK] = [await keygen(dir, 'old.txt'), await keygen(dir, 'new.txt')];
    await fsp.writeFile(path.join(dir, 'in'), plain);
    const e = run(['age', '-r', oldK.recipient, '-o', path.join(dir, 'f.age'), path.join(dir, 'in')]);
    expect(e.status, e.stderr.toString()).toBe(0);
    const f = await fsp.readFile(path.join(dir, 'f.age'));
    const { header, oldHeaderLength } = await rekeyHeader(f, oldK.id, { recipients: [newK.recipient] }, 'f.age');
    await fsp.writeFile(path.join(dir, 'g.age'), Buffer.concat([header, f.subarray(oldHeaderLength)]));
    const ok = run(['age', '-d', '-i', newK.file, '-o', path.join(dir, 'back'), path.join(dir, 'g.age')]);
    expect(ok.status, ok.stderr.toString()).toBe(0);
    expect((await fsp.readFile(path.join(dir, 'back'))).equals(plain)).toBe(true);
    const no = run(['age', '-d', '-i', oldK.file, '-o', path.join(dir, 'back2'), path.join(dir, 'g.age')]);
    expect(no.status).not.toBe(0);
    expect(no.stderr.toString()).toMatch(/no identity matched/);
  });
});
