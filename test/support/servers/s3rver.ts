/** s3rver for the tests: a child process on a free port with a temporary directory. */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { freePort, spawnServer, tsServerArgs, type RunningServer } from './spawn-server.js';

/** The credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3rverServer extends RunningServer {
  endpoint: string;
  dir: string;
  /** Stops the server and removes its directory. */
  dispose(): Promise<void>;
}

export async function startS3rver(buckets: string[] = ['bri-test'], port?: number, dir?: string): Promise<S3rverServer> {
  const root = dir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-s3rver-')));
  const p = port ?? (await freePort());
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in its legacy provider.
  const { command, args } = tsServerArgs('s3rver-main.ts', ['--port', String(p), '--dir', root, '--buckets', buckets.join(',')], ['--openssl-legacy-provider']);
  const server = await spawnServer({ command, args, port: p, ready: /S3RVER READY/ });
  return {
    ...server,
    endpoint: `http://127.0.0.1:${p}`,
    dir: root,
    dispose: async () => {
      await server.stop();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * An s3rver for the whole test file, started before its tests and stopped after; `s3()` is the
 * running server, and `config(prefix)` an S3 remote on it under a fresh prefix.
 */
export function useS3rver(bucket: string): { s3(): S3rverServer; config(name?: string): RemoteConfig } {
  let server: S3rverServer | undefined;
  beforeAll(async () => {
    server = await startS3rver([bucket]);
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });
  return {
    s3: () => server!,
    config: (name = 's3') => ({ provider: 's3', name, bucket, prefix: `p-${randomBytes(4).toString('hex')}`, endpoint: server!.endpoint, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS }, sdkMaxAttempts: 1, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 } }),
  };
}
