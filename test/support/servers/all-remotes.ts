/**
 * Every kind of remote at once, for end-to-end tests: s3rver, Azurite and the
 * GCS test server on 127.0.0.1, plus a local directory, each with a bucket or
 * container made for the test, and the archive-config entries that point at them.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { makeTempDir } from '../fixtures.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from './azurite.js';
import { startGcsServer, type GcsTestServer } from './gcs.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from './s3rver.js';

// Never let google-auth-library look for the GCE metadata server from a test (children inherit it).
process.env.METADATA_SERVER_DETECTION = 'none';

export const E2E_BUCKET = 'bri-e2e';

export interface AllRemotes {
  s3: S3rverServer;
  azure: AzuriteServer;
  gcs: GcsTestServer;
  /** Root of the local-directory remote. */
  dir: string;
  /** Config entries, named 'nas', 's3', 'gcs', 'azure', each under `prefix`. */
  configs(prefix: string, endpoints?: Partial<Record<'s3' | 'gcs' | 'azure', string>>): RemoteConfig[];
  dispose(): Promise<void>;
}

export async function startAllRemotes(): Promise<AllRemotes> {
  const [s3, azure, gcs] = await Promise.all([startS3rver([E2E_BUCKET]), startAzurite(), startGcsServer([E2E_BUCKET])]);
  const { BlobServiceClient } = await import('@azure/storage-blob');
  await BlobServiceClient.fromConnectionString(azure.connectionString).getContainerClient(E2E_BUCKET).createIfNotExists();
  const dir = await makeTempDir('bri-nas-');
  // Like a bucket, the local remote's root must exist: a missing mount point is an error, not created.
  await fsp.mkdir(path.join(dir, 'nas'));
  // Quick retries: the tests kill servers and inject 503s, and must not wait for production backoff.
  const retry = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 200 };
  return {
    s3,
    azure,
    gcs,
    dir,
    configs: (prefix, endpoints = {}) => [
      { provider: 'local', name: 'nas', path: path.join(dir, 'nas'), prefix },
      { provider: 's3', name: 's3', bucket: E2E_BUCKET, prefix, endpoint: endpoints.s3 ?? s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, sdkMaxAttempts: 1, retry },
      { provider: 'gcs', name: 'gcs', bucket: E2E_BUCKET, prefix, endpoint: endpoints.gcs ?? gcs.endpoint, projectId: 'test', sdkMaxRetries: 0, retry },
      {
        provider: 'azure',
        name: 'azure',
        container: E2E_BUCKET,
        prefix,
        accountName: AZURITE_ACCOUNT,
        accountKey: AZURITE_KEY,
        endpoint: endpoints.azure ?? azure.blobEndpoint,
        sdkMaxTries: 1,
        retry,
      },
    ],
    dispose: async () => {
      await Promise.allSettled([s3.dispose(), azure.dispose(), gcs.dispose()]);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
