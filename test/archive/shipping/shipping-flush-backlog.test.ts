/**
 * flushShipping() ships the whole WAL as it stood when it was called, however many runs that takes
 * (a run ships a bounded number of shipments), or says which remote fell short and where.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-ship-backlog-');

function contents(db: { keys(prefix?: string): string[]; getRaw(key: string): string | undefined }): Record<string, string | undefined> {
  return Object.fromEntries(db.keys().map((k) => [k, db.getRaw(k)]));
}

async function restoredFromRemoteAlone(r: string, remote: { provider: 'local'; name: string; path: string }): Promise<Record<string, string | undefined>> {
  const target = path.join(r, 'restored');
  await openRestore({ dataDir: target, config: { remotes: [remote] } }).fromLatest();
  const back = await createDB({ storeConfig: { dataDir: target, snapshotOnClose: false } });
  try {
    return contents(back);
  } finally {
    await back.close();
  }
}

describe('flushShipping', () => {
  it('ships a backlog of more segments than one run ships, whole', async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const remote = { provider: 'local' as const, name: 'nas', path: nas };
    // No timer tick and no rotation tick in time: everything is left for the flush.
    const archive = { remotes: [remote], continuous: { enabled: true, intervalMs: 3_600_000 }, compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), snapshotOnClose: false, walSegmentSize: 200, archive } });
    try {
      await db.archive.flushShipping();
      await db.archive.stopShipping();
      // Shipping stopped, the backlog grows: 140 lines of about 100 bytes, a segment each. Reopened, the first
      // run ships 64 segments and each later run 64 more: a flush of one run left lines behind.
      for (let i = 0; i < 140; i++) await db.set(`k${i}`, { i, pad: 'p'.repeat(60) });
      expect(db.info().segment).toBeGreaterThan(2 * 64);
    } finally {
      await db.close();
    }
    const again = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), snapshotOnClose: false, walSegmentSize: 200, archive } });
    try {
      await again.archive.flushShipping();
      const status = again.archive.shippingStatus()[0]!;
      expect(status).toMatchObject({ lagLines: 0, lastError: null });
      expect(status.shippedThrough).toBe(140);
      const expected = contents(again);
      await again.close();
      expect(await restoredFromRemoteAlone(r, remote)).toEqual(expected);
    } finally {
      await again.close().catch(() => undefined);
    }
  }, 120_000);
});
