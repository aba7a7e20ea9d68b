/**
 * A history from T starts where every change at or after T is still a line to read: a change made at
 * the last line of an archive is in the next archive's snapshot, not among its lines, so a history
 * started from that next archive left it out.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-from-');
const tick = () => new Promise((r) => setTimeout(r, 4));

describe('history --from', () => {
  it('keeps the change made at T when T is the time of an archive\'s last line and a later archive starts there', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      const first = await db.archive.create();
      await tick();
      await db.set('A', { v: 2 });
      const second = await db.archive.create();
      const at = first.manifest.timeRange.end.getTime();
      expect(second.manifest.timeRange.start.getTime()).toBe(at);
      const h = await db.restore.history('A', { from: at });
      expect(h.entries.map((e) => [e.line, e.value])).toEqual([
        [1, '{"v":1}'],
        [2, '{"v":2}'],
      ]);
      expect((await db.restore.history('A', { from: at + 1 })).entries.map((e) => e.line)).toEqual([2]);
    } finally {
      await db.close();
    }
  });

  it('from before the database existed is its whole history, as without --from (it was refused: no archive holds that day)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      await db.archive.create();
      await db.set('A', { v: 2 });
      await db.archive.create();
      await db.set('A', { v: 3 });
      const all = await db.restore.history('A');
      expect(all.entries.map((e) => e.line)).toEqual([1, 2, 3]);
      expect((await db.restore.history('A', { from: '2020-01-01' })).entries).toEqual(all.entries);
      expect((await db.restore.history('A', { from: '2020-01-01', to: '2020-01-02' })).entries).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
