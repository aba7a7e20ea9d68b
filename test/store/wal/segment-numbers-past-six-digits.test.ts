/**
 * Segment numbers past 999999 take a seventh digit (1000000.wal): as text that name sorts before
 * 999998.wal, but the WAL's order is the numbers' order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { listSegments } from '../../../src/store/layout.js';
import { BriStore } from '../../../src/store/store.js';
import { verifyDataDir } from '../../../src/store/verify-data-dir.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-seg-7-digits-');

/** A data directory whose WAL is segments 999998 (one line) and 999999 (empty): a long-lived database near the rollover. */
async function nearRollover(): Promise<string> {
  const dataDir = path.join(await tmp(), 'data');
  const store = await BriStore.open({ dataDir });
  await store.set('A', { a: 1 });
  await store.close();
  const wal = path.join(dataDir, 'wal');
  fs.renameSync(path.join(wal, '000000.wal'), path.join(wal, '999998.wal'));
  fs.renameSync(path.join(wal, '000001.wal'), path.join(wal, '999999.wal'));
  return dataDir;
}

describe('WAL segment numbers past 999999', () => {
  it('are listed in numeric order, and a reopened store appends to the highest-numbered segment: the chain and every write hold', async () => {
    const dataDir = await nearRollover();
    let store = await BriStore.open({ dataDir, walSegmentSize: 100 });
    for (let i = 0; i < 4; i++) await store.set(`K_${i}`, { i, pad: 'p'.repeat(20) });
    await store.close();
    const names = (await listSegments(dataDir)).map((s) => s.name);
    expect(names.slice(0, 3)).toEqual(['999998.wal', '999999.wal', '1000000.wal']);
    expect(names.map((n) => Number(n.slice(0, -4)))).toEqual([...names.map((n) => Number(n.slice(0, -4)))].sort((a, b) => a - b));
    store = await BriStore.open({ dataDir });
    const last = store.info().segment;
    expect(last).toBe(Number(names[names.length - 1]!.slice(0, -4)));
    await store.set('Z', { z: 1 });
    await store.close();
    expect(fs.readFileSync(path.join(dataDir, 'wal', `${last}.wal`), 'utf8')).toContain('Z');
    const report = await verifyDataDir(dataDir);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const again = await BriStore.open({ dataDir });
    expect(again.keys().sort()).toEqual(['A', 'K_0', 'K_1', 'K_2', 'K_3', 'Z']);
    await again.close();
  });

  it('archive create over segments that cross into 1000000.wal makes an archive its readers accept: listed, verified, restored whole', async () => {
    const dataDir = await nearRollover();
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 100, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 4; i++) await db.set(`K_${i}`, { i, pad: 'p'.repeat(20) });
    const made = await db.archive.create();
    expect(made.manifest.contents.segments.map((m) => m.file)).toContain('wal/1000000.wal.zst');
    expect((await db.archive.list()).map((a) => a.manifest.archiveId)).toContain(made.archiveId);
    expect((await db.archive.verify(made.archiveId)).ok).toBe(true);
    await db.close();
    const target = path.join(path.dirname(dataDir), 'restored');
    const restore = await openRestore({ dataDir });
    try {
      await restore.fromLatest({ targetDir: target });
    } finally {
      await restore.close();
    }
    expect(toPlainState((await recover(target)).state)).toEqual(toPlainState((await recover(dataDir)).state));
  });
});
