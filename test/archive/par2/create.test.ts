import { copyFile, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBriError } from '../../../src/errors.js';
import { createPar2, readPar2Set, verifyPar2 } from '../../../src/archive/par2/index.js';
import { chooseSliceLayout } from '../../../src/archive/par2/layout.js';
import { decodeHeader, packetKind } from '../../../src/archive/par2/packets.js';
import { FIXTURE_DIR, makeTempDir, pseudoRandomBytes } from './helpers.js';

/** All packets of a file, by kind, as raw bytes (trusting lengths). */
function packetsOf(buf: Buffer): { kind: string; bytes: Buffer }[] {
  const out: { kind: string; bytes: Buffer }[] = [];
  for (let at = 0; at < buf.length; ) {
    const h = decodeHeader(buf, at)!;
    out.push({ kind: packetKind(h.type), bytes: buf.subarray(at, at + h.length) });
    at += h.length;
  }
  return out;
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(async () => cleanup());

describe('createPar2', () => {
  it('writes the same packets as par2cmdline for the same slice size and recovery count (known answer)', async () => {
    const data = join(dir, 'data.bin');
    await copyFile(join(FIXTURE_DIR, 'data.bin'), data);
    const out = join(dir, 'ours.par2');
    const summary = await createPar2({ path: data, length: 3000, name: 'data.bin' }, out, { blockSize: 256, recoveryBlockCount: 5 });
    expect(summary).toMatchObject({ blockSize: 256, sourceBlockCount: 12, recoveryBlockCount: 5 });

    const ours = packetsOf(await readFile(out));
    const theirs = [
      ...packetsOf(await readFile(join(FIXTURE_DIR, 'data.bin.par2'))),
      ...packetsOf(await readFile(join(FIXTURE_DIR, 'data.bin.vol0+1.par2'))),
      ...packetsOf(await readFile(join(FIXTURE_DIR, 'data.bin.vol1+2.par2'))),
      ...packetsOf(await readFile(join(FIXTURE_DIR, 'data.bin.vol3+2.par2'))),
    ];
    const theirSet = new Set(theirs.filter((p) => p.kind !== 'creator').map((p) => p.bytes.toString('hex')));
    const ourPackets = ours.filter((p) => p.kind !== 'creator');
    for (const p of ourPackets) expect(theirSet.has(p.bytes.toString('hex')), `${p.kind} packet differs`).toBe(true);
    expect(ourPackets.filter((p) => p.kind === 'recovery')).toHaveLength(5);
    expect(summary.setId).toBe(decodeHeader(ours[0]!.bytes)!.setId.toString('hex'));
    expect(summary.par2Bytes).toBe((await stat(out)).size);
  });

  it('is deterministic: the same input and options give the same bytes, whatever the threads or memory', async () => {
    const data = join(dir, 'det.bin');
    await writeFile(data, pseudoRandomBytes(300_000, 12));
    const input = { path: data, length: 300_000, name: 'det.bin' };
    await createPar2(input, join(dir, 'a.par2'), { blockSize: 2052 });
    await createPar2(input, join(dir, 'b.par2'), { blockSize: 2052, threads: 2, memoryLimitBytes: 32 * 1024 });
    expect((await readFile(join(dir, 'a.par2'))).equals(await readFile(join(dir, 'b.par2')))).toBe(true);
  });

  it('repeats the critical packets at the start, between recovery packets and at the end', async () => {
    const data = join(dir, 'd.bin');
    await writeFile(data, pseudoRandomBytes(200_000, 7));
    const out = join(dir, 'd.par2');
    const s = await createPar2({ path: data, length: 200_000, name: 'd.bin' }, out, { blockSize: 1024, redundancy: 0.1 });
    const kinds = packetsOf(await readFile(out)).map((p) => p.kind);
    expect(s.recoveryBlockCount).toBe(20);
    expect(kinds.slice(0, 4)).toEqual(['main', 'fileDesc', 'ifsc', 'creator']);
    expect(kinds.slice(-4)).toEqual(['main', 'fileDesc', 'ifsc', 'creator']);
    const mains = kinds.filter((k) => k === 'main').length;
    expect(mains).toBeGreaterThanOrEqual(4); // 2 + interior copies (log2 of 20 recovery packets)
    expect(kinds.filter((k) => k === 'recovery')).toHaveLength(20);
    // An interior copy really sits between recovery packets.
    const firstRecovery = kinds.indexOf('recovery');
    expect(kinds.indexOf('main', firstRecovery)).toBeLessThan(kinds.lastIndexOf('recovery'));
  });

  it('protects a sub-range of a larger file, recorded under its own name', async () => {
    const bytes = pseudoRandomBytes(50_000, 3);
    const data = join(dir, 'container.tar');
    await writeFile(data, bytes);
    const out = join(dir, 'member.par2');
    await createPar2({ path: data, offset: 12_345, length: 20_000, name: 'member.bin' }, out, { redundancy: 0.2 });
    const set = await readPar2Set([out]);
    expect(set.files.map((f) => [f.name, f.length])).toEqual([['member.bin', 20_000]]);
    // The same bytes on their own verify as intact; the container's start does not.
    const alone = join(dir, 'member.bin');
    await writeFile(alone, bytes.subarray(12_345, 32_345));
    expect((await verifyPar2(set, { path: alone })).intact).toBe(true);
    expect((await verifyPar2(set, { path: data, offset: 12_345, length: 20_000 })).intact).toBe(true);
    expect((await verifyPar2(set, { path: data, offset: 0, length: 20_000 })).intact).toBe(false);
  });

  it('reports progress up to the total and writes nothing on failure', async () => {
    const data = join(dir, 'p.bin');
    await writeFile(data, pseudoRandomBytes(100_000, 1));
    const seen: [number, number][] = [];
    await createPar2({ path: data, length: 100_000, name: 'p.bin' }, join(dir, 'p.par2'), {
      onProgress: (d, t) => seen.push([d, t]),
      memoryLimitBytes: 16 * 1024, // forces a hashing pass and several column passes
    });
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0]);
    expect(seen.at(-1)![0]).toBe(seen.at(-1)![1]);

    const err = await createPar2({ path: data, length: 100_001, name: 'p.bin' }, join(dir, 'q.par2')).catch((e: unknown) => e);
    expect(isBriError(err, 'IO_ERROR')).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['p.bin', 'p.par2']);
  });

  it('stops with CANCELLED when aborted, leaving no file behind', async () => {
    const data = join(dir, 'c.bin');
    await writeFile(data, pseudoRandomBytes(300_000, 2));
    const ac = new AbortController();
    const err = await createPar2({ path: data, length: 300_000, name: 'c.bin' }, join(dir, 'c.par2'), {
      blockSize: 1024,
      signal: ac.signal,
      onProgress: () => ac.abort(),
    }).catch((e: unknown) => e);
    expect(isBriError(err, 'CANCELLED')).toBe(true);
    expect(await readdir(dir)).toEqual(['c.bin']);
  });


  it('computes the set while the range is being written: each read waits for its bytes, and the output is the same bytes as after', async () => {
    const bytes = pseudoRandomBytes(3_500_000, 31);
    const whole = join(dir, 'whole.bin');
    await writeFile(whole, bytes);
    // One pass (whole slices, read in windows), and several passes (narrow reads, each alone).
    for (const opts of [{ blockSize: 16384 }, { blockSize: 16384, threads: 2, memoryLimitBytes: 256 * 1024 }]) {
      const growing = join(dir, 'growing.bin');
      await writeFile(growing, Buffer.alloc(0));
      const fh = await open(growing, 'r+');
      let written = 0;
      const waiters: Array<{ end: number; go: () => void }> = [];
      let asked = 0;
      const ready = (end: number) => {
        asked++;
        // A read of bytes that are not on disk yet would give zeros (and a wrong set): it must wait.
        return end <= written ? Promise.resolve() : new Promise<void>((go) => waiters.push({ end, go }));
      };
      const made = createPar2({ path: growing, length: bytes.length, name: 'g.bin', ready }, join(dir, 'g.par2'), opts);
      // The writer: pieces of random sizes, a turn of the event loop between them.
      for (let at = 0; at < bytes.length; ) {
        const n = Math.min(bytes.length - at, 1 + ((at * 7919) % 90_000));
        await fh.write(bytes, at, n, at);
        at += n;
        written = at;
        for (const w of waiters.splice(0)) (w.end <= written ? w.go : () => waiters.push(w))();
        await new Promise((r) => setImmediate(r));
      }
      await fh.close();
      await made;
      expect(asked).toBeGreaterThan(3);
      await createPar2({ path: whole, length: bytes.length, name: 'g.bin' }, join(dir, 'after.par2'), opts);
      expect((await readFile(join(dir, 'g.par2'))).equals(await readFile(join(dir, 'after.par2')))).toBe(true);
    }
  });

  it('fails with what the wait gives when the bytes will not come, or IO_ERROR when the file falls short, leaving nothing behind', async () => {
    const data = join(dir, 'w.bin');
    await writeFile(data, pseudoRandomBytes(60_000, 4));
    const broken = new Error('the writer failed');
    const err = await createPar2({ path: data, length: 60_000, name: 'w.bin', ready: (end) => (end > 30_000 ? Promise.reject(broken) : Promise.resolve()) }, join(dir, 'w.par2'), { blockSize: 1024 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('the writer failed');
    const short = await createPar2({ path: data, length: 70_000, name: 'w.bin', ready: () => Promise.resolve() }, join(dir, 's.par2'), { blockSize: 1024 }).catch((e: unknown) => e);
    expect(isBriError(short, 'IO_ERROR')).toBe(true);
    expect(await readdir(dir)).toEqual(['w.bin']);
  });
  it('handles redundancy 0 and an empty range', async () => {
    const data = join(dir, 'z.bin');
    await writeFile(data, pseudoRandomBytes(5000, 9));
    const none = await createPar2({ path: data, length: 5000, name: 'z.bin' }, join(dir, 'z.par2'), { redundancy: 0 });
    expect(none.recoveryBlockCount).toBe(0);
    expect((await verifyPar2(await readPar2Set([join(dir, 'z.par2')]), { path: data })).intact).toBe(true);
    const empty = await createPar2({ path: data, length: 0, name: 'empty' }, join(dir, 'e.par2'));
    expect(empty).toMatchObject({ sourceBlockCount: 0, recoveryBlockCount: 0 });
    const set = await readPar2Set([join(dir, 'e.par2')]);
    expect((await verifyPar2(set, { path: data, length: 0 })).intact).toBe(true);
  });

  it('rejects bad options with USAGE', async () => {
    const data = join(dir, 'u.bin');
    await writeFile(data, Buffer.alloc(100));
    for (const opts of [{ blockSize: 6 }, { redundancy: 1.5 }, { recoveryBlockCount: -1 }, { blockSize: 4 * 0 }]) {
      const err = await createPar2({ path: data, length: 100, name: 'u' }, join(dir, 'u.par2'), opts).catch((e: unknown) => e);
      expect(isBriError(err, 'USAGE'), JSON.stringify(opts)).toBe(true);
    }
    const err = await createPar2({ path: data, length: 100, name: '' }, join(dir, 'u.par2')).catch((e: unknown) => e);
    expect(isBriError(err, 'USAGE')).toBe(true);
  });
});

describe('chooseSliceLayout', () => {
  it('aims at about 2000 slices of a multiple of 4 bytes, at least 512', () => {
    expect(chooseSliceLayout(200_000_000, { redundancy: 0.1 })).toEqual({ blockSize: 100_000, sourceBlockCount: 2000, recoveryBlockCount: 200 });
    expect(chooseSliceLayout(10_000, { redundancy: 0.1 })).toEqual({ blockSize: 512, sourceBlockCount: 20, recoveryBlockCount: 2 });
    const odd = chooseSliceLayout(1_000_001, { redundancy: 0.05 });
    expect(odd.blockSize % 4).toBe(0);
    expect(odd.sourceBlockCount).toBeLessThanOrEqual(2000);
    expect(chooseSliceLayout(100, { redundancy: 0.001 }).recoveryBlockCount).toBe(1);
    expect(chooseSliceLayout(1e12, { redundancy: 0.1 }).sourceBlockCount).toBeLessThanOrEqual(32768);
  });

  it('refuses more than 32768 source slices', () => {
    expect(() => chooseSliceLayout(32769 * 4, { redundancy: 0.1, blockSize: 4 })).toThrow(/32768/);
  });
});
