/**
 * A misspelt option key of db.archive / db.restore: `delete(id, { sorce: 'nas' })` deleted every copy (the
 * key dropped, so no source was named); list/get/stats/verify/download answered for every source. Each call
 * now refuses a key it does not take (USAGE naming it), before anything is read or deleted. And a call's own
 * synchronous throw (thaw's) is its rejection: `db.archive.thaw(opts).catch(...)` sees it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-api-options-');

describe('option keys of db.archive and db.restore', () => {
  it('a misspelt key is USAGE naming it, and delete deletes no copy', async () => {
    const root = await tmp();
    const nas = path.join(root, 'nas');
    fs.mkdirSync(nas);
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }], compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      const { archiveId } = await db.archive.create();
      const bad = { sorce: 'nas' } as unknown as { source: string };
      await expect(db.archive.delete(archiveId, bad)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/db\.archive\.delete: unknown option\(s\) 'sorce'/) });
      expect((await db.archive.get(archiveId)).copies.map((c) => c.source).sort()).toEqual(['local', 'nas']);
      for (const call of [
        () => db.archive.list(bad),
        () => db.archive.get(archiveId, bad),
        () => db.archive.stats(bad),
        () => db.archive.verify(archiveId, bad),
        () => db.archive.download(archiveId, path.join(root, 'x.bri'), bad),
        () => db.archive.upload(bad),
        () => db.restore.list(bad),
        () => db.restore.verify(archiveId, bad),
        () => db.restore.read('A', { at: Date.now(), ...bad }),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'USAGE', details: { unknown: ['sorce'] } });
      }
      // Rightly spelt, the same call works.
      expect((await db.archive.list({ source: 'nas' })).length).toBe(1);
      expect(fs.existsSync(path.join(root, 'x.bri'))).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('thaw with options it refuses rejects, never throws synchronously', async () => {
    const db = await createDB({ storeConfig: { dataDir: path.join(await tmp(), 'data') } });
    try {
      let thrown: unknown = null;
      let rejected: unknown = null;
      try {
        await db.archive.thaw({}).catch((err: unknown) => {
          rejected = err;
        });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeNull();
      expect(rejected).toMatchObject({ code: 'USAGE' });
    } finally {
      await db.close();
    }
  });
});
