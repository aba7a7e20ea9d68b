import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBriError } from '../../../src/errors.js';
import { createPar2, readPar2Set, repairPar2, verifyPar2 } from '../../../src/archive/par2/index.js';
import { decodeHeader, packetKind } from '../../../src/archive/par2/packets.js';
import { FIXTURE_DIR, makeTempDir, pseudoRandomBytes, xorByte } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(async () => cleanup());

const fixture = (name: string): string => join(FIXTURE_DIR, name);
const FIXTURE_FILES = ['data.bin.par2', 'data.bin.vol0+1.par2', 'data.bin.vol1+2.par2', 'data.bin.vol3+2.par2'].map(fixture);

/** Offsets and kinds of the packets in a file (trusting lengths). */
function packetMap(buf: Buffer): { at: number; kind: string; length: number }[] {
  const out: { at: number; kind: string; length: number }[] = [];
  for (let at = 0; at < buf.length; ) {
    const h = decodeHeader(buf, at)!;
    out.push({ at, kind: packetKind(h.type), length: h.length });
    at += h.length;
  }
  return out;
}

describe('readPar2Set', () => {
  it("reads par2cmdline's index and volume files as one set", async () => {
    const set = await readPar2Set(FIXTURE_FILES);
    expect(set.blockSize).toBe(256);
    expect(set.sourceBlockCount).toBe(12);
    expect(set.files).toHaveLength(1);
    expect(set.files[0]).toMatchObject({ name: 'data.bin', length: 3000, firstBlock: 0, blockCount: 12 });
    expect(set.files[0]!.checksums?.length).toBe(12 * 20);
    expect(set.recoverySlices.map((s) => s.exponent)).toEqual([0, 1, 2, 3, 4]);
    expect(set.creator).toMatch(/par2cmdline/);
    expect(set.damagedPackets).toBe(0);
  });

  it('collapses duplicates: the same volume twice adds nothing', async () => {
    const set = await readPar2Set([...FIXTURE_FILES, fixture('data.bin.vol1+2.par2')]);
    expect(set.recoverySlices.map((s) => s.exponent)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects garbage, an empty file and recovery slices without a main packet with PAR2_INVALID', async () => {
    const garbage = join(dir, 'garbage.par2');
    await writeFile(garbage, pseudoRandomBytes(100_000, 5));
    const empty = join(dir, 'empty.par2');
    await writeFile(empty, '');
    const magicOnly = join(dir, 'magic.par2');
    await writeFile(magicOnly, Buffer.concat([Buffer.from('PAR2\0PKT'), Buffer.alloc(200, 0xff)]));
    for (const f of [garbage, empty, magicOnly, fixture('data.bin.vol0+1.par2').replace('vol0+1', 'missing')]) {
      const err = await readPar2Set([f]).catch((e: unknown) => e);
      expect(isBriError(err), f).toBe(true);
    }
    for (const f of [garbage, empty, magicOnly]) {
      expect(isBriError(await readPar2Set([f]).catch((e: unknown) => e), 'PAR2_INVALID')).toBe(true);
    }
  });

  it('finds packets inside a larger file, between garbage, given a byte range', async () => {
    const par2 = await readFile(fixture('data.bin.vol1+2.par2'));
    const container = join(dir, 'container.bin');
    const before = pseudoRandomBytes(777, 1);
    await writeFile(container, Buffer.concat([before, par2, pseudoRandomBytes(333, 2)]));
    const set = await readPar2Set([{ path: container, offset: 700, length: 77 + par2.length + 10 }]);
    expect(set.recoverySlices.map((s) => s.exponent)).toEqual([1, 2]);
    expect(set.recoverySlices[0]!.dataOffset).toBeGreaterThan(777);
  });

  it('survives damage to the par2 file itself: repeated critical packets stand in for broken ones', async () => {
    const bytes = pseudoRandomBytes(64_000, 11);
    const data = join(dir, 'd.bin');
    await writeFile(data, bytes);
    const par2 = join(dir, 'd.par2');
    await createPar2({ path: data, length: bytes.length, name: 'd.bin' }, par2, { blockSize: 1024, recoveryBlockCount: 8 });

    // Break the first copy of every critical packet and two recovery packets.
    const buf = await readFile(par2);
    const map = packetMap(buf);
    const firstCopy = map.slice(0, 4);
    expect(firstCopy.map((p) => p.kind)).toEqual(['main', 'fileDesc', 'ifsc', 'creator']);
    for (const p of firstCopy) xorByte(buf, p.at + p.length - 1, 0x5a);
    const recovery = map.filter((p) => p.kind === 'recovery');
    xorByte(buf, recovery[0]!.at + 100, 1);
    xorByte(buf, recovery[5]!.at + 3, 1); // inside the magic: the packet is not even found
    await writeFile(par2, buf);

    const set = await readPar2Set([par2]);
    expect(set.damagedPackets).toBe(5);
    expect(set.files[0]!.name).toBe('d.bin');
    expect(set.recoverySlices.map((s) => s.exponent)).toEqual([1, 2, 3, 4, 6, 7]);

    // Still enough to repair six damaged slices.
    const damaged = Buffer.from(bytes);
    for (const b of [0, 9, 20, 33, 50, 62]) xorByte(damaged, b * 1024 + 17, 0xff);
    const target = join(dir, 'damaged.bin');
    await writeFile(target, damaged);
    const set2 = await readPar2Set([par2]);
    const v = await verifyPar2(set2, { path: target, name: 'd.bin' });
    expect(v.damagedBlocks).toEqual([0, 9, 20, 33, 50, 62]);
    expect(v.repairable).toBe(true);
    await repairPar2(set2, { path: target }, join(dir, 'fixed.bin'));
    expect(await readFile(join(dir, 'fixed.bin'))).toEqual(bytes);
  });

  it('ignores packets of another recovery set mixed in', async () => {
    const a = join(dir, 'a.bin');
    await writeFile(a, pseudoRandomBytes(5000, 1));
    await createPar2({ path: a, length: 5000, name: 'a.bin' }, join(dir, 'a.par2'), { recoveryBlockCount: 3 });
    await copyFile(fixture('data.bin.vol0+1.par2'), join(dir, 'other.par2'));
    const set = await readPar2Set([join(dir, 'a.par2'), join(dir, 'other.par2')]);
    expect(set.files.map((f) => f.name)).toEqual(['a.bin']);
    expect(set.recoverySlices).toHaveLength(3);
  });
});
