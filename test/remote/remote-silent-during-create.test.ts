/**
 * A remote that accepts the connection and never answers, during db.archive.create(): the check for another
 * directory archiving the instance lists every remote before the archive is made, and waited out the remote's
 * whole retry budget (15 min 50 s with the defaults) before the local archive was written. The local archive
 * is now made while the remote is still silent; the remote's failure is the upload's, reported in the result.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { startBlackHole, type BlackHole } from '../support/servers/hung-servers.js';
import { S3RVER_CREDENTIALS } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-silent-create-');
let hole: BlackHole;
beforeAll(async () => {
  hole = await startBlackHole();
});
afterAll(async () => {
  await hole?.close();
});

/** Each call to the silent remote takes 2 attempts of 3 s. */
function silentS3(): RemoteConfig {
  return { provider: 's3', name: 's3', bucket: 'bri', endpoint: hole.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 }, timeouts: { connectMs: 1000, idleMs: 3000 } };
}

/** When a new archive file appears in `dir`, in ms after `t0` (polled). */
function whenArchiveAppears(dir: string, t0: number): { stop(): number | null } {
  const archives = () => fs.readdirSync(dir).filter((n) => n.endsWith('.bri'));
  const before = new Set(archives());
  let at: number | null = null;
  const timer = setInterval(() => {
    if (at === null && archives().some((n) => !before.has(n))) at = Date.now() - t0;
  }, 25);
  return {
    stop: () => {
      clearInterval(timer);
      return at;
    },
  };
}

describe('db.archive.create() with a remote that never answers', () => {
  it('writes the local archive without waiting for the silent remote, and reports the upload that failed', async () => {
    const dataDir = path.join(await tmp(), 'data');
    // An archive made before the remote was configured: the check runs from the second archive of an instance on.
    const first = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await first.set('K', { v: 0 });
    await first.archive.create();
    await first.close();
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [silentS3()], compression: { level: 1 } } } });
    try {
      await db.set('K', { v: 1 });
      const t0 = Date.now();
      const watch = whenArchiveAppears(path.join(dataDir, 'archives'), t0);
      const made = await db.archive.create();
      const appearedAfter = watch.stop();
      // The remote's listing alone takes 2 x 3 s: the archive is on disk long before it gives up.
      expect(appearedAfter).not.toBeNull();
      expect(appearedAfter!).toBeLessThan(5000);
      expect(fs.existsSync(made.file)).toBe(true);
      // Both archives (the first was made before the remote was configured), failed and said.
      expect(made.uploads.map((u) => [u.source, u.outcome])).toEqual([
        ['s3', 'failed'],
        ['s3', 'failed'],
      ]);
    } finally {
      await db.close().catch(() => undefined);
    }
  }, 90_000);
});
