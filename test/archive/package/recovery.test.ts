import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { makeTempDir } from '../../support/fixtures.js';
import { treeDigest } from '../../support/tree.js';
import { runCli } from '../../support/cli.js';
import { flipByte } from '../../support/tools.js';

let root: string;
let dataDir: string;
let file: string;
let original: Buffer;
let expected: ReturnType<typeof toPlainState>;
let blockSize: number;
let recoveryBlocks: number;
let protectedBytes: number;

beforeAll(async () => {
  root = await makeTempDir('bri-recovery-');
  dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 64 * 1024 } });
  await Promise.all(Array.from({ length: 3000 }, (_, i) => db.set(`DOC_${i}`, { i, body: `text ${i} `.repeat(1 + (i % 7)) })));
  const created = await db.archive.create({ level: 3 });
  expected = toPlainState(db.state);
  await db.close();
  file = created.file;
  original = await fsp.readFile(file);
  blockSize = created.manifest.errorCorrection.blockSize!;
  recoveryBlocks = created.manifest.errorCorrection.recoveryBlockCount!;
  const offsets = (await fsp.readFile(file)).indexOf(Buffer.from('recovery.par2\0'));
  protectedBytes = offsets; // the recovery member's tar header starts there
  expect(created.manifest.errorCorrection).toMatchObject({ enabled: true, algorithm: 'par2', redundancy: 0.1 });
  expect(recoveryBlocks).toBeGreaterThan(5);
});
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

async function damaged(name: string, blocks: number[], mode: 'flip' | 'zero'): Promise<string> {
  const buf = Buffer.from(original);
  for (const b of blocks) {
    const at = b * blockSize;
    if (mode === 'flip') flipByte(buf, at + (b % blockSize), 0x5a);
    else buf.fill(0, at, Math.min(at + blockSize, buf.length));
  }
  const out = path.join(root, 'copies', name);
  await fsp.mkdir(path.dirname(out), { recursive: true });
  await fsp.writeFile(out, buf);
  return out;
}

describe('PAR2 recovery data in archives', () => {
  it('damage within the redundancy, anywhere (tar headers and manifest included), verifies as repairable and repairs byte for byte', async () => {
    const blocks = Math.floor(protectedBytes / blockSize);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: blocks - 1 }), { minLength: 1, maxLength: recoveryBlocks }),
        fc.constantFrom('flip' as const, 'zero' as const),
        async (picked, mode) => {
          const set = [0, ...picked].slice(0, recoveryBlocks); // always the first block: tar header + manifest
          const copy = await damaged(`within-${n++}.bri`, [...new Set(set)], mode);
          const report = await (await import('../../../src/archive/package/verify.js')).verifyArchive(copy);
          expect(report.ok).toBe(false);
          expect(report.recovery).toMatchObject({ present: true, repairable: true });
          const { repairArchive } = await import('../../../src/archive/package/recovery.js');
          const r = await repairArchive(copy, copy + '.fixed');
          expect(r.repaired).toBe(true);
          expect((await fsp.readFile(copy + '.fixed')).equals(original)).toBe(true);
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('restore from a damaged archive repairs it first and reports it', async () => {
    const copyDir = path.join(root, 'damaged-archives');
    await fsp.mkdir(copyDir, { recursive: true });
    const buf = Buffer.from(original);
    flipByte(buf, 700); // inside the manifest: the archive cannot even be listed before a repair
    for (let i = 0; i < 4; i++) flipByte(buf, Math.floor((protectedBytes * (i + 1)) / 5));
    await fsp.writeFile(path.join(copyDir, path.basename(file)), buf);
    const target = path.join(root, 'restored-from-damaged');
    const result = await openRestore({ dataDir, archiveDir: copyDir }).fromLatest({ targetDir: target });
    expect(result.repaired).toMatchObject({ damagedBlocks: 5, repairedBlocks: 5 });
    expect(toPlainState((await recover(target)).state)).toEqual(expected);
  });

  it('damage beyond the redundancy: ARCHIVE_CORRUPTED with the counts, never a wrong repair, the target untouched', async () => {
    const blocks = Math.floor(protectedBytes / blockSize);
    const many = Array.from({ length: recoveryBlocks + 3 }, (_, i) => Math.floor((i * blocks) / (recoveryBlocks + 3)));
    const copy = await damaged('beyond.bri', many, 'zero');
    const { repairArchive } = await import('../../../src/archive/package/recovery.js');
    await expect(repairArchive(copy, copy + '.fixed')).rejects.toMatchObject({
      code: 'ARCHIVE_CORRUPTED',
      details: { damaged: recoveryBlocks + 3, available: recoveryBlocks },
    });
    await expect(fsp.access(copy + '.fixed')).rejects.toThrow();
    const cli = await runCli(['archive', 'repair', copy, '--json']);
    expect(cli.code).toBe(21);
    expect(JSON.parse(cli.stderr).error).toMatchObject({ code: 'ARCHIVE_CORRUPTED', details: { damaged: recoveryBlocks + 3, available: recoveryBlocks } });
    const verify = await runCli(['archive', 'verify', copy]);
    expect(verify.code).toBe(21);
    expect(verify.stderr).toContain('beyond repair');

    const archiveDir = path.join(root, 'beyond-dir');
    await fsp.mkdir(archiveDir, { recursive: true });
    await fsp.copyFile(copy, path.join(archiveDir, path.basename(file)));
    const target = path.join(root, 'untouched');
    await fsp.mkdir(target);
    await fsp.writeFile(path.join(target, 'keep'), 'x');
    const before = await treeDigest(root);
    await expect(openRestore({ dataDir, archiveDir }).fromLatest({ targetDir: target, force: true })).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPTED' });
    expect(await treeDigest(root)).toEqual(before);
  });

  it('bri archive repair --in-place replaces the file with the repaired one', async () => {
    const copy = await damaged('inplace.bri', [1, 2], 'flip');
    const res = await runCli(['archive', 'repair', copy, '--in-place', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ repaired: true, damagedBlocks: 2, repairedBlocks: 2 });
    expect((await fsp.readFile(copy)).equals(original)).toBe(true);
    const again = await runCli(['archive', 'repair', copy]);
    expect(again.stdout).toContain('intact');
  });
});
