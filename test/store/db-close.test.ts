import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-db-close-');

describe('db.close', () => {
  it('two close() calls at the same time both resolve once the database is closed, and a third one after them too', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { triggers: { walEntries: 1000 } } } });
    await db.set('K_1', { a: 1 });
    const order: string[] = [];
    const both = await Promise.allSettled([db.close().then(() => order.push('first')), db.close().then(() => order.push(`second, closed: ${db.isClosed}`))]);
    expect(both.map((r) => (r.status === 'rejected' ? `${(r.reason as { code?: string }).code}: ${(r.reason as Error).message}` : r.status))).toEqual(['fulfilled', 'fulfilled']);
    // The second waited for the first: it resolved with the database closed, not before.
    expect(order).toEqual(['first', 'second, closed: true']);
    await expect(db.close()).resolves.toBeUndefined();
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('K_1')).toEqual({ a: 1 });
    await again.close();
  });
});
