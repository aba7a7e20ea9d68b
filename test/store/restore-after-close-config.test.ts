/**
 * After close(), db.restore is the stopped database's: it read the caller's options object as it was at that
 * moment (answering from another database's archives once the object was reused, throwing CONFIG_INVALID
 * synchronously once it was changed into a setting this database never ran with).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-restore-after-close-config-');

describe('db.restore after close()', () => {
  it('after close(), db.restore answers from the archives of the configuration the database was opened with, and never throws: an options object changed since (reused, or made invalid) is not read', async () => {
    const r = await tempDir();
    const archive = { localDir: path.join(r, 'archA') };
    const opts = { storeConfig: { dataDir: path.join(r, 'dataA'), archive } };
    const dbA = await createDB(opts);
    await dbA.set('K', { v: 'a' });
    await dbA.archive.create({ name: 'A' });
    opts.storeConfig.dataDir = path.join(r, 'dataB');
    archive.localDir = path.join(r, 'archB');
    const dbB = await createDB(opts);
    await dbB.set('K', { v: 'b' });
    await dbB.archive.create({ name: 'B' });
    await dbB.close();
    // Later "tuned" into a setting this database never ran with.
    (archive as Record<string, unknown>).compression = { level: 99 };
    await dbA.close();
    let listing: ReturnType<typeof dbA.restore.list> | undefined;
    expect(() => {
      listing = dbA.restore.list();
    }).not.toThrow();
    expect((await listing!).archives.map((a) => a.manifest.name)).toEqual(['A']);
    const dry = await dbA.restore.fromLatest({ dryRun: true, force: true });
    expect(dry.plan?.archive?.manifest.name).toBe('A');
    const clone = path.join(r, 'cloneA');
    await dbA.restore.clone({ targetDir: clone });
    const c = await createDB({ storeConfig: { dataDir: clone } });
    try {
      expect(c.get('K')).toEqual({ v: 'a' });
    } finally {
      await c.close();
    }
  });

  it('after close(), db.restore uses the key the database was opened with (none): $BRI_ENCRYPTION_KEY set since, even to a bad value, is not read, and nothing throws synchronously', async () => {
    const r = await tempDir();
    const was = process.env.BRI_ENCRYPTION_KEY;
    delete process.env.BRI_ENCRYPTION_KEY;
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), archive: { compression: { level: 1 } } } });
    try {
      await db.set('K', { v: 1 });
      await db.archive.create({ name: 'plain' });
      await db.close();
      process.env.BRI_ENCRYPTION_KEY = 'not-a-key';
      let listing: ReturnType<typeof db.restore.list> | undefined;
      expect(() => {
        listing = db.restore.list();
      }).not.toThrow();
      expect((await listing!).archives.map((a) => a.manifest.name)).toEqual(['plain']);
      const clone = path.join(r, 'clone');
      await db.restore.clone({ targetDir: clone });
      delete process.env.BRI_ENCRYPTION_KEY;
      const c = await createDB({ storeConfig: { dataDir: clone } });
      expect(c.get('K')).toEqual({ v: 1 });
      await c.close();
    } finally {
      if (was === undefined) delete process.env.BRI_ENCRYPTION_KEY;
      else process.env.BRI_ENCRYPTION_KEY = was;
    }
  });
});
