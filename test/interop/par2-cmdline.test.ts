/**
 * Interop with par2cmdline, both ways: what createPar2 writes, `par2 verify`
 * and `par2 repair` accept and use; what `par2 create` writes, readPar2Set,
 * verifyPar2 and repairPar2 accept and use. Skips, saying why, only when the
 * `par2` binary is absent.
 */

import { spawnSync } from 'node:child_process';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPar2, readPar2Set, repairPar2, verifyPar2 } from '../../src/archive/par2/index.js';
import { decodeHeader, packetKind } from '../../src/archive/par2/packets.js';
import { makeTempDir, pseudoRandomBytes, xorByte } from '../archive/par2/helpers.js';

const hasPar2 = spawnSync('par2', ['-V'], { stdio: 'ignore' }).status === 0;
if (!hasPar2) console.warn('par2 interop tests skipped: the `par2` binary (par2cmdline) is not installed');

/**
 * par2cmdline 0.8 spreads work over OpenMP threads that spin while waiting:
 * on a busy 2-core machine (vitest runs files in parallel) that turns
 * milliseconds into many seconds. One thread, passive waiting: these tests
 * check formats, not par2's speed.
 */
const par2Help = hasPar2 ? spawnSync('par2', ['-h'], { encoding: 'utf8' }) : undefined;
const ONE_THREAD = `${par2Help?.stdout ?? ''}${par2Help?.stderr ?? ''}`.includes('-t<n>') ? ['-t1'] : [];

function par2(args: string[], cwd: string): { status: number | null; output: string } {
  const [command, ...rest] = args;
  const r = spawnSync('par2', [command!, ...ONE_THREAD, ...rest], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir('bri-par2-interop-')));
afterEach(async () => cleanup());

