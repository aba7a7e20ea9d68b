/**
 * db.close() with continuous shipping to a remote that accepts the connection and never answers: the final
 * shipment waited for the run in progress to fail, then tried again from the start (two retry budgets; 32.8 s
 * with idleMs 1000 and the SDK's retries, half an hour with the defaults), and rejected with a hint that said
 * shipping goes on while the database is open, of a database just closed. The run in progress is now the
 * last try, and the hint says which lines were not shipped and that they ship at the next open.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { startBlackHole, type BlackHole } from '../support/servers/hung-servers.js';
import { S3RVER_CREDENTIALS } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-silent-close-');
let hole: BlackHole;
beforeAll(async () => {
  hole = await startBlackHole();
});
afterAll(async () => {
  await hole?.close();
});

const IDLE_MS = 3000;
/** One call's retry budget: 2 attempts of IDLE_MS (and a backoff of at most 20 ms). */
const BUDGET_MS = 2 * IDLE_MS;

function silentS3(): RemoteConfig {
  return { provider: 's3', name: 's3', bucket: 'bri', endpoint: hole.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 }, timeouts: { connectMs: 1000, idleMs: IDLE_MS } };
}

describe('db.close() with continuous shipping to a remote that never answers', () => {
  it('waits one retry budget at most, closes, and rejects naming the lines not shipped, which ship at the next open', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [silentS3()], continuous: { enabled: true, intervalMs: 200 }, compression: { level: 1 } } } });
    for (let i = 0; i < 10; i++) await db.set(`K${i}`, { i });
    const t0 = Date.now();
    const err = await db.close().then(
      () => null,
      (e: unknown) => e,
    );
    const took = Date.now() - t0;
    expect(err).toMatchObject({ code: 'REMOTE_ERROR', details: { sources: ['s3'] } });
    expect((err as Error).message).toMatch(/^stopShipping: s3 /);
    const hint = (err as { hint: string }).hint;
    expect(hint).toMatch(/^Not shipped: .*s3.*They stay in wal\/ and ship at the next open/);
    expect(hint).not.toMatch(/while the database is open/);
    // The run in progress when close() began fails within one budget; no second one follows it.
    expect(took).toBeLessThan(BUDGET_MS + 1500);
    // Closed all the same: the lock is gone, and the lines are still in wal/.
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
  }, 90_000);
});
