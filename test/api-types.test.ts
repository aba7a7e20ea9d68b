/**
 * What the API's methods answer is typed by names the package exports (src/index.ts): a program can
 * hold an answer in a variable of that type. Checked by the compiler (tsconfig.check.json covers the
 * tests) and at run time by the answer's shape.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createDB,
  type CreatedAndStored,
  type DiffAnswer,
  type HistoryAnswer,
  type PruneReport,
  type ReadAnswer,
  type RollbackResult,
  type VerifyAllReport,
} from '../src/index.js';
import { useTempDirs } from './support/temp-dirs.js';

const tmp = useTempDirs('bri-api-types-');

describe('the API answers with exported types', () => {
  it('create, verifyAll, prune, history, read, diff and rollback answers fit the exported types', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      const at = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      await db.set('A', { v: 2 });
      const made: CreatedAndStored = await db.archive.create();
      const all: VerifyAllReport = await db.archive.verifyAll();
      const plan: PruneReport = await db.archive.prune({ dryRun: true });
      const history: HistoryAnswer = await db.archive.history('A');
      const read: ReadAnswer = await db.archive.read('A', { at });
      const diff: DiffAnswer = await db.restore.diff({ at });
      const rolled: RollbackResult = await db.restore.rollback(['A'], { at, dryRun: true });
      expect(made.archiveId).toMatch(/^\d{8}T/);
      expect(all.ok).toBe(true);
      expect(plan).toBeTypeOf('object');
      expect(history.entries.map((e) => e.action)).toEqual(['SET', 'SET']);
      expect(read.exists).toBe(true);
      expect(diff.changed).toEqual(['A']);
      expect(rolled.items.map((i) => i.key)).toEqual(['A']);
    } finally {
      await db.close();
    }
  }, 30_000);
});
