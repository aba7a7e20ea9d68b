import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { recover } from '../../../src/store/recovery.js';
import { toPlainState } from '../../../src/format/state.js';
import { makeTempDir } from '../../support/fixtures.js';
import { tarLayout } from '../../support/hostile-tar.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

describe('a point-in-time restore that stops inside a large member', () => {
  it('stops reading the member early and still finishes (the tar stream is drained, not stalled)', async () => {
    const root = await makeTempDir('bri-earlystop-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, fsyncMode: 'batched', batchIntervalMs: 5, snapshotOnClose: false } });
    // Incompressible values, so that the first WAL member is several MiB even compressed.
    for (let batch = 0; batch < 12; batch++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => db.set(`K_${batch}_${i}`, { v: randomBytes(300).toString('base64') })));
      await new Promise((r) => setTimeout(r, 3));
    }
    const archive = await db.archive.create({ level: 1 });
    expect(archive.manifest.contents.segments[0]!.compressedSize).toBeGreaterThan(3 * 1024 * 1024);
    await db.close();
    const T = archive.manifest.contents.segments[0]!.firstTimestamp! + 1;
    const target = path.join(root, 'early');
    const result = await db.restore.toTimestamp(T, { targetDir: target });
    expect(result.linesRestored).toBeGreaterThan(0);
    expect(result.linesRestored).toBeLessThan(archive.manifest.contents.totalWalEntries);
    expect(toPlainState((await recover(target)).state)).toEqual(toPlainState((await recover(dataDir, { ignoreSnapshot: true, untilTimestamp: T })).state));
  }, 120_000);

  // A restore to T reads only up to T, but the members past T are still checked: a damaged
  // archive is said (and repaired), whatever the target, as the tools' par2 pass would.
  async function pitrSetup(name: string) {
    const root = await makeTempDir(`bri-earlystop-${name}-`);
    made.push(root);
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, fsyncMode: 'batched', batchIntervalMs: 5, snapshotOnClose: false, walSegmentSize: 64 * 1024 } });
    for (let batch = 0; batch < 6; batch++) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => db.set(`K_${batch}_${i}`, { v: randomBytes(100).toString('base64') })));
      await new Promise((r) => setTimeout(r, 3));
    }
    const archive = await db.archive.create({ level: 1 });
    await db.close();
    const segs = archive.manifest.contents.segments;
    expect(segs.length).toBeGreaterThan(3);
    const file = path.join(dataDir, 'archives', `${archive.manifest.archiveId}.bri`);
    const T = segs[0]!.lastTimestamp!;
    return { root, db, dataDir, archive, file, T };
  }

  it('a member past T damaged: the restore to T repairs the archive first and restores the state at T', async () => {
    const { root, db, dataDir, file, archive, T } = await pitrSetup('late');
    const buf = await fsp.readFile(file);
    const last = archive.manifest.contents.segments.at(-1)!.segment;
    const member = tarLayout(buf).members.find((m) => m.name.startsWith('wal/') && m.name.includes(last.replace(/\.wal$/, '')))!;
    buf[member.dataOffset + 7]! ^= 0x55;
    await fsp.writeFile(file, buf);
    const target = path.join(root, 'late');
    const result = await db.restore.toTimestamp(T, { targetDir: target });
    expect(result.repaired?.repairedBlocks).toBeGreaterThan(0);
    expect(toPlainState((await recover(target)).state)).toEqual(toPlainState((await recover(dataDir, { ignoreSnapshot: true, untilTimestamp: T })).state));
  }, 120_000);

  it('recovery.par2 damaged: the restore to T warns that the recovery data is damaged and restores the state at T', async () => {
    const { root, db, dataDir, file, T } = await pitrSetup('par2');
    const buf = await fsp.readFile(file);
    const rec = tarLayout(buf).members.find((m) => m.name === 'recovery.par2')!;
    for (let i = 0; i < 64; i++) buf[rec.dataOffset + 100 + i]! ^= 0xff;
    await fsp.writeFile(file, buf);
    const target = path.join(root, 'par2');
    const result = await db.restore.toTimestamp(T, { targetDir: target });
    expect(result.recoveryDamaged).not.toBeNull();
    expect(result.warnings.join(' ')).toMatch(/recovery data/);
    expect(toPlainState((await recover(target)).state)).toEqual(toPlainState((await recover(dataDir, { ignoreSnapshot: true, untilTimestamp: T })).state));
  }, 120_000);
});
