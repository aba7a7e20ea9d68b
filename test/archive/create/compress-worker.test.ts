import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompress } from 'zstd-napi';
import { compressOffThread, ONE_SHOT_MAX } from '../../../src/archive/package/compress-worker.js';
import { computePointer } from '../../../src/format/pointer.js';
import { makeTempDir } from '../../support/fixtures.js';
import { ErrorCodes, asBriError } from '../../../src/errors.js';

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

describe('compressOffThread', () => {
  it('a small member (one shot) and a large one (streamed) are standard frames with content size, both sides hashed', async () => {
    const dir = await makeTempDir();
    for (const [name, total, level, workers] of [
      ['small', 100_000, 19, 2],
      ['large', ONE_SHOT_MAX + 3 * 65536, 1, 0],
    ] as const) {
      const chunks = chunksOf(total, 65536);
      const plain = Buffer.concat(chunks);
      const file = path.join(dir, `${name}.zst`);
      const r = await compressOffThread(from(chunks), file, level, workers, { sync: false, owned: true });
      const z = await fsp.readFile(file);
      expect(r.originalSize).toBe(total);
      expect(r.contentSha256).toBe(sha(plain));
      expect(r.compressedSize).toBe(z.length);
      expect(r.sha256).toBe(sha(z));
      // Frame header: the checksum flag (bit 2); a one-shot member declares its content size (a size field, or single segment).
      expect(z.readUInt32LE(0)).toBe(0xfd2fb528);
      expect(z[4]! & 4).toBe(4);
      if (name === 'small') expect((z[4]! >> 6 !== 0) || (z[4]! & 0x20) !== 0).toBe(true);
      expect(decompress(z).equals(plain)).toBe(true);
      // Owned chunks were transferred to the worker, not copied.
      expect(chunks.every((c) => c.buffer.byteLength === 0)).toBe(true);
    }
  });

  it("'whole': a chunk viewing part of memory of its own is transferred whole, and only its view is compressed", async () => {
    const dir = await makeTempDir();
    // Each chunk views [10, n - 7) of its own buffer, as a WAL chunk views its whole lines (the rest was the next line's start).
    const backing = chunksOf(300_000, 65536);
    const views = backing.map((b) => b.subarray(10, b.length - 7));
    const plain = Buffer.concat(views);
    const file = path.join(dir, 'w.zst');
    const r = await compressOffThread(from(views), file, 3, 0, { sync: false, owned: 'whole' });
    expect(r.originalSize).toBe(plain.length);
    expect(r.contentSha256).toBe(sha(plain));
    expect(decompress(await fsp.readFile(file)).equals(plain)).toBe(true);
    expect(backing.every((b) => b.buffer.byteLength === 0)).toBe(true);
    // Without 'whole', the same views are copied: their memory stays the caller's.
    const kept = chunksOf(100_000, 65536).map((b) => b.subarray(1));
    await compressOffThread(from(kept), path.join(dir, 'k.zst'), 3, 0, { sync: false, owned: true });
    expect(kept.every((b) => b.buffer.byteLength > 0)).toBe(true);
  });

  it('links: the hash chain inside the lines handed over is checked on the thread, in chunks of whole lines', async () => {
    const dir = await makeTempDir();
    let prev = '';
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const entry = JSON.stringify({ action: 'SET', target: `K${i}`, value: JSON.stringify({ v: i, pad: 'x'.repeat(i % 90) }) });
      prev = computePointer(prev, entry);
      lines.push(`${1_700_000_000_000 + i}|${prev}|${entry}`);
    }
    const chunksOfLines = (ls: string[]) => [ls.slice(0, 1000), ls.slice(1000, 1001), ls.slice(1001)].map((part) => Buffer.from(part.join('\n') + '\n'));
    const whole = await compressOffThread(from(chunksOfLines(lines)), path.join(dir, 'l.zst'), 3, 0, { sync: false, links: true });
    expect(whole.links).toMatchObject({ lines: 3000, unvouched: -1, lastPointer: prev, firstTimestamp: 1_700_000_000_000, lastTimestamp: 1_700_000_002_999 });
    // A value changed in place (its pointer not): the thread cannot vouch from that line on.
    const tampered = [...lines];
    tampered[1500] = tampered[1500]!.replace('\\"v\\":1500', '\\"v\\":1501');
    expect(tampered[1500]).not.toBe(lines[1500]);
    const bad = await compressOffThread(from(chunksOfLines(tampered)), path.join(dir, 't.zst'), 3, 0, { sync: false, links: true });
    expect(bad.links?.unvouched).toBe(1500);
    // Without links, nothing is said of them.
    expect((await compressOffThread(from(chunksOfLines(lines)), path.join(dir, 'n.zst'), 3, 0, { sync: false })).links).toBeUndefined();
  });

  it('copies chunks it does not own, and a failing input fails the call and leaves the worker usable', async () => {
    const dir = await makeTempDir();
    const chunks = chunksOf(200_000, 65536);
    const plain = Buffer.concat(chunks);
    const r = await compressOffThread(from(chunks), path.join(dir, 'a.zst'), 3, 0, { sync: false });
    expect(r.contentSha256).toBe(sha(plain));
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('abc');
      throw new Error('input broke');
    }
    await expect(compressOffThread(failing(), path.join(dir, 'b.zst'), 3, 0, { sync: false })).rejects.toThrow('input broke');
    const again = await compressOffThread(from([Buffer.from('hello')]), path.join(dir, 'c.zst'), 3, 0, { sync: false });
    expect(decompress(await fsp.readFile(path.join(dir, 'c.zst'))).toString()).toBe('hello');
    expect(again.originalSize).toBe(5);
  });

  it('a failing input rejects only once the thread has closed its file: the caller may then remove the file and its folder, and nothing makes them again', async () => {
    // A create removes its stage folder when a member's input fails: a file the thread opened after that removal
    // began made the removal fail (ENOTEMPTY) in place of the input's own error.
    for (let round = 0; round < 20; round++) {
      const dir = path.join(await makeTempDir(), 'stage');
      await fsp.mkdir(dir);
      const out = path.join(dir, 'seg.zst');
      async function* failingAtOnce(): AsyncGenerator<Buffer> {
        throw new Error('input broke');
      }
      await expect(compressOffThread(failingAtOnce(), out, 3, 0, { sync: false })).rejects.toThrow('input broke');
      await fsp.rm(out, { force: true });
      await new Promise((r) => setTimeout(r, 20));
      expect(await fsp.readdir(dir), `round ${round}`).toEqual([]);
      await fsp.rmdir(dir);
    }
  });

  it('a failed system call on the thread keeps its errno, call and path: a full disk or a missing folder is a typed IO_ERROR, not an untyped error', async () => {
    const dir = await makeTempDir();
    for (const [name, total] of [
      ['one-shot', 100_000],
      ['streamed', ONE_SHOT_MAX + 65536],
    ] as const) {
      const file = path.join(dir, 'missing', `${name}.zst`);
      const err = (await compressOffThread(from(chunksOf(total, 65536)), file, 3, 1, { sync: false }).catch((e: unknown) => e)) as NodeJS.ErrnoException;
      expect(err).toBeInstanceOf(Error);
      expect(err.code, name).toBe('ENOENT');
      expect(err.path, name).toBe(file);
      const typed = asBriError(err, 'archive create');
      expect(typed.code).toBe(ErrorCodes.IO_ERROR);
      expect(typed.details).toMatchObject({ errno: 'ENOENT', path: file });
      expect(typed.hint, name).toBeTruthy();
    }
  });
});
