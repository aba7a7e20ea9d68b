import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBriError } from '../../../src/errors.js';
import { createPar2, readPar2Set, repairPar2, verifyPar2 } from '../../../src/archive/par2/index.js';
import { makeTempDir, pseudoRandomBytes, xorByte } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(async () => cleanup());

type Damage =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'zero'; at: number; length: number }
  | { kind: 'truncate'; keep: number };

function applyDamage(original: Buffer, damage: Damage[]): Buffer {
  let out = Buffer.from(original);
  for (const d of damage) {
    if (out.length === 0) break;
    const at = 'at' in d ? d.at % out.length : 0;
    if (d.kind === 'flip') xorByte(out, at, d.xor);
    else if (d.kind === 'zero') out.fill(0, at, Math.min(out.length, at + d.length));
    else out = out.subarray(0, Math.floor(out.length * d.keep));
  }
  return out;
}

/** Slices whose bytes differ from the original, or that reach past a truncation. */
function damagedSlices(original: Buffer, now: Buffer, B: number): number[] {
  const out: number[] = [];
  for (let i = 0; i * B < original.length; i++) {
    const end = Math.min((i + 1) * B, original.length);
    if (end > now.length || !original.subarray(i * B, end).equals(now.subarray(i * B, end))) out.push(i);
  }
  return out;
}

const damageArb = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('zero' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 600 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.double({ min: 0.5, max: 1, noNaN: true }) }) },
  ),
  { minLength: 1, maxLength: 6 },
);

describe('repairPar2', () => {
  it('rebuilds any damage within capacity byte for byte, and refuses damage beyond it', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        // Slice sizes from 4 bytes up, at most ~300 slices so that each run stays in milliseconds.
        fc.integer({ min: 1, max: 512 }).chain((q) =>
          fc.record({ blockSize: fc.constant(q * 4), length: fc.integer({ min: 1, max: Math.min(40_000, q * 4 * 300) }) }),
        ),
        fc.double({ min: 0.05, max: 0.6, noNaN: true }),
        fc.integer({ min: 0, max: 0xffff }),
        damageArb,
        async ({ length, blockSize }, redundancy, seed, damage) => {
          const r = run++;
          const bytes = pseudoRandomBytes(length, seed);
          const data = join(dir, `d${r}.bin`);
          await writeFile(data, bytes);
          const par2 = join(dir, `d${r}.par2`);
          const created = await createPar2({ path: data, length, name: 'd.bin' }, par2, { blockSize, redundancy });
          const broken = applyDamage(bytes, damage);
          await writeFile(data, broken);
          const expected = damagedSlices(bytes, broken, created.blockSize);

          const set = await readPar2Set([par2]);
          const v = await verifyPar2(set, { path: data });
          expect(v.damagedBlocks).toEqual(expected);
          const out = join(dir, `fixed${r}.bin`);
          if (expected.length <= created.recoveryBlockCount) {
            expect(v.repairable).toBe(true);
            await repairPar2(set, { path: data }, out, { verified: v });
            expect((await readFile(out)).equals(bytes)).toBe(true);
          } else {
            expect(v.repairable).toBe(false);
            const err = await repairPar2(set, { path: data }, out).catch((e: unknown) => e);
            expect(isBriError(err, 'ARCHIVE_CORRUPTED')).toBe(true);
            expect((err as { details: unknown }).details).toEqual({ damaged: expected.length, available: created.recoveryBlockCount });
            expect((await readdir(dir)).filter((f) => f.startsWith(`fixed${r}`) || f.includes('.tmp'))).toEqual([]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('repairs a sub-range inside a larger file, in several passes and on worker threads', async () => {
    const container = pseudoRandomBytes(300_000, 77);
    const path = join(dir, 'container.bin');
    await writeFile(path, container);
    const range = { offset: 50_001, length: 200_000 };
    const par2 = join(dir, 'm.par2');
    const s = await createPar2({ path, ...range, name: 'member' }, par2, { blockSize: 2000, redundancy: 0.1 });
    expect(s).toMatchObject({ sourceBlockCount: 100, recoveryBlockCount: 10 });

    const damaged = Buffer.from(container);
    for (const b of [0, 3, 4, 50, 98, 99]) xorByte(damaged, range.offset + b * 2000 + 1500, 0x80);
    damaged.fill(7, 0, 50_001); // outside the range: irrelevant
    await writeFile(path, damaged);
    const set = await readPar2Set([par2]);
    const want = container.subarray(range.offset, range.offset + range.length);
    for (const opts of [{ memoryLimitBytes: 8 * 1024 }, { threads: 2 }, { threads: 1, memoryLimitBytes: 8 * 1024 }]) {
      const out = join(dir, 'out.bin');
      const result = await repairPar2(set, { path, ...range }, out, opts);
      expect(result.repairedBlocks).toEqual([0, 3, 4, 50, 98, 99]);
      expect((await readFile(out)).equals(want)).toBe(true);
    }
  });

  it('uses any recovery slices, not only the first ones', async () => {
    const bytes = pseudoRandomBytes(40_000, 5);
    const data = join(dir, 'x.bin');
    await writeFile(data, bytes);
    await createPar2({ path: data, length: 40_000, name: 'x' }, join(dir, 'x.par2'), { blockSize: 1000, recoveryBlockCount: 12 });
    const full = await readPar2Set([join(dir, 'x.par2')]);
    const set = { ...full, recoverySlices: full.recoverySlices.filter((s) => [2, 5, 7, 11].includes(s.exponent)) };
    const damaged = Buffer.from(bytes);
    for (const b of [1, 2, 30, 39]) xorByte(damaged, b * 1000, 1);
    await writeFile(data, damaged);
    const r = await repairPar2(set, { path: data }, join(dir, 'y.bin'));
    expect(r.recoveryExponentsUsed).toEqual([2, 5, 7, 11]);
    expect(await readFile(join(dir, 'y.bin'))).toEqual(bytes);
  });

  it('writes an intact range unchanged and cuts a longer one to the recorded length', async () => {
    const bytes = pseudoRandomBytes(5000, 8);
    const data = join(dir, 'i.bin');
    await writeFile(data, Buffer.concat([bytes, Buffer.from('extra')]));
    await createPar2({ path: data, length: 5000, name: 'i' }, join(dir, 'i.par2'));
    const set = await readPar2Set([join(dir, 'i.par2')]);
    const r = await repairPar2(set, { path: data }, join(dir, 'o.bin'));
    expect(r).toEqual({ repairedBlocks: [], recoveryExponentsUsed: [], bytesWritten: 5000 });
    expect(await readFile(join(dir, 'o.bin'))).toEqual(bytes);
  });

  it('never publishes output that fails the MD5 check', async () => {
    const bytes = pseudoRandomBytes(8000, 9);
    const data = join(dir, 'w.bin');
    await writeFile(data, bytes);
    await createPar2({ path: data, length: 8000, name: 'w' }, join(dir, 'w.par2'), { blockSize: 1000, recoveryBlockCount: 2 });
    const good = await readPar2Set([join(dir, 'w.par2')]);
    // A set whose recorded MD5 is wrong (as if the data had changed since): repair must refuse to publish.
    const lying = { ...good, files: [{ ...good.files[0]!, md5: Buffer.alloc(16) }] };
    const damaged = Buffer.from(bytes);
    xorByte(damaged, 10, 1);
    await writeFile(data, damaged);
    const err = await repairPar2(lying, { path: data }, join(dir, 'out.bin')).catch((e: unknown) => e);
    expect(isBriError(err, 'ARCHIVE_CORRUPTED')).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['w.bin', 'w.par2']);
  });
});
