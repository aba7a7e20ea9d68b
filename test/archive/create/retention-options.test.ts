/**
 * `create({ retention: { days: 30, permanent: true } })` made an archive that expired in 30 days: the key beside
 * `days` was dropped, and prune would later remove an archive the caller asked to keep forever. Refused now.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { Retention } from '../../../src/archive/create/create.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-retention-options-');

describe('create retention with a key beside days', () => {
  it('is USAGE naming the key, and makes no archive', async () => {
    const db = await createDB({ storeConfig: { dataDir: path.join(await tmp(), 'data'), archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      for (const retention of [{ days: 30, permanent: true }, { days: 30, until: '2030-01-01' }]) {
        await expect(db.archive.create({ retention: retention as unknown as Retention })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/has '(permanent|until)' beside days/) });
      }
      expect(await db.archive.list()).toEqual([]);
      const kept = await db.archive.create({ retention: { days: 30 } });
      expect(kept.manifest.permanent).toBe(false);
    } finally {
      await db.close();
    }
  });
});
