/**
 * flushShipping() resolves only when every line written is confirmed on every remote: a directory
 * changed under the running database (its bri-archive.json gone, so the end line reads lower than
 * what was shipped) is a failure said, never "caught up" with lag 0.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const root = useTempDirs('bri-flush-honest-');

describe('flushShipping', () => {
  it('rejects, and the status is not lag 0 with no error, when the data directory was changed under the running database', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 60_000 }, cleanupWal: true, compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 2048, archive } });
    try {
      for (let i = 0; i < 60; i++) await db.set(`A_${i}`, { i, body: 'x'.repeat(100) });
      await db.archive.create();
      for (let i = 0; i < 20; i++) await db.set(`B_${i}`, { i });
      await db.archive.flushShipping();
      const state = JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { removedLines: number };
      expect(state.removedLines).toBeGreaterThan(0);
      await fsp.rm(path.join(dataDir, 'bri-archive.json'));
      for (let i = 0; i < 5; i++) await db.set(`C_${i}`, { i });
      await expect(db.archive.flushShipping()).rejects.toMatchObject({ code: 'REMOTE_ERROR', message: expect.stringMatching(/nas .*changed under the running database/) });
      const status = db.archive.shippingStatus()[0]!;
      expect(status.lastError).toMatch(/changed under the running database/);
    } finally {
      await db.close().catch(() => undefined);
    }
  }, 60_000);
});
