/**
 * A database restored in place to an earlier moment goes on as a new instance, and archives. A moment
 * before that restore is the history the two instances share, kept in the old one's archives: a restore
 * to it, `findForTimestamp`, `read`, `diff` and a rollback's values were TIMESTAMP_NOT_FOUND naming `--instance`, and
 * `--instance` answers along the old timeline, cut away since; a history said the lines before the
 * restore were missing. They now answer from the old instance's archives up to where the new one began,
 * and along the new one's own history after it.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { momentBetweenWrites } from '../../support/moments.js';

const tmp = useTempDirs('bri-tt-before-restore-');
const moment = momentBetweenWrites;

describe('a moment before a restore in place began a new instance', () => {
  it('is answered from the old instance up to where the new one began, and from the new one after it', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const config = { compression: { level: 1 } };
    let db = await createDB({ storeConfig: { dataDir, archive: config } });
    await db.set('K', { v: 1 });
    await db.set('J', { v: 1 });
    await db.set('X', { x: 1 });
    const t0 = await moment();
    await db.set('K', { v: 11 });
    const t0b = await moment();
    await db.archive.create();
    const fork = await moment();
    // Cut away by the restore below.
    await db.set('K', { v: 2 });
    await db.delete('J');
    const cut = await moment();
    await db.archive.create();
    await db.close();
    const old = (await readArchiveState(dataDir))!.instanceId;
    const back = openRestore({ dataDir });
    await back.toTimestamp(fork, { force: true }).finally(() => back.close());
    db = await createDB({ storeConfig: { dataDir, archive: config } });
    try {
      await db.set('K', { v: 3 });
      await db.rename('X', 'Y');
      await db.archive.create();
      expect((await readArchiveState(dataDir))!.instanceId).not.toBe(old);

      expect((await db.archive.read('K', { at: t0 })).document).toBe('{"v":1}');
      expect((await db.restore.findForTimestamp(t0)).manifest.instanceId).toBe(old);
      // After the fork, the new instance's own history: not the cut-away K 2, nor J deleted.
      expect((await db.archive.read('K', { at: cut })).document).toBe('{"v":11}');
      expect((await db.archive.read('J', { at: cut })).exists).toBe(true);
      // Across the fork: the state at t0 (old instance) against now (the new one).
      expect(await db.restore.diff({ at: t0 })).toMatchObject({ added: ['Y'], changed: ['K'], removed: ['X'], sets: {} });
      // Both moments before it: the old instance alone.
      expect(await db.restore.diff({ at: t0, to: t0b })).toMatchObject({ added: [], changed: ['K'], removed: [] });
      const dry = await db.restore.rollback(['K', 'J'], { at: t0, dryRun: true });
      expect(dry.items.map((i) => [i.key, i.now, i.atT])).toEqual([
        ['J', '{"v":1}', '{"v":1}'],
        ['K', '{"v":3}', '{"v":1}'],
      ]);
      // A history is whole across the fork: the old instance's lines up to it, the new one's after; not the cut-away K 2.
      const h = await db.archive.history('K');
      expect(h.missing).toEqual([]);
      expect(h.entries.map((e) => [e.line, e.action, e.value])).toEqual([
        [1, 'SET', '{"v":1}'],
        [4, 'SET', '{"v":11}'],
        [5, 'SET', '{"v":3}'],
      ]);
      // Renamed after the fork from a name whose changes are before it: followed into the old instance.
      expect((await db.archive.history('Y')).entries.map((e) => [e.line, e.action, e.key])).toEqual([
        [3, 'SET', 'X'],
        [6, 'RENAME', 'Y'],
      ]);
      // Named on purpose, the old instance still answers along its own (cut-away) timeline.
      expect((await db.archive.read('K', { at: cut, instanceId: old })).document).toBe('{"v":2}');

      const target = path.join(root, 'at-t0');
      const restored = await db.restore.toTimestamp(t0, { targetDir: target });
      expect(restored.warnings.join('\n')).toContain(`restored from instance ${old}, whose history it shares`);
      const check = await createDB({ storeConfig: { dataDir: target } });
      expect([check.get('K'), check.get('J')]).toEqual([{ v: 1 }, { v: 1 }]);
      await check.close();
    } finally {
      await db.close();
    }
  }, 120_000);
});
