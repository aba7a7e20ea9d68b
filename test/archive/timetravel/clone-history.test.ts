/**
 * A clone's history of a document made before the clone: the lines before the clone's start are in the
 * archives of the instance it came from, and that is said (missing) before the clone archives and after,
 * never an empty history that reads as "the document never changed".
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-clone-history-');

describe("a clone's history before its start", () => {
  it('says the lines before the clone are in the archives it came from, once the clone has archives of its own too', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const cloneDir = path.join(r, 'clone');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A_0', { v: 1 });
    await db.archive.create();
    await db.set('B_0', { v: 1 });
    await db.archive.create();
    await db.close();
    const parent = openRestore({ dataDir, config: {} });
    await parent.clone({ targetDir: cloneDir });
    await parent.close();
    const clone = await createDB({ storeConfig: { dataDir: cloneDir, archive: { compression: { level: 1 } } } });
    await clone.set('C_0', { v: 1 });
    const asked = async () => {
      const api = openRestore({ dataDir: cloneDir, config: {} });
      try {
        return [await api.history('A_0', {}), await api.history('A_0', { from: '2020-01-01' })];
      } finally {
        await api.close();
      }
    };
    const before = await asked();
    await clone.archive.create();
    await clone.close();
    const after = await asked();
    const said = { fromLine: 1, toLine: expect.any(Number), reason: expect.stringContaining('in the archives of the instance it was cloned or restored from') };
    expect(before[0]!.missing[0]).toEqual(said);
    for (const h of [...before, ...after]) {
      expect(h.entries).toEqual([]);
      expect(h.missing[0]).toEqual(before[0]!.missing[0]);
    }
  }, 60_000);
});
