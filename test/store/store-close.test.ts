import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BriStore } from '../../src/store/store.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-store-close-');

function outcome(r: PromiseSettledResult<unknown>): string {
  return r.status === 'rejected' ? `${(r.reason as { code?: string }).code}: ${(r.reason as Error).message}` : r.status;
}

describe('BriStore.close', () => {
  it('two close() calls at the same time both resolve once the store is closed, with one final snapshot, and a third one after them too', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const store = await BriStore.open({ dataDir });
    await store.set('K_1', { a: 1 });
    const order: string[] = [];
    const both = await Promise.allSettled([store.close().then(() => order.push('first')), store.close().then(() => order.push(`second, closed: ${store.isClosed}`))]);
    expect(both.map(outcome)).toEqual(['fulfilled', 'fulfilled']);
    // The second waited for the first: it resolved with the store closed, not before.
    expect(order).toEqual(['first', 'second, closed: true']);
    await expect(store.close()).resolves.toBeUndefined();
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
    // One close, one snapshot and one rotation: no empty segment left by a second one.
    expect(fs.readdirSync(path.join(dataDir, 'wal')).sort()).toEqual(['000000.wal', '000001.wal']);
    const again = await BriStore.open({ dataDir });
    expect(again.get('K_1')).toEqual({ a: 1 });
    expect(again.info().snapshotLine).toBe(1);
    await again.close();
  });

  it('two close() calls at the same time both reject with the same error when the final snapshot cannot be written', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const store = await BriStore.open({ dataDir });
    await store.set('K_1', { a: 1 });
    // snapshot.jss.tmp as a directory: the snapshot's temp file cannot be created.
    fs.mkdirSync(path.join(dataDir, 'snapshot.jss.tmp', 'x'), { recursive: true });
    const both = await Promise.allSettled([store.close(), store.close()]);
    expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(outcome(both[1]!)).toBe(outcome(both[0]!));
    expect(store.isClosed).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
  });
});
