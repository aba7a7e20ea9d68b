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
});
