/**
 * Intact data is never refused because its recovery data is hurt, and verify
 * finds every damaged PAR2 block (issue 13, item 5), through the CLI as a
 * user meets it: for each kind of damage to recovery.par2 (every copy of a
 * critical packet, recovery slices, its tar header, a cut where it begins or
 * inside it, the tar's end) `sha256sum -c` still passes on the members,
 * `bri archive verify` says the recovery data is damaged (exit 24, repairable),
 * `bri restore` restores with a warning, and `bri archive repair` writes
 * recovery.par2 again: the file is the original byte for byte.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyArchive } from '../../../src/archive/package/verify.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { flipByte, requireTools } from '../../support/tools.js';
import { archivedDb, copyDir, hurtEveryPacket, hurtPadding, type Archived } from './damage-kit.js';

const EXIT_REPAIRABLE = 24;
const tempDir = useTempDirs('bri-recdamage-');
const haveTools = requireTools('tar', 'sha256sum');
let root: string;
let a: Archived;

beforeAll(async () => {
  root = await tempDir();
  a = await archivedDb(root);
  expect(a.manifest.errorCorrection.recoveryBlockCount).toBeGreaterThanOrEqual(10);
  expect(new Set(a.packets.map((p) => p.type))).toEqual(new Set(['Main', 'FileDesc', 'IFSC', 'Creator', 'RecvSlic']));
}, 60_000);

/** The kinds of damage to the recovery data alone; each returns the hurt bytes. */
const recoveryDamage: Array<[string, (buf: Buffer) => Buffer]> = [
  ['every copy of the main packet (2 bytes each)', (b) => (hurtEveryPacket(a, b, 'Main'), b)],
  ['every copy of the file description packet', (b) => (hurtEveryPacket(a, b, 'FileDesc'), b)],
  ['every copy of the slice checksum (IFSC) packet', (b) => (hurtEveryPacket(a, b, 'IFSC'), b)],
  ['every recovery slice', (b) => (hurtEveryPacket(a, b, 'RecvSlic', 1), b)],
  ['one copy of the creator packet', (b) => (flipByte(b, a.packets.find((p) => p.type === 'Creator')!.at + 70, 1), b)],
  ['the magic of one main packet (the packet is not even found)', (b) => (flipByte(b, a.packets.find((p) => p.type === 'Main')!.at, 0xff), b)],
  ['the tar header of recovery.par2', (b) => (flipByte(b, a.recovery.headerOffset + 3, 0x20), b)],
  ['the file cut exactly where recovery.par2 begins', (b) => b.subarray(0, a.prefixBytes)],
  ['the file cut inside recovery.par2', (b) => b.subarray(0, a.recovery.dataOffset + Math.floor(a.recovery.size / 2))],
  ['the tar end blocks', (b) => (flipByte(b, b.length - 700, 0x10), b)],
  ['bytes after the end of the tar', (b) => Buffer.concat([b, Buffer.from('trailing junk')])],
];

