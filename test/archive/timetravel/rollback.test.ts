/**
 * A rollback's `at` is read by the one time parser every time-travel query uses: given as ms digits in
 * a string (a form the parser takes), it came back as NaN (new Date('1717200000000') is invalid).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-rollback-');
const tick = () => new Promise((r) => setTimeout(r, 4));

describe('rollback', () => {
  it('answers the moment it was given in any form the time parser takes, as read does', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      await db.set('A', { v: 1 });
      await tick();
      const ms = Date.now();
      await tick();
      await db.set('A', { v: 2 });
      for (const at of [String(ms), ms, new Date(ms).toISOString()]) {
        const r = await db.restore.rollback(['A'], { at, dryRun: true });
        expect(r.at).toBe(ms);
        expect(r.at).toBe((await db.restore.read('A', { at })).at);
        expect(r.items).toEqual([expect.objectContaining({ key: 'A', atT: '{"v":1}', action: 'set' })]);
      }
    } finally {
      await db.close();
    }
  });
});
