/**
 * compressSealed: zstd on the worker thread, age on this one, straight into the staged file. The
 * stored bytes decrypt and decompress to the input; sizes and hashes are those the manifest records
 * (stored: the ciphertext; original and content: the plaintext); a failure leaves no file.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { decompress } from 'zstd-napi';
import { compressSealed } from '../../../src/archive/create/encrypt-member.js';
import { decryptChunks } from '../../../src/archive/crypto/age-stream.js';
import { ONE_SHOT_MAX } from '../../../src/archive/package/compress-worker.js';
import { ErrorCodes, isBriError } from '../../../src/errors.js';
import { makeTempDir } from '../../support/fixtures.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function chunksOf(total: number, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < total; at += size, i++) {
    const b = Buffer.allocUnsafeSlow(Math.min(size, total - at));
    for (let j = 0; j < b.length; j++) b[j] = 97 + ((i * 7 + j * 13) % 23);
    out.push(b);
  }
  return out;
}

async function* from(chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

async function keys() {
  const identity = await generateIdentity();
  return { to: { recipients: [await identityToRecipient(identity)] }, id: { identities: [identity], passphrases: [], source: 'test' } };
}

async function opened(file: string, id: Awaited<ReturnType<typeof keys>>['id']): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of decryptChunks(fs.createReadStream(file), id, path.basename(file))) parts.push(c);
  return decompress(Buffer.concat(parts));
}

describe('compressSealed', () => {
  it('a small member (one shot) and a large one (streamed) are stored as age of the zstd frame, the stored bytes and the plaintext both measured', async () => {
    const dir = await makeTempDir();
    const { to, id } = await keys();
    for (const [name, total, level, workers] of [
      ['small', 100_000, 19, 2],
      ['large', ONE_SHOT_MAX + 3 * 65536, 1, 0],
    ] as const) {
      const chunks = chunksOf(total, 65536);
      const plain = Buffer.concat(chunks);
      const file = path.join(dir, `${name}.zst.age`);
      const r = await compressSealed(from(chunks), file, level, workers, to, { owned: true });
      const stored = await fsp.readFile(file);
      expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
      expect(r.compressedSize).toBe(stored.length);
      expect(r.sha256).toBe(sha(stored));
      expect(r.originalSize).toBe(total);
      expect(r.contentSha256).toBe(sha(plain));
      expect((await opened(file, id)).equals(plain)).toBe(true);
      expect(await fsp.readdir(dir)).not.toContain(`${name}.zst`);
    }
  }, 60_000);

  it("an input that fails: its own error goes up, the staged file is removed, and the thread still serves the next member", async () => {
    const dir = await makeTempDir();
    const { to, id } = await keys();
    const boom = new Error('the input broke');
    async function* failing(): AsyncGenerator<Buffer> {
      yield* chunksOf(ONE_SHOT_MAX + 65536, 65536);
      throw boom;
    }
    const file = path.join(dir, 'm.zst.age');
    await expect(compressSealed(failing(), file, 1, 0, to, { owned: true })).rejects.toBe(boom);
    expect(fs.existsSync(file)).toBe(false);
    const plain = Buffer.from('after a failure\n');
    await compressSealed(from([Buffer.from(plain)]), file, 3, 0, to);
    expect((await opened(file, id)).equals(plain)).toBe(true);
  }, 60_000);

  it('a staged file that cannot be written is a typed IO_ERROR naming it, not an untyped error', async () => {
    const dir = await makeTempDir();
    const { to } = await keys();
    const file = path.join(dir, 'missing-folder', 'm.zst.age');
    const err = await compressSealed(from(chunksOf(200_000, 65536)), file, 3, 0, to).catch((e: unknown) => e);
    expect(isBriError(err, ErrorCodes.IO_ERROR), String(err)).toBe(true);
    expect(String((err as Error).message)).toContain('m.zst.age');
  });
});
