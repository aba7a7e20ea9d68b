/**
 * flushShipping() promises the lines written so far are on every remote: once shipping is stopped no
 * shipper runs, and a flush that resolved would promise lines that stay in wal/ alone.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-flush-stopped-');

describe('flushShipping after stopShipping', () => {
  it('rejects USAGE saying shipping was stopped, and the lines written after the stop are not reported shipped', async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), snapshotOnClose: false, archive } });
    try {
      await db.set('A', { v: 1 });
      await db.archive.flushShipping();
      await db.archive.stopShipping();
      await db.set('B', { v: 2 });
      const err = await db.archive.flushShipping().then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'USAGE', details: { stopped: true } });
      expect((err as Error).message).toMatch(/shipping was stopped/);
      expect((err as { hint: string }).hint).toMatch(/open the database again/);
    } finally {
      await db.close();
    }
  }, 60_000);
});
