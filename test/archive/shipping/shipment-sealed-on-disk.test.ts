/**
 * An encrypted shipment is never on disk in the clear: zstd streams straight into age. It was compressed into a
 * plaintext `<file>.zst` in `<archiveDir>/.tmp/shipping-<instance>/` and encrypted afterwards, so a kill left WAL
 * lines readable there. The test looks at every file under the archive's tmp area each time age takes a piece.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it, vi } from 'vitest';
import { decompress } from 'zstd-napi';
import { useTempDirs } from '../../support/temp-dirs.js';

const watch = vi.hoisted(() => ({ root: '', secret: '', seen: [] as string[] }));

/** Every file under watch.root whose bytes, raw or unzstd'ed, hold the secret. */
function plaintextFiles(): string[] {
  const hits: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && holdsSecret(fs.readFileSync(p))) hits.push(p);
    }
  };
  if (watch.root && fs.existsSync(watch.root)) walk(watch.root);
  return hits;
}

function holdsSecret(bytes: Buffer): boolean {
  if (bytes.includes(watch.secret)) return true;
  try {
    return decompress(bytes).includes(watch.secret);
  } catch {
    return false;
  }
}

vi.mock('../../../src/archive/crypto/age-stream.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/archive/crypto/age-stream.js')>();
  async function* looking(plain: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const c of plain) {
      watch.seen.push(...plaintextFiles());
      yield c;
    }
  }
  return {
    ...real,
    encryptToFile: (plain: AsyncIterable<Uint8Array>, ...rest: Parameters<typeof real.encryptToFile> extends [unknown, ...infer R] ? R : never) => real.encryptToFile(looking(plain), ...rest),
    encryptFile: (...args: Parameters<typeof real.encryptFile>) => {
      watch.seen.push(...plaintextFiles());
      return real.encryptFile(...args);
    },
  };
});

const { sharedShipmentEncoder } = await import('../../../src/archive/shipping/shared-encoder.js');
const { linesDigest } = await import('../../../src/archive/shipping/shipment.js');

const tempDir = useTempDirs('bri-ship-sealed-');

describe('encrypted shipment on disk', () => {
  it('an encrypted shipment never leaves its lines in the clear in the shipping tmp dir, and its bytes decrypt and decompress to the lines', async () => {
    const archiveDir = await tempDir();
    const tmp = path.join(archiveDir, '.tmp');
    const dir = path.join(tmp, 'shipping-i-1');
    // What an older version's kill left: the plaintext staging file of another shipment (and another instance).
    fs.mkdirSync(path.join(tmp, 'shipping-i-2'), { recursive: true });
    const legacy = [path.join(tmp, 'shipping-i-2', '1-4-deadbeef.wal.zst.zst')];
    fs.writeFileSync(legacy[0]!, 'old plaintext');
    const identity = await generateIdentity();
    const to = { recipients: [await identityToRecipient(identity)] };
    watch.root = tmp;
    watch.secret = `secret-${randomBytes(12).toString('hex')}`;
    // Big enough for zstd's streaming path (several pieces handed to age), random enough not to shrink to nothing.
    const lines = Array.from({ length: 3000 }, (_, i) => `17000000000${i}|0000000${i % 10}|{"SET":"${watch.secret}-${randomBytes(24).toString('hex')}"}`);
    const header = { v: 1 as const, instanceId: 'i-1', firstLine: 11, lastLine: 11 + lines.length - 1, prevPointer: 'aaaaaaaa', firstPointer: 'bbbbbbbb', lastPointer: 'cccccccc', firstTimestamp: 1, lastTimestamp: 2, linesSha256: linesDigest(lines) };
    const encode = sharedShipmentEncoder(dir, to);
    const e = await encode(header, lines);
    expect(watch.seen, 'files holding the lines in the clear while encrypting').toEqual([]);
    expect(legacy.filter((f) => fs.existsSync(f)), 'an older version\'s plaintext staging files are swept').toEqual([]);
    expect(e.encrypted).toBe(true);
    const bytes = fs.readFileSync(e.file);
    expect(bytes.length).toBe(e.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.sha256);
    expect(plaintextFiles()).toEqual([]);
    // The object's bytes decrypt and decompress to the header and the lines, byte for byte.
    const { decryptChunks } = await import('../../../src/archive/crypto/age-stream.js');
    const parts: Buffer[] = [];
    for await (const c of decryptChunks(Readable.from([bytes]), { identities: [identity], passphrases: [], source: 'test' }, 'shipment')) parts.push(c);
    expect(decompress(Buffer.concat(parts)).toString('utf8')).toBe(JSON.stringify(header) + '\n' + lines.map((l) => `${l}\n`).join(''));
    await e.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