async function sha256sumPasses(file: string): Promise<boolean> {
  const dir = await fsp.mkdtemp(path.join(path.dirname(file), 'x-'));
  try {
    // tar may complain about the damaged end; the members before it are what is checked.
    try {
      execFileSync('tar', ['-xf', file, '-C', dir, '--exclude', 'recovery.par2'], { stdio: 'ignore' });
    } catch {
      // a damaged recovery member's header or a cut file: tar exits non-zero after extracting the rest
    }
    execFileSync('sha256sum', ['-c', '--quiet', 'checksums.sha256'], { cwd: dir, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

describe('recovery data damaged, data intact', () => {
  for (const [i, [what, hurt]] of recoveryDamage.entries()) {
    it(`${what}: verify says repairable (exit 24), restore proceeds with a warning, repair gives the original back`, async () => {
      const { dir, file } = await copyDir(root, `rec-${what.replace(/\W+/g, '-')}`, a, hurt(Buffer.from(a.original)));
      if (haveTools) expect(await sha256sumPasses(file), 'the members pass sha256sum -c').toBe(true);

      const verify = await runCli(['archive', 'verify', file, '-d', a.dataDir, '--json']);
      expect(verify.code, verify.stderr).toBe(EXIT_REPAIRABLE);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: false, dataIntact: true, recoveryData: 'damaged', restorable: true, repairable: true, error: null });
      expect(JSON.parse(verify.stdout).problems.join('\n')).toMatch(/recovery\.par2[^]*the data is intact/);
      if (i === 0) {
        const human = await runCli(['archive', 'verify', file, '-d', a.dataDir]);
        expect(human.code).toBe(EXIT_REPAIRABLE);
        expect(human.stderr).toContain(`to repair it: bri archive repair ${file} --in-place`);
      }

      const target = path.join(root, `restored-${path.basename(dir)}`);
      const restore = await runCli(['restore', 'latest', '-d', a.dataDir, '-a', dir, '--target', target]);
      expect(restore.code, restore.stderr).toBe(0);
      expect(restore.stderr).toMatch(/WARNING.*recovery/);
      expect(restore.stderr).toContain(`bri archive repair ${a.id} --in-place`);
      expect(toPlainState((await recover(target)).state)).toEqual(a.expected);
      const json = await runCli(['restore', 'latest', '-d', a.dataDir, '-a', dir, '--target', `${target}-json`, '--json']);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout).recoveryDamaged).toMatchObject({ source: 'local', location: file, problem: expect.stringContaining('recovery.par2') });

      const repair = await runCli(['archive', 'repair', file, '--in-place', '-d', a.dataDir]);
      expect(repair.code, repair.stderr).toBe(0);
      expect(repair.stdout).toContain('wrote the recovery data again');
      expect((await fsp.readFile(file)).equals(a.original), 'the repaired file is the original byte for byte').toBe(true);
      expect((await runCli(['archive', 'verify', file, '-d', a.dataDir])).code).toBe(0);
      expect((await fsp.readdir(dir)).sort()).toEqual([path.basename(file)]);
    }, 60_000);
  }
});

