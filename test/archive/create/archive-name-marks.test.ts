/**
 * Archive names in scripts written with combining marks (Devanagari's vowel signs and viramas, a decomposed
 * é) were refused as "not a valid archive name" while the hint said names are letters: the marks are part of
 * the letters. They are taken, written and read back as given; a name cannot start with a mark.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { readManifest } from '../../../src/archive/package/reader.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-archive-name-marks-');

describe('archive names with combining marks', () => {
  it('हिन्दी and a decomposed café are made, listed and read back as given; a name starting with a mark is USAGE', async () => {
    const db = await createDB({ storeConfig: { dataDir: path.join(await tmp(), 'data'), archive: { compression: { level: 1 } } } });
    try {
      const names = ['हिन्दी', 'cafe\u0301 nightly'];
      for (const [i, name] of names.entries()) {
        await db.set(`K${i}`, { i });
        const made = await db.archive.create({ name });
        expect(made.manifest.name).toBe(name);
        expect((await readManifest(made.file)).name).toBe(name);
      }
      expect((await db.archive.list()).map((a) => a.manifest.name)).toEqual(names);
      await db.set('K9', { i: 9 });
      await expect(db.archive.create({ name: '\u0301cafe' })).rejects.toMatchObject({ code: 'USAGE' });
    } finally {
      await db.close();
    }
  });
});
