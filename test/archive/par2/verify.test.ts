import { truncate, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBriError } from '../../../src/errors.js';
import { createPar2, readPar2Set, SliceHasher, verifyPar2, type KnownSlices, type Par2Set } from '../../../src/archive/par2/index.js';
import { FIXTURE_DIR, makeTempDir, pseudoRandomBytes, xorByte } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(async () => cleanup());

async function setup(length: number, blockSize: number, recoveryBlockCount: number): Promise<{ data: string; bytes: Buffer; set: Par2Set }> {
  const bytes = pseudoRandomBytes(length, length);
  const data = join(dir, 'data.bin');
  await writeFile(data, bytes);
  await createPar2({ path: data, length, name: 'data.bin' }, join(dir, 'data.par2'), { blockSize, recoveryBlockCount });
  return { data, bytes, set: await readPar2Set([join(dir, 'data.par2')]) };
}

describe('verifyPar2', () => {
  it('finds an intact range intact', async () => {
    const { data, set } = await setup(10_000, 512, 2);
    expect(await verifyPar2(set, { path: data })).toEqual({
      name: 'data.bin',
      expectedLength: 10_000,
      dataLength: 10_000,
      totalBlocks: 20,
      damagedBlocks: [],
      missingBlocks: 0,
      recoveryBlocksAvailable: 2,
      repairable: true,
      intact: true,
    });
  });

  it("checks par2cmdline's set against its data file", async () => {
    const set = await readPar2Set([join(FIXTURE_DIR, 'data.bin.par2')]);
    const v = await verifyPar2(set, { path: join(FIXTURE_DIR, 'data.bin') });
    expect(v).toMatchObject({ intact: true, totalBlocks: 12, recoveryBlocksAvailable: 0 });
  });

  it('names the damaged slices and says whether they can be rebuilt', async () => {
    const { data, bytes, set } = await setup(10_000, 512, 2);
    const damaged = Buffer.from(bytes);
    xorByte(damaged, 600, 1); // slice 1
    xorByte(damaged, 9_999, 1); // the last, partial slice
    await writeFile(data, damaged);
    expect(await verifyPar2(set, { path: data })).toMatchObject({ damagedBlocks: [1, 19], repairable: true, intact: false });
    xorByte(damaged, 3000, 1); // slice 5: three lost, two recovery slices
    await writeFile(data, damaged);
    expect(await verifyPar2(set, { path: data })).toMatchObject({ damagedBlocks: [1, 5, 19], repairable: false });
  });

  it('counts slices past a truncation as missing', async () => {
    const { data, set } = await setup(10_000, 512, 4);
    await truncate(data, 9_000); // slices 17 (partly), 18, 19 are gone
    expect(await verifyPar2(set, { path: data })).toMatchObject({
      dataLength: 9_000,
      damagedBlocks: [17, 18, 19],
      missingBlocks: 3,
      repairable: true,
      intact: false,
    });
    // A range that claims more bytes than the file has is truncated the same way.
    expect(await verifyPar2(set, { path: data, length: 10_000 })).toMatchObject({ damagedBlocks: [17, 18, 19] });
  });

  it('reports a longer range as not intact but repairable (the extra bytes go)', async () => {
    const { data, set } = await setup(10_000, 512, 1);
    await appendFile(data, 'trailing');
    expect(await verifyPar2(set, { path: data })).toMatchObject({ dataLength: 10_008, damagedBlocks: [], intact: false, repairable: true });
    expect((await verifyPar2(set, { path: data, length: 10_000 })).intact).toBe(true);
  });

  it('checks the whole-range MD5 only when asked', async () => {
    const { data, set } = await setup(10_000, 512, 1);
    expect((await verifyPar2(set, { path: data }, { checkFileMd5: true })).intact).toBe(true);
    // A set whose recorded whole-file MD5 disagrees with slices that all match.
    const forged: Par2Set = { ...set, files: [{ ...set.files[0]!, md5: Buffer.alloc(16) }] };
    expect((await verifyPar2(forged, { path: data })).intact).toBe(true);
    expect(await verifyPar2(forged, { path: data }, { checkFileMd5: true })).toMatchObject({ intact: false, damagedBlocks: [] });
  });

  it('needs a name for a multi-file set, and a known one', async () => {
    const { data, set } = await setup(1000, 512, 1);
    const two: Par2Set = { ...set, files: [set.files[0]!, { ...set.files[0]!, name: 'other', firstBlock: 2 }] };
    expect(isBriError(await verifyPar2(two, { path: data }).catch((e: unknown) => e), 'USAGE')).toBe(true);
    expect(isBriError(await verifyPar2(set, { path: data, name: 'nope' }).catch((e: unknown) => e), 'USAGE')).toBe(true);
    expect((await verifyPar2(two, { path: data, name: 'data.bin' })).intact).toBe(true);
    const noChecksums: Par2Set = { ...set, files: [{ ...set.files[0]!, checksums: undefined }] };
    expect(isBriError(await verifyPar2(noChecksums, { path: data }).catch((e: unknown) => e), 'PAR2_INVALID')).toBe(true);
  });

  it('takes slices hashed in an earlier pass as read, with the same verdict, and ignores them at another slice size', async () => {
    const { data, bytes, set } = await setup(10_000, 512, 3);
    /** What a pass over the file's bytes (in uneven reads, as a stream gives them) hashed of its whole slices. */
    const hashedBy = (file: Buffer, blockSize: number, upTo = file.length): KnownSlices => {
      const h = new SliceHasher(file.length, blockSize, undefined, true, false);
      for (let at = 0; at < upTo; at += 700) h.update(file.subarray(at, Math.min(upTo, at + 700)));
      return h.known();
    };
    const damaged = Buffer.from(bytes);
    xorByte(damaged, 600, 1); // slice 1, among the hashed ones
    xorByte(damaged, 9_999, 1); // the last, partial slice: never taken from the pass (it is padded), read again
    await writeFile(data, damaged);
    const known = hashedBy(damaged, 512);
    expect(known.slices).toBe(19);
    const plain = await verifyPar2(set, { path: data });
    expect(await verifyPar2(set, { path: data }, { known })).toEqual(plain);
    expect(plain).toMatchObject({ damagedBlocks: [1, 19], intact: false });
    // The pass saw damage the file no longer has (the check trusts the pass for the slices it hashed)...
    await writeFile(data, bytes);
    expect((await verifyPar2(set, { path: data }, { known })).damagedBlocks).toEqual([1]);
    // ...and a pass cut short leaves the rest to be read: here the damage past it is found on disk.
    const early = hashedBy(bytes, 512, 3_000);
    expect(early.slices).toBe(5);
    const later = Buffer.from(bytes);
    xorByte(later, 8_000, 1); // slice 15
    await writeFile(data, later);
    expect((await verifyPar2(set, { path: data }, { known: early })).damagedBlocks).toEqual([15]);
    // Slices of another size (a manifest that lies about it) are not the set's: the file is read as without them.
    await writeFile(data, bytes);
    const other = hashedBy(damaged, 1024);
    expect(await verifyPar2(set, { path: data }, { known: other })).toMatchObject({ damagedBlocks: [], intact: true });
    // A file now shorter than the pass saw: slices past its end are missing, whatever the pass hashed.
    await truncate(data, 9_000);
    expect(await verifyPar2(set, { path: data }, { known: hashedBy(bytes, 512) })).toMatchObject({ damagedBlocks: [17, 18, 19], missingBlocks: 3 });
  });
});
