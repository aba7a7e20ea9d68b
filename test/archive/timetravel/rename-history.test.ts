/**
 * What a RENAME makes of a document's history: a rename before the history's `from` still says under
 * which name the document goes on; a rename of a key holding no document (a no-op) moves nothing; and
 * a rename moves the document, never a set of the same name.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { HistoryEntry } from '../../../src/archive/timetravel/lineage.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-rename-history-');
const tick = () => new Promise((r) => setTimeout(r, 10));
const shown = (entries: HistoryEntry[]) => entries.map((e) => [e.line, e.action, e.key, e.value]);

describe('history through renames', () => {
  it('from a moment after the document was renamed in an earlier archive: its changes under the new name (it said none, and whole)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('K', 'k1');
      await db.rename('K', 'Y');
      await db.archive.create();
      await db.set('other', 'o');
      await db.archive.create();
      await tick();
      const from = Date.now();
      await tick();
      await db.set('Y', 'k1-edited');
      await db.archive.create();
      await db.set('Y', 'k1-edited-again');
      const h = await db.restore.history('K', { from });
      expect(shown(h.entries)).toEqual([
        [4, 'SET', 'Y', 'k1-edited'],
        [5, 'SET', 'Y', 'k1-edited-again'],
      ]);
      expect(h.missing).toEqual([]);
      const whole = await db.restore.history('K');
      expect(h.entries).toEqual(whole.entries.filter((e) => e.timestamp >= from));
    } finally {
      await db.close();
    }
  }, 60_000);

  it('a rename of a deleted key is no change: neither name takes the other\'s past or future', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('Y', 'y-original');
      await db.set('K', 'k1');
      await db.delete('K');
      await db.rename('K', 'Y');
      await db.set('Y', 'y2');
      await db.archive.create();
      expect(db.getRaw('Y')).toBe('y2');
      expect(shown((await db.restore.history('Y')).entries)).toEqual([
        [1, 'SET', 'Y', 'y-original'],
        [5, 'SET', 'Y', 'y2'],
      ]);
      expect(shown((await db.restore.history('K')).entries)).toEqual([
        [2, 'SET', 'K', 'k1'],
        [3, 'DELETE', 'K', null],
      ]);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('a document renamed to Y does not take the changes of the set named Y', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('K', 'k1');
      await db.rename('K', 'Y');
      await db.sAdd('Y', 'm');
      await db.set('Y', 'k2');
      await db.archive.create();
      expect(shown((await db.restore.history('K')).entries)).toEqual([
        [1, 'SET', 'K', 'k1'],
        [2, 'RENAME', 'Y', 'k1'],
        [4, 'SET', 'Y', 'k2'],
      ]);
      // The set's own history is Y's, with the document that came to Y.
      expect((await db.restore.history('Y')).entries.map((e) => [e.line, e.action])).toEqual([
        [1, 'SET'],
        [2, 'RENAME'],
        [3, 'SADD'],
        [4, 'SET'],
      ]);
    } finally {
      await db.close();
    }
  }, 60_000);
});