describe.skipIf(!hasPar2)('par2cmdline interop', () => {
  it('par2 verify accepts our set, then sees damage', async () => {
    const bytes = pseudoRandomBytes(1_000_000, 1);
    await writeFile(join(dir, 'data.bin'), bytes);
    await createPar2({ path: join(dir, 'data.bin'), length: bytes.length, name: 'data.bin' }, join(dir, 'data.par2'));
    const ok = par2(['verify', 'data.par2'], dir);
    expect(ok.status, ok.output).toBe(0);
    expect(ok.output).toMatch(/All files are correct/);

    const damaged = Buffer.from(bytes);
    xorByte(damaged, 123_456, 0xff);
    await writeFile(join(dir, 'data.bin'), damaged);
    const bad = par2(['verify', 'data.par2'], dir);
    expect(bad.status, bad.output).toBe(1); // 1 = repair required and possible
    expect(bad.output).toMatch(/Repair is possible/);
  });

  it('par2 repair rebuilds a damaged file from our recovery data', async () => {
    const bytes = pseudoRandomBytes(2_000_000, 2);
    const path = join(dir, 'archive.bin');
    await writeFile(path, bytes);
    const s = await createPar2({ path, length: bytes.length, name: 'archive.bin' }, join(dir, 'archive.par2'), { redundancy: 0.1 });
    expect(s.recoveryBlockCount).toBe(200);
    const damaged = Buffer.from(bytes);
    for (let b = 0; b < 150; b++) xorByte(damaged, b * 13 * s.blockSize + 77, 0x01); // 150 scattered slices
    damaged.fill(0, 500_000, 520_000); // and a zeroed run
    await writeFile(path, damaged);
    const r = par2(['repair', 'archive.par2'], dir);
    expect(r.status, r.output).toBe(0);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it('par2 verify accepts a set over a sub-range, against the member extracted under its recorded name', async () => {
    const container = pseudoRandomBytes(300_000, 3);
    await writeFile(join(dir, 'package.tar'), container);
    await createPar2({ path: join(dir, 'package.tar'), offset: 1536, length: 250_000, name: 'payload.bin' }, join(dir, 'recovery.par2'), {
      redundancy: 0.05,
    });
    await writeFile(join(dir, 'payload.bin'), container.subarray(1536, 251_536));
    const r = par2(['verify', 'recovery.par2'], dir);
    expect(r.status, r.output).toBe(0);
  });

  it('par2 still uses our set when its first critical packets are damaged', async () => {
    const bytes = pseudoRandomBytes(400_000, 4);
    await writeFile(join(dir, 'd.bin'), bytes);
    await createPar2({ path: join(dir, 'd.bin'), length: bytes.length, name: 'd.bin' }, join(dir, 'd.par2'));
    const par2File = await readFile(join(dir, 'd.par2'));
    let at = 0;
    for (let k = 0; k < 4; k++) {
      const h = decodeHeader(par2File, at)!;
      expect(packetKind(h.type)).not.toBe('recovery');
      xorByte(par2File, at + h.length - 1, 0xff);
      at += h.length;
    }
    await writeFile(join(dir, 'd.par2'), par2File);
    const damaged = Buffer.from(bytes);
    xorByte(damaged, 1000, 1);
    await writeFile(join(dir, 'd.bin'), damaged);
    const r = par2(['repair', 'd.par2'], dir);
    expect(r.status, r.output).toBe(0);
    expect((await readFile(join(dir, 'd.bin'))).equals(bytes)).toBe(true);
  });

  it('reads a par2cmdline set over two files and verifies each by name', async () => {
    const a = pseudoRandomBytes(300_000, 6);
    const b = pseudoRandomBytes(123_457, 7);
    await writeFile(join(dir, 'a.bin'), a);
    await writeFile(join(dir, 'b.bin'), b);
    const c = par2(['create', '-q', '-r5', 'two.par2', 'a.bin', 'b.bin'], dir);
    expect(c.status, c.output).toBe(0);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.par2')).map((f) => join(dir, f));
    const set = await readPar2Set(files);
    expect(set.files.map((f) => f.name).sort()).toEqual(['a.bin', 'b.bin']);
    // Slices are numbered across files in the main packet's order.
    const [first, second] = set.files;
    expect(second!.firstBlock).toBe(first!.blockCount);
    expect(set.sourceBlockCount).toBe(first!.blockCount + second!.blockCount);
    expect((await verifyPar2(set, { path: join(dir, 'a.bin'), name: 'a.bin' })).intact).toBe(true);
    expect((await verifyPar2(set, { path: join(dir, 'b.bin'), name: 'b.bin' })).intact).toBe(true);
    const broken = Buffer.from(b);
    xorByte(broken, 100, 1);
    await writeFile(join(dir, 'b.bin'), broken);
    const v = await verifyPar2(set, { path: join(dir, 'b.bin'), name: 'b.bin' });
    expect(v).toMatchObject({ damagedBlocks: [0], intact: false, repairable: false }); // multi-file repair is par2's job
  });

  it('reads what par2 create -r10 writes and repairs with it', async () => {
    const bytes = pseudoRandomBytes(1_500_000, 5);
    await writeFile(join(dir, 'their.bin'), bytes);
    const c = par2(['create', '-q', '-r10', 'their.bin.par2', 'their.bin'], dir);
    expect(c.status, c.output).toBe(0);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.par2')).map((f) => join(dir, f));
    expect(files.length).toBeGreaterThan(1); // index file plus volume files

    const set = await readPar2Set(files);
    expect(set.files.map((f) => [f.name, f.length])).toEqual([['their.bin', bytes.length]]);
    expect(set.recoverySlices.length).toBe(Math.round(set.sourceBlockCount / 10));
    expect((await verifyPar2(set, { path: join(dir, 'their.bin') })).intact).toBe(true);

    const damaged = Buffer.from(bytes);
    const B = set.blockSize;
    const lost = [0, 1, 2, 100, 555, 1000, set.sourceBlockCount - 1];
    for (const b of lost) xorByte(damaged, Math.min(bytes.length - 1, b * B + 5), 0x42);
    await writeFile(join(dir, 'their.bin'), damaged.subarray(0, bytes.length - 10)); // and truncated
    const v = await verifyPar2(set, { path: join(dir, 'their.bin') });
    expect(v.damagedBlocks).toEqual(lost);
    const r = await repairPar2(set, { path: join(dir, 'their.bin') }, join(dir, 'fixed.bin'), { verified: v });
    expect(r.repairedBlocks).toEqual(lost);
    expect((await readFile(join(dir, 'fixed.bin'))).equals(bytes)).toBe(true);

    // And par2 agrees the result is its original file.
    await copyFile(join(dir, 'fixed.bin'), join(dir, 'their.bin'));
    expect(par2(['verify', 'their.bin.par2'], dir).status).toBe(0);
  });
});
