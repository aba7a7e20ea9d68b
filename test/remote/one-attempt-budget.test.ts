/**
 * A remote that accepts the connection and never answers: each call is tried as often as the retry
 * wrapper says, and no more. The SDKs' own retries (3 tries in S3 and Azure, 3 in GCS) ran inside each
 * of its attempts, 15 connections and 15 idle timeouts for a call whose error said "after 5 attempts".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../support/servers/azurite.js';
import { startBlackHole, type BlackHole } from '../support/servers/hung-servers.js';
import { S3RVER_CREDENTIALS } from '../support/servers/s3rver.js';

process.env.METADATA_SERVER_DETECTION = 'none';

let hole: BlackHole;
beforeAll(async () => {
  hole = await startBlackHole();
});
afterAll(async () => {
  await hole?.close();
});

const common = { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 }, timeouts: { connectMs: 1000, idleMs: 300 } };
/** The providers as a user configures them: no sdk* key. */
function defaults(provider: 's3' | 'gcs' | 'azure'): RemoteConfig {
  const endpoint = hole.endpoint;
  return {
    s3: { provider: 's3', bucket: 'bri', endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, ...common },
    gcs: { provider: 'gcs', bucket: 'bri', endpoint, projectId: 'test', ...common },
    azure: { provider: 'azure', container: 'bri', accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: `${endpoint}/${AZURITE_ACCOUNT}`, ...common },
  }[provider] as RemoteConfig;
}

describe('a remote that never answers, with the SDK settings left at their defaults', () => {
  for (const provider of ['s3', 'gcs', 'azure'] as const) {
    it(`${provider}: a call makes as many attempts (connections) as retry.maxAttempts, and its error says that number`, async () => {
      const store = createRemote(defaults(provider));
      const before = hole.accepted();
      try {
        const err = await store.head('archives/a1.bri').then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toMatchObject({ code: 'REMOTE_ERROR', message: expect.stringMatching(/gave up after 2 attempts/) });
        expect(hole.accepted() - before).toBe(2);
      } finally {
        await store.close();
      }
    }, 30_000);
  }
});
