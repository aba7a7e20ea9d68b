/**
 * The age work on a worker thread answers as the main-thread functions do: the same bytes, the
 * same errors naming the member, and a reader that stops early leaves nothing running.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { parseIdentityText } from '../../../src/archive/crypto/age-keys.js';
import { decryptChunks, encryptChunks } from '../../../src/archive/crypto/age-stream.js';
import { decryptChunksOffThread, encryptFileOffThread } from '../../../src/archive/crypto/age-worker.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-age-worker-');

async function* pieces(buf: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield buf.subarray(at, at + n);
    at += n;
  }
}

async function all(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function keys() {
  const id = await generateIdentity();
  return { identity: parseIdentityText(id, 'test'), to: { recipients: [await identityToRecipient(id)] } };
}

describe('age on a worker thread', () => {
  it('decrypts what the main thread encrypts, in any piece sizes, and encrypts a file the main thread decrypts', async () => {
    const { identity, to } = await keys();
    const plain = randomBytes(3 * 1024 * 1024 + 123);
    const sealed = await all(encryptChunks(pieces(plain, [1 << 20]), to));
    for (const sizes of [[7, 70_000, 1], [65_536], [1 << 20, 13]]) expect((await all(decryptChunksOffThread(pieces(sealed, sizes), identity, 'wal/000001.wal.zst.age'))).equals(plain)).toBe(true);
    const dir = await tmp();
    await fsp.writeFile(path.join(dir, 'in'), plain);
    const r = await encryptFileOffThread(path.join(dir, 'in'), path.join(dir, 'out'), to, true);
    const written = await fsp.readFile(path.join(dir, 'out'));
    expect(r.size).toBe(written.length);
    expect((await all(decryptChunks(pieces(written, [1 << 20]), identity, 'm'))).equals(plain)).toBe(true);
  });

  it('says what the main-thread decryption says: no identity, another identity, a damaged payload, a truncated file', async () => {
    const { identity, to } = await keys();
    const other = await keys();
    const sealed = await all(encryptChunks(pieces(randomBytes(200_000), [1 << 20]), to));
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; message?: string }) => `${e.code} ${e.message?.includes('wal/000002') ? 'named' : 'unnamed'}`);
    const run = (bytes: Buffer, id: typeof identity | null) => all(decryptChunksOffThread(pieces(bytes, [65_536]), id, 'wal/000002.wal.zst.age'));
    expect(await code(run(sealed, null))).toBe('ENCRYPTION_KEY_MISSING named');
    expect(await code(run(sealed, other.identity))).toBe('DECRYPTION_FAILED named');
    const damaged = Buffer.from(sealed);
    damaged[damaged.length - 1000] = damaged[damaged.length - 1000]! ^ 1;
    expect(await code(run(damaged, identity))).toBe('ARCHIVE_CORRUPTED named');
    expect(await code(run(sealed.subarray(0, sealed.length - 17), identity))).toBe('ARCHIVE_CORRUPTED named');
    expect(await code(run(sealed.subarray(0, 200), identity))).toMatch(/^ARCHIVE_CORRUPTED named$/);
  });

  it('a reader that stops early ends the job (the next one runs)', async () => {
    const { identity, to } = await keys();
    const sealed = await all(encryptChunks(pieces(randomBytes(2 * 1024 * 1024), [1 << 20]), to));
    for await (const c of decryptChunksOffThread(pieces(sealed, [65_536]), identity, 'm')) {
      expect(c.length).toBeGreaterThan(0);
      break;
    }
    expect((await all(decryptChunksOffThread(pieces(sealed, [65_536]), identity, 'm'))).length).toBe(2 * 1024 * 1024);
  });
});
