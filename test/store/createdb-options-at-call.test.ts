/**
 * createDB takes its options as they are at the call. It awaits (opening the store) before it has read them all,
 * and an application that reuses one options object for its next database (a new localDir, a new dataDir) sent
 * this database's archives to the other one's directory; after close(), db.restore read the object as it was then.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-options-at-call-');

describe('createDB options', () => {
  it('an options object changed right after the call (reused for the next database) changes nothing of the first: its archives go where it was told', async () => {
    const r = await tempDir();
    const [dataA, dataB, archA, archB] = ['dataA', 'dataB', 'archA', 'archB'].map((d) => path.join(r, d)) as [string, string, string, string];
    const seen: string[] = [];
    const archive = { localDir: archA, compression: { level: 1 }, hooks: { afterArchive: () => void seen.push('A') } };
    const opts = { storeConfig: { dataDir: dataA, archive } };
    const pA = createDB(opts);
    archive.localDir = archB;
    archive.compression.level = 99; // would be CONFIG_INVALID, had it been read
    archive.hooks.afterArchive = () => void seen.push('B');
    opts.storeConfig.dataDir = dataB;
    archive.compression.level = 2;
    const pB = createDB(opts);
    const [A, B] = await Promise.all([pA, pB]);
    try {
      expect(A.dataDir).toBe(dataA);
      expect(A.archive.archiveDir).toBe(archA);
      expect(B.dataDir).toBe(dataB);
      expect(B.archive.archiveDir).toBe(archB);
      await A.set('K', { v: 'a' });
      await B.set('K', { v: 'b' });
      const madeA = await A.archive.create();
      const madeB = await B.archive.create();
      expect(path.dirname(madeA.file)).toBe(archA);
      expect(path.dirname(madeB.file)).toBe(archB);
      expect(fs.readdirSync(archB).filter((f) => f.endsWith('.bri'))).toEqual([path.basename(madeB.file)]);
      // Each database kept its own hook: the one given when it was created.
      expect(seen).toEqual(['A', 'B']);
    } finally {
      await A.close();
      await B.close();
    }
  });
});
