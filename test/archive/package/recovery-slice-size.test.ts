/**
 * A crafted recovery.par2 whose main packet says slices of 4294967292 bytes (the manifest's blockSize
 * matching) over an archive of a few KiB whose members are all intact. Checking it at that slice size
 * would allocate 4 GiB: the set is refused as no BRI writer's, verify says the data is intact and the
 * recovery data unusable (exit 24), and `archive repair --in-place` writes the recovery data again.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryWriter } from '../../../src/archive/package/recovery.js';
import { computeFileId, encodeCreatorBody, encodeFileDescBody, encodeIfscBody, encodeMainBody, encodePacket, PacketType } from '../../../src/archive/par2/packets.js';
import { createDB } from '../../../src/db.js';
import { besideOriginalUnsaid, runCli } from '../../support/cli.js';
import { makeTempDir } from '../../support/fixtures.js';
import { repack } from './craft-kit.js';

const SLICE = 4294967292;

/** PAR2 data for the prefix in one slice of SLICE bytes (its checksums zeros), no recovery slice. */
const hugeSlices: RecoveryWriter = {
  redundancy: 0.1,
  plan: () => ({ blockSize: SLICE, recoveryBlockCount: 0 }),
  async write(_pkg, prefixBytes, outPath, _plan, name) {
    const zeros = Buffer.alloc(16);
    const fileId = computeFileId(zeros, prefixBytes, name);
    const main = encodeMainBody({ sliceSize: SLICE, recoveryFileIds: [fileId], nonRecoveryFileIds: [] });
    const setId = createHash('md5').update(main).digest();
    const packets = [
      encodePacket(setId, PacketType.MAIN, main),
      encodePacket(setId, PacketType.FILE_DESC, encodeFileDescBody({ fileId, md5: zeros, md5_16k: zeros, length: prefixBytes, name })),
      encodePacket(setId, PacketType.IFSC, encodeIfscBody({ fileId, entries: Buffer.alloc(20) })),
      encodePacket(setId, PacketType.CREATOR, encodeCreatorBody('crafted')),
    ];
    // Two copies of each, as the writer makes them: the set is well-formed, only its slice size is wrong.
    const data = Buffer.concat([...packets, ...packets]);
    await fsp.writeFile(outPath, data);
    return data.length;
  },
};

let root: string;
let dataDir: string;
let archiveId: string;

beforeAll(async () => {
  root = await makeTempDir('bri-recovery-slice-size-');
  dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  try {
    for (let i = 0; i < 20; i++) await db.set(`K${i}`, { v: i });
    const a = await db.archive.create();
    archiveId = a.archiveId;
    await repack(a.file, { recovery: hugeSlices });
  } finally {
    await db.close();
  }
}, 60_000);
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

describe('recovery data with slices larger than BRI ever writes', () => {
  it('verify says the data is intact and the recovery data unusable (exit 24), without allocating a slice', async () => {
    const t0 = Date.now();
    const r = await runCli(['archive', 'verify', archiveId, '-d', dataDir, '--json']);
    const report = JSON.parse(r.stdout) as { ok: boolean; dataIntact: boolean; restorable: boolean; repairable: boolean; problems: string[] };
    expect(report).toMatchObject({ ok: false, dataIntact: true, restorable: true, repairable: true });
    expect(report.problems.join('\n')).toMatch(/recovery\.par2 cannot be used: its slices are 4294967292 bytes, more than the \d+ BRI writes/);
    expect(r.code).toBe(24);
    expect(Date.now() - t0, 'no 4 GiB slice was hashed').toBeLessThan(20_000);
  }, 60_000);

  it('repair --in-place writes the recovery data again, after which verify is clean and restore gives the data', async () => {
    const fixed = await runCli(['archive', 'repair', archiveId, '-d', dataDir, '--in-place']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const again = await runCli(['archive', 'verify', archiveId, '-d', dataDir]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const target = path.join(root, 'restored');
    const restored = await runCli(['restore', 'from', archiveId, '-d', dataDir, '--target', target]);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(restored.stdout + besideOriginalUnsaid(restored.stderr)).not.toMatch(/WARNING|recovery data/i);
  }, 60_000);
});
