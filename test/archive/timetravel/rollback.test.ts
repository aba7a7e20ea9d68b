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

  it('a target it cannot read (a string, an object without prefix, an empty prefix, non-string keys, an unknown field) is USAGE and writes nothing; never a no-op said done, never every key', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      await db.set('A', { v: 1 });
      await db.set('B', { v: 1 });
      await tick();
      const at = Date.now();
      await tick();
      await db.set('A', { v: 2 });
      await db.set('B', { v: 2 });
      await db.set('C', { v: 2 });
      const before = db.info().totalLines;
      const bad: unknown[] = ['A', 'AB', { key: 'A' }, {}, { prefix: '' }, { prefix: 5 }, { prefix: 'A', keys: 'B' }, { prefix: 'A', keys: [1] }, { prefix: 'A', other: 1 }, [], [null], [5], null, undefined, 42];
      for (const target of bad) {
        for (const dryRun of [true, false]) {
          const err = await (db.restore.rollback as (t: unknown, o: object) => Promise<unknown>)(target, { at, dryRun }).then(
            () => null,
            (e: unknown) => e,
          );
          expect(err, JSON.stringify(target)).toMatchObject({ code: 'USAGE', hint: expect.stringMatching(/prefix/) });
        }
      }
      expect(db.info().totalLines).toBe(before);
      expect(db.get('A')).toEqual({ v: 2 });
      expect(db.get('C')).toEqual({ v: 2 });
      // The forms it takes still work: keys, a prefix, a prefix with keys.
      expect((await db.restore.rollback(['A'], { at })).writes).toBe(1);
      expect(db.get('A')).toEqual({ v: 1 });
      const r = await db.restore.rollback({ prefix: 'C', keys: ['B'] }, { at, dryRun: true });
      expect(r.items.map((i) => [i.key, i.action])).toEqual([['B', 'set'], ['C', 'delete']]);
    } finally {
      await db.close();
    }
  });
});
