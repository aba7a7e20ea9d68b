/**
 * Answers the scan's shortcuts got wrong: a prefix ending in half of a surrogate pair (its raw-text
 * needle escaped that half, which the WAL writes raw inside the whole character, so every line was
 * skipped).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-moments-');
const tick = () => new Promise((r) => setTimeout(r, 10));

describe('time travel answers', () => {
  it('rolls back a prefix ending in half an emoji to the values its keys had (it deleted them)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('😀a', 'A-at-T');
      await db.set('😀b', 'B-at-T');
      await db.set('😁c', 'C-at-T');
      await db.archive.create();
      await tick();
      const at = Date.now();
      await tick();
      await db.set('😀a', 'A-later');
      for (const prefix of ['😀'.slice(0, 1), '😀']) {
        const r = await db.restore.rollback({ prefix }, { at, dryRun: true });
        const want = [['😀a', 'A-at-T', 'set'], ['😀b', 'B-at-T', 'none']];
        if (prefix.length === 1) want.push(['😁c', 'C-at-T', 'none']);
        expect(r.items.map((i) => [i.key, i.atT, i.action])).toEqual(want);
      }
    } finally {
      await db.close();
    }
  }, 60_000);
});
