/**
 * A createDB that fails after the store opened (a damaged bri-archive.json with continuous shipping, a
 * scheduler clock that is not one) leaves nothing behind in the process: the directory's lock held by a
 * database no caller has a handle to made every later createDB LOCKED until the process restarted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-open-fails-');

describe('a createDB that fails', () => {
  it('after the store opened (damaged bri-archive.json with shipping on) releases the lock: once the file is mended, createDB in the same process opens it', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const first = await createDB({ storeConfig: { dataDir } });
    await first.set('A', { v: 1 });
    await first.close();
    fs.writeFileSync(path.join(dataDir, 'bri-archive.json'), '{not json');
    const nas = path.join(r, 'nas');
    fs.mkdirSync(nas);
    const shipping = { storeConfig: { dataDir, archive: { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 1000 } } } };
    await expect(createDB(shipping)).rejects.toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/) });
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
    fs.rmSync(path.join(dataDir, 'bri-archive.json'));
    const again = await createDB(shipping);
    expect(again.get('A')).toEqual({ v: 1 });
    await again.close();
  });

  it('with a scheduler that is not one (clock: 5, a misspelt key, a negative holdoff) is CONFIG_INVALID before the directory is touched, and the next createDB opens it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    for (const scheduler of [{ clock: 5 }, { clock: { now: () => 0 } }, { clok: {} }, { retryHoldoffMs: -1 }, null, 'fast']) {
      const err = await createDB({ storeConfig: { dataDir, archive: { triggers: { intervalMs: 100_000 } } }, scheduler } as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(scheduler)).toMatchObject({ code: 'CONFIG_INVALID', details: { key: expect.stringMatching(/^scheduler/) } });
      expect(fs.existsSync(dataDir)).toBe(false);
    }
    const db = await createDB({ storeConfig: { dataDir, archive: { triggers: { intervalMs: 100_000 } } }, scheduler: { retryHoldoffMs: 10 } });
    await db.set('A', { v: 1 });
    await db.close();
  });
});
