/**
 * WAL cleanup and a closed segment whose last line has no newline: when that line is whole (it parses
 * and the next segment's first line chains from it) archive create archives it, so cleanup removes the
 * segment like any other; one that does not chain is damage and stays, with everything after it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { listSegments } from '../../../src/store/layout.js';
import { recover } from '../../../src/store/recovery.js';
import { removableSegments } from '../../../src/store/wal/wal-cleanup.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-cleanup-unterminated-');

/** A closed database of 30 keys over several segments, its first segment's last newline cut off. */
async function unterminatedFirstSegment(): Promise<{ dataDir: string; first: string; firstName: string }> {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1500 } });
  for (let i = 0; i < 30; i++) await db.set(`K${i}`, { v: i });
  await db.close();
  const segs = await listSegments(dataDir);
  expect(segs.length).toBeGreaterThan(2);
  const text = await fsp.readFile(segs[0]!.path, 'utf8');
  await fsp.writeFile(segs[0]!.path, text.slice(0, -1));
  return { dataDir, first: segs[0]!.path, firstName: segs[0]!.name };
}

describe('WAL cleanup of a closed segment whose last line has no newline', () => {
  it('whole and chained: the archive holds it, and the cleanup after it removes that segment; the database reopens to the same state', async () => {
    const { dataDir, firstName } = await unterminatedFirstSegment();
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { cleanupWal: true, compression: { level: 1 } } } });
    let expected: unknown;
    try {
      await db.set('NEW', { x: 1 });
      const made = await db.archive.create();
      const cleanup = made.cleanup!;
      if ('error' in cleanup) throw cleanup.error;
      expect(cleanup.segments).toContain(firstName);
      expect((await listSegments(dataDir)).map((s) => s.name)).not.toContain(firstName);
      expect((await readArchiveState(dataDir))!.removedLines).toBeGreaterThan(0);
      await db.set('AFTER', { y: 2 });
      expected = toPlainState(db.state);
    } finally {
      await db.close();
    }
    expect(toPlainState((await recover(dataDir)).state)).toEqual(expected);
  });

  it('a last line that parses but does not chain (its pointer is not its entry\'s) is damage: neither that segment nor any after it is removable', async () => {
    const { dataDir, first } = await unterminatedFirstSegment();
    const lines = (await fsp.readFile(first, 'utf8')).split('\n');
    lines[lines.length - 1] = lines[lines.length - 1]!.replace(/\\"v\\":(\d)/, (m, d: string) => m.slice(0, -1) + String((Number(d) + 1) % 10));
    await fsp.writeFile(first, lines.join('\n'));
    expect(await removableSegments(dataDir, 1_000, 1_000)).toEqual([]);
  });

  it('whole and chained, offline: the segment and those after it are removable up to the limit', async () => {
    const { dataDir, firstName } = await unterminatedFirstSegment();
    const plan = await removableSegments(dataDir, 1_000, 1_000);
    expect(plan.map((s) => s.name)).toContain(firstName);
  });
});
