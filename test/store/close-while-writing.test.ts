import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/index.js';
import { BriStore } from '../../src/store/store.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-close-writing-');

interface LoopOutcome {
  acked: number;
  error: { code?: string; message: string } | null;
}

/** An application writing K0, K1, ... one awaited set after another until a write is refused. */
function writeUntilRefused(store: { set(key: string, value: object): Promise<unknown> }): Promise<LoopOutcome> {
  return (async () => {
    let n = 0;
    try {
      for (;;) {
        await store.set(`K${n}`, { n });
        n++;
      }
    } catch (err) {
      return { acked: n, error: err as { code?: string; message: string } };
    }
  })();
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('close() while the application writes', () => {
  for (const fsyncMode of ['always', 'batched'] as const) {
    it(`(${fsyncMode}) every write acknowledged before the close is kept, the first one after it is refused STORE_CLOSED and is not in the directory`, async () => {
      for (const ms of [5, 20, 40]) {
        const dataDir = path.join(await tempDir(), 'data');
        const store = await BriStore.open({ dataDir, fsyncMode, ...(fsyncMode === 'batched' ? { batchIntervalMs: 3 } : {}) });
        const loop = writeUntilRefused(store);
        await delay(ms);
        await store.close();
        const { acked, error } = await loop;
        expect(error?.code, error?.message).toBe('STORE_CLOSED');
        const again = await BriStore.open({ dataDir });
        expect(again.keys('K').length).toBe(acked);
        expect(again.has(`K${acked}`)).toBe(false);
        await again.close();
      }
    });
  }

  it('writes issued in the same tick as close() are either acknowledged and kept, or refused STORE_CLOSED and absent', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const store = await BriStore.open({ dataDir });
    for (let i = 0; i < 50; i++) await store.set(`A${i}`, { i });
    const before = Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.set(`B${i}`, { i })));
    const closing = store.close();
    const after = Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.set(`C${i}`, { i })));
    await closing;
    const results = [...(await before), ...(await after)];
    expect(results.slice(0, 20).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results.slice(20).map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'fulfilled'))).toEqual(Array(20).fill('STORE_CLOSED'));
    const again = await BriStore.open({ dataDir });
    expect(again.keys('B').length).toBe(20);
    expect(again.keys('C')).toEqual([]);
    await again.close();
  });

  it('db.close() during db.restore.rollback(): the rollback ends with STORE_CLOSED or resolves, never an I/O error, and what it wrote is kept', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 300; i++) await db.set(`ORDER_${i}`, { v: 'old' });
    await db.archive.create();
    await delay(5);
    const at = Date.now();
    await delay(5);
    for (let i = 0; i < 300; i++) await db.set(`ORDER_${i}`, { v: 'new' });
    // Closed (as a SIGTERM handler would) once the rollback's first write is out.
    let closing: Promise<void> | null = null;
    const off = db.onAppend(() => {
      off();
      closing = db.close();
    });
    const rollback = db.restore.rollback({ prefix: 'ORDER_' }, { at }).then(
      () => 'resolved',
      (err: { code?: string; message: string }) => `${err.code}: ${err.message}`,
    );
    await rollback;
    expect(closing).not.toBeNull();
    await closing;
    const outcome = await rollback;
    expect(outcome === 'resolved' || outcome.startsWith('STORE_CLOSED'), outcome).toBe(true);
    const again = await createDB({ storeConfig: { dataDir } });
    const values = new Set(Array.from({ length: 300 }, (_, i) => again.get<{ v: string }>(`ORDER_${i}`)?.v));
    expect([...values].every((v) => v === 'old' || v === 'new')).toBe(true);
    await again.close();
  });
});
