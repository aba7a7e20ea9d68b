/**
 * Continuous shipping beside WAL cleanup in a running database: a cleanup renumbers lines, raises
 * removedLines and deletes segments, and the shipper never sees the directory half way (a false
 * "changed under the running database", a flush that cannot confirm, lines shipped under other
 * numbers).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import type { ShippingEvent } from '../../../src/archive/shipping/shipper.js';
import { createDB, type BriDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-ship-cleanup-');

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

function failuresOf(db: BriDB): string[] {
  const failed: string[] = [];
  db.archive.on('shipping', (e: ShippingEvent) => {
    if (e.kind === 'ship-failed') failed.push(`${e.error.code}: ${e.error.message}`);
  });
  return failed;
}

describe('continuous shipping with WAL cleanup', () => {
  it('ships without a false failure while archives clean the WAL up under concurrent writes and flushes, and the remote alone restores the data', async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const remote = { provider: 'local' as const, name: 'nas', path: nas };
    const archive = { remotes: [remote], continuous: { enabled: true, intervalMs: 10 }, cleanupWal: true, compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), snapshotOnClose: false, walSegmentSize: 1500, archive } });
    const failed = failuresOf(db);
    const flushErrors: string[] = [];
    let cleaned = 0;
    db.archive.on('cleanup', (e: { step: string }) => {
      if (e.step === 'done') cleaned++;
    });
    try {
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 40; i++) await db.set(`K${i}`, { v: round, pad: 'y'.repeat(30) });
        const created = db.archive.create();
        // Writes and flushes go on while the archive's WAL cleanup runs.
        for (let i = 0; i < 30; i++) {
          await db.set(`W${i}`, { v: round });
          await db.archive.flushShipping().catch((err: Error & { code?: string }) => flushErrors.push(`${err.code}: ${err.message}`));
        }
        await created;
      }
      for (let i = 0; i < 10; i++) await db.set(`Z${i}`, { i });
      await db.archive.flushShipping();
      expect(cleaned).toBeGreaterThan(0);
      expect(failed).toEqual([]);
      expect(flushErrors).toEqual([]);
      expect(db.archive.shippingStatus()[0]).toMatchObject({ lagLines: 0, lastError: null });
      const expected = contents(db);
      await db.close();
      expect(await restoredFromRemoteAlone(r, remote)).toEqual(expected);
    } finally {
      await db.close().catch(() => undefined);
    }
  }, 120_000);
});