describe('damage the member checksums do not see: verify compares every PAR2 block', () => {
  it('200 bytes flipped in tar padding: verify finds every damaged block (exit 24), restore and repair give the original back', async () => {
    const buf = Buffer.from(a.original);
    const blocks = hurtPadding(a, buf, 200);
    // More blocks than recovery blocks: zeros mend the padding (each block checked against its PAR2 checksum).
    expect(blocks.size).toBeGreaterThan(a.manifest.errorCorrection.recoveryBlockCount!);
    const { dir, file } = await copyDir(root, 'padding', a, buf);
    if (haveTools) expect(await sha256sumPasses(file), 'the members still pass sha256sum -c').toBe(true);
    const verify = await runCli(['archive', 'verify', file, '-d', a.dataDir, '--json']);
    expect(verify.code, verify.stderr).toBe(EXIT_REPAIRABLE);
    const report = JSON.parse(verify.stdout);
    expect(report).toMatchObject({ ok: false, dataIntact: false, repairable: true, restorable: false, recovery: { damagedBlocks: blocks.size } });
    expect(report.problems.join('\n')).toMatch(/tar padding after wal\//);
    const target = path.join(root, 'restored-padding');
    const restore = await runCli(['restore', 'latest', '-d', a.dataDir, '-a', dir, '--target', target]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(toPlainState((await recover(target)).state)).toEqual(a.expected);
    const repair = await runCli(['archive', 'repair', file, '--in-place', '-d', a.dataDir, '--json']);
    expect(repair.code, repair.stderr).toBe(0);
    expect(JSON.parse(repair.stdout)).toMatchObject({ repaired: true, dataRepaired: true, repairedBlocks: blocks.size });
    expect((await fsp.readFile(file)).equals(a.original)).toBe(true);
  });

  it('a flipped byte in the manifest\'s archive id: still repairable from PAR2 (the set is not refused for the name the damaged manifest gives), and repair gives the original back', async () => {
    const manifest = a.members.find((m) => m.name === 'manifest.jss')!;
    const at = a.original.indexOf('"archiveId":"', manifest.dataOffset) + '"archiveId":"'.length;
    expect(at).toBeGreaterThan(manifest.dataOffset);
    const buf = Buffer.from(a.original);
    flipByte(buf, at, 1);
    const { dir, file } = await copyDir(root, 'manifest-id', a, buf);
    const report = await verifyArchive(file);
    expect(report).toMatchObject({ ok: false, repairable: true, recovery: { damagedBlocks: 1 } });
    const target = path.join(root, 'manifest-id-restored');
    const restore = await runCli(['restore', 'latest', '-d', a.dataDir, '-a', dir, '--target', target]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(toPlainState((await recover(target)).state)).toEqual(a.expected);
    expect((await runCli(['archive', 'repair', file, '--in-place', '-d', a.dataDir])).code).toBe(0);
    expect((await fsp.readFile(file)).equals(a.original)).toBe(true);
  });

  it('tar padding damaged and the recovery data unusable too: the member checksums vouch for the data, repair gives the original back', async () => {
    const buf = Buffer.from(a.original);
    hurtEveryPacket(a, buf, 'Main');
    hurtPadding(a, buf, 30);
    const { dir, file } = await copyDir(root, 'padding-and-par2', a, buf);
    const verify = await runCli(['archive', 'verify', file, '-d', a.dataDir, '--json']);
    expect(verify.code, verify.stderr).toBe(EXIT_REPAIRABLE);
    const report = JSON.parse(verify.stdout);
    expect(report).toMatchObject({ ok: false, dataIntact: false, recoveryData: 'damaged', repairable: true, recovery: null });
    expect(report.problems.join('\n')).toMatch(/tar padding after .* is not zero/);
    expect((await runCli(['archive', 'repair', a.id, '--in-place', '-d', a.dataDir, '-a', dir])).code).toBe(0);
    expect((await fsp.readFile(file)).equals(a.original)).toBe(true);
  });

  it('any bytes flipped in the protected part: verify reports exactly the blocks they fall in', async () => {
    const recoveryBlocks = a.manifest.errorCorrection.recoveryBlockCount!;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: a.prefixBytes - 1 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 255 }), async (offsets, xor) => {
        const buf = Buffer.from(a.original);
        for (const o of offsets) flipByte(buf, o, xor);
        const blocks = new Set(offsets.map((o) => Math.floor(o / a.blockSize)));
        const { dir, file } = await copyDir(root, `prop-${n++}`, a, buf);
        const report = await verifyArchive(file);
        expect(report.ok).toBe(false);
        expect(report.recovery?.damagedBlocks).toBe(blocks.size);
        expect(report.repairable).toBe(blocks.size <= recoveryBlocks);
        await fsp.rm(dir, { recursive: true, force: true });
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('the recovery data unusable and a member damaged: beyond repair (exit 21), restore refuses', async () => {
    const buf = Buffer.from(a.original);
    hurtEveryPacket(a, buf, 'IFSC');
    const wal = a.members.find((m) => m.name.startsWith('wal/'))!;
    flipByte(buf, wal.dataOffset + 5, 0xff);
    const { dir, file } = await copyDir(root, 'beyond', a, buf);
    const verify = await runCli(['archive', 'verify', file, '-d', a.dataDir]);
    expect(verify.code, verify.stderr).toBe(21);
    expect(verify.stderr).toContain('beyond repair');
    const restore = await runCli(['restore', 'latest', '-d', a.dataDir, '-a', dir, '--target', path.join(root, 'beyond-target')]);
    expect(restore.code, restore.stderr).toBe(21);
    const repair = await runCli(['archive', 'repair', file, '--in-place', '-d', a.dataDir]);
    expect(repair.code).toBe(21);
    expect((await fsp.readFile(file)).equals(buf), 'a failed repair leaves the file as it was').toBe(true);
  });
});
