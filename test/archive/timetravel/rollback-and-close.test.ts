/**
 * A close() (a SIGTERM handler) while db.restore.rollback() writes: the rollback's writes were awaited one by one,
 * so the close came between two of them and left some keys at T and the others not, with a bare STORE_CLOSED.
 * Now the rollback is all in or none, and a refused one says which keys were written (none).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-rollback-close-');
const tick = () => new Promise((r) => setTimeout(r, 5));
const KEYS = Array.from({ length: 200 }, (_, i) => `ORDER_${String(i).padStart(3, '0')}`);

async function oldThenNew(dataDir: string): Promise<{ db: BriDB; at: number }> {
  const db = await createDB({ storeConfig: { dataDir } });
  await Promise.all(KEYS.map((k) => db.set(k, { v: 'old' })));
  await tick();
  const at = Date.now();
  await tick();
  await Promise.all(KEYS.map((k) => db.set(k, { v: 'new' })));
  return { db, at };
}

async function valuesAfterReopen(dataDir: string): Promise<Record<string, number>> {
  const db = await createDB({ storeConfig: { dataDir } });
  try {
    const count: Record<string, number> = {};
    for (const k of KEYS) {
      const v = db.get<{ v: string }>(k)!.v;
      count[v] = (count[v] ?? 0) + 1;
    }
    return count;
  } finally {
    await db.close();
  }
}

describe('rollback and close()', () => {
  it('close() called once the first key is rolled back: every key is rolled back, and the rollback resolves', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const { db, at } = await oldThenNew(dataDir);
    const rollback = db.restore.rollback({ prefix: 'ORDER_' }, { at });
    let closed: Promise<void> | null = null;
    await new Promise<void>((resolve) => {
      const poll = () => {
        if (db.get<{ v: string }>('ORDER_000')?.v === 'old') {
          closed = db.close();
          resolve();
        } else setImmediate(poll);
      };
      poll();
    });
    const r = await rollback;
    await closed;
    expect(r.writes).toBe(200);
    expect(await valuesAfterReopen(dataDir)).toEqual({ old: 200 });
  });

  it('close() called before the rollback writes: no key is written, and the STORE_CLOSED says so (details.written empty, every key not written)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const { db, at } = await oldThenNew(dataDir);
    const rollback = db.restore.rollback({ prefix: 'ORDER_' }, { at });
    const closed = db.close();
    const err = await rollback.then(
      () => null,
      (e: unknown) => e as { code: string; message: string; hint: string; details: Record<string, unknown> },
    );
    await closed;
    expect(err).toMatchObject({ code: 'STORE_CLOSED', message: expect.stringMatching(/^rollback: no key was written: the database is clos(ing|ed)/), details: { written: [], notWritten: KEYS } });
    expect(err!.hint).toMatch(/run the same rollback again/);
    expect(await valuesAfterReopen(dataDir)).toEqual({ new: 200 });
  });
});
