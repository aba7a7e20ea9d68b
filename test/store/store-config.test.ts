import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type CreateDBOptions } from '../../src/db.js';
import { BriStore } from '../../src/store/store.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-store-config-');

/** createDB with `storeConfig` (a plain JavaScript caller: no types) on a directory that does not exist yet. */
async function refusal(storeConfig: Record<string, unknown>, top: Record<string, unknown> = {}): Promise<{ code: string; message: string; dirMade: boolean }> {
  const dataDir = path.join(await tempDir(), 'data');
  const err = await createDB({ storeConfig: { dataDir, ...storeConfig }, ...top } as unknown as CreateDBOptions).then(
    async (db) => {
      await db.close();
      return null;
    },
    (e: { code: string; message: string }) => e,
  );
  if (err === null) throw new Error(`accepted: ${JSON.stringify(storeConfig)} ${JSON.stringify(top)}`);
  return { code: err.code, message: err.message, dirMade: fs.existsSync(dataDir) };
}

describe('storeConfig', () => {
  it.each([
    [{ snapshotVersion: 7 }, /^storeConfig\.snapshotVersion: must be 1 or 2/],
    [{ snapshotVersion: '2' }, /^storeConfig\.snapshotVersion: must be 1 or 2/],
    [{ fsyncMode: 'alwayz' }, /^storeConfig\.fsyncMode: must be 'always' \(acknowledged after fdatasync\) or 'batched'/],
    [{ walSegmentSize: '10MB' }, /^storeConfig\.walSegmentSize: must be a whole number of bytes, at least 1/],
    [{ walSegmentSize: '200' }, /^storeConfig\.walSegmentSize: /],
    [{ walSegmentSize: Number.NaN }, /^storeConfig\.walSegmentSize: /],
    [{ walSegmentSize: 0 }, /^storeConfig\.walSegmentSize: /],
    [{ walSegmentSize: -1 }, /^storeConfig\.walSegmentSize: /],
    [{ walSegmentSize: 1.5 }, /^storeConfig\.walSegmentSize: /],
    [{ fsyncMode: 'batched', batchIntervalMs: 0 }, /^storeConfig\.batchIntervalMs: must be a whole number of milliseconds/],
    [{ fsyncMode: 'batched', batchIntervalMs: 3_000_000_000 }, /^storeConfig\.batchIntervalMs: must be at most 2147483647 ms/],
    [{ batchIntervalMs: 50 }, /^storeConfig\.batchIntervalMs: takes effect only with fsyncMode: 'batched'/],
    [{ invalidLines: 'ignore' }, /^storeConfig\.invalidLines: must be 'error' or 'skip'/],
    [{ snapshotOnClose: 'no' }, /^storeConfig\.snapshotOnClose: must be true or false/],
    [{ createIfMissing: 1 }, /^storeConfig\.createIfMissing: must be true or false/],
    [{ encryptionKey: 'abc' }, /^storeConfig\.encryptionKey: must be 64 hex characters/],
    [{ archve: { triggers: { intervalMs: 1000 } } }, /^storeConfig: unknown key\(s\) 'archve' \(the keys are dataDir, walSegmentSize, fsyncMode, batchIntervalMs, encryptionKey, snapshotVersion, snapshotOnClose, invalidLines, createIfMissing, maxMemoryMB, archive\)$/],
  ])('refuses %j with CONFIG_INVALID naming the key, before the data directory is made', async (config, message) => {
    const r = await refusal(config);
    expect(r).toMatchObject({ code: 'CONFIG_INVALID', dirMade: false });
    expect(r.message).toMatch(message);
  });

  it('takes an archive block beside storeConfig as the design note writes it (validated as storeConfig.archive), never both, never ignored', async () => {
    expect(await refusal({ archive: { keepLocal: 1 } }, { archive: { keepLocal: 2 } })).toEqual({ code: 'CONFIG_INVALID', message: 'createDB: the archive block is given both beside storeConfig and inside it: keep one', dirMade: false });
    expect(await refusal({}, { archive: { triggers: { schedule: '61 * * * *' } } })).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^archive\.triggers\.schedule: is not a cron expression/), dirMade: false });
    expect(await refusal({}, { archve: {} })).toEqual({ code: 'CONFIG_INVALID', message: "createDB: unknown option(s) 'archve' (it takes storeConfig and archive and scheduler)", dirMade: false });
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir }, archive: { walEntries: 3, compression: { level: 1 } } } as CreateDBOptions);
    try {
      const finished = new Promise((resolve) => db.archive.once('finished', resolve));
      for (let i = 0; i < 3; i++) await db.set(`K_${i}`, { i });
      await finished;
      expect(await db.archive.list()).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it('never repeats the encryption key in its error', async () => {
    const key = 'f'.repeat(63) + 'g';
    const r = await refusal({ encryptionKey: key });
    expect(r.code).toBe('CONFIG_INVALID');
    expect(r.message).not.toContain(key);
  });

  it('a snapshotVersion the reader refuses is never written: the directory stays openable', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('K_1', { a: 1 });
    await db.close();
    await expect(createDB({ storeConfig: { dataDir, snapshotVersion: 7 } } as unknown as CreateDBOptions)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(BriStore.open({ dataDir, snapshotVersion: 7 } as unknown as Parameters<typeof BriStore.open>[0])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('K_1')).toEqual({ a: 1 });
    await again.close();
  });

  it('takes every documented option', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({
      storeConfig: {
        dataDir,
        walSegmentSize: 600,
        fsyncMode: 'batched',
        batchIntervalMs: 5,
        encryptionKey: '00'.repeat(32),
        snapshotVersion: 1,
        snapshotOnClose: true,
        invalidLines: 'skip',
        createIfMissing: true,
        archive: { triggers: { manual: true } },
      },
    });
    for (let i = 0; i < 20; i++) await db.set(`K_${i}`, { i, pad: 'x'.repeat(40) });
    expect(db.info().segment).toBeGreaterThan(1);
    await db.close();
    const again = await createDB({ storeConfig: { dataDir, encryptionKey: '00'.repeat(32), fsyncMode: 'always', walSegmentSize: undefined } });
    expect(again.get('K_19')).toMatchObject({ i: 19 });
    await again.close();
  });
});
