import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { createS3Remote } from '../../src/remote/s3/s3.js';
import { s3ErrorBody } from '../support/servers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../support/servers/s3rver.js';
import { runConformance, streamDigest } from './conformance.js';
import { faultPrefix, runFaultSuite, type FaultConfigOptions } from './fault-suite.js';

let server: S3rverServer;

beforeAll(async () => {
  server = await startS3rver(['bri-test']);
});

afterAll(async () => {
  await server?.dispose();
});

runConformance(
  's3 (s3rver)',
  async () =>
    createS3Remote({
      bucket: 'bri-test',
      prefix: `conf-${randomBytes(4).toString('hex')}/`,
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { ...S3RVER_CREDENTIALS },
      listPageSize: 2,
    }),
  {
    slashSiblingOrder: false,
    extraTests: (store, files) => {
      it('a multipart upload (12 MiB in 8 MiB parts) is stored byte for byte, confirmed by the ETag', async () => {
        const f = files().medium;
        const res = await store().put('mp/big.bin', { path: f.path }, { size: f.size, sha256: f.sha256 });
        // s3rver reports the MD5 of the whole object for multipart uploads; AWS the MD5 of part MD5s.
        expect(['md5', 'multipart-md5', 'multipart-sha256']).toContain(res.checksum.algorithm);
        expect(await streamDigest(await store().get('mp/big.bin'))).toEqual({ sha256: f.sha256, size: f.size });
        await store().delete('mp/big.bin');
      });

      it('a single-part PutObject is stored without aws-chunked framing (ETag = MD5 of the file)', async () => {
        const f = files().small;
        const res = await store().put('sp/small.bin', { path: f.path }, { size: f.size, sha256: f.sha256 });
        expect(res.checksum).toEqual({ algorithm: 'md5', value: f.md5 });
        expect(await streamDigest(await store().get('sp/small.bin'))).toEqual({ sha256: f.sha256, size: f.size });
      });

      it('with sha256Checksums (the AWS default) a server that ignores them still gets byte-exact objects, confirmed by the ETag', async () => {
        const aws = createS3Remote({
          bucket: 'bri-test',
          prefix: `sha-${randomBytes(3).toString('hex')}/`,
          endpoint: server.endpoint,
          region: 'us-east-1',
          credentials: { ...S3RVER_CREDENTIALS },
          sha256Checksums: true,
        });
        for (const [key, f] of [
          ['single.bin', files().small],
          ['multi.bin', files().medium],
        ] as const) {
          const res = await aws.put(key, { path: f.path }, { size: f.size, sha256: f.sha256 });
          expect(res.checksum.algorithm).toBe('md5');
          expect(await streamDigest(await aws.get(key))).toEqual({ sha256: f.sha256, size: f.size });
          await aws.delete(key);
        }
        await aws.close();
      });

      it('applyLifecycle is a documented no-op where the server refuses it', async () => {
        const res = await store().applyLifecycle({ transitionAfterDays: 30, expireAfterDays: 400 });
        expect(res.applied).toBe(false);
        expect(res.reason).toMatch(/not support/);
      });
    },
  },
);

const S3_ERROR_CODES = { 403: 'AccessDenied', 500: 'InternalError', 503: 'SlowDown' } as const;
const isS3List = (r: { method: string; url: string }): boolean => r.method === 'GET' && /[?&]list-type=2/.test(r.url);

function s3FaultConfig(o: FaultConfigOptions): RemoteConfig {
  return {
    provider: 's3',
    bucket: o.missingBucket ? 'no-such-bucket' : 'bri-test',
    prefix: faultPrefix(),
    endpoint: `http://127.0.0.1:${o.port}`,
    region: 'us-east-1',
    credentials: o.forbidden ? { accessKeyId: 'WRONG', secretAccessKey: 'WRONG-SECRET-1234' } : { ...S3RVER_CREDENTIALS },
    sdkMaxAttempts: 1,
    ...(o.listPageSize !== undefined ? { listPageSize: o.listPageSize } : {}),
  };
}

runFaultSuite({
  name: 's3 (s3rver)',
  missing: 'bucket',
  config: s3FaultConfig,
  http: {
    serverPort: () => server.port,
    error: (status) => ({ kind: 'status', status, body: s3ErrorBody(S3_ERROR_CODES[status]) }),
    isUpload: (r) => r.method === 'PUT',
    isPart: (r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url),
    isList: isS3List,
    isListNextPage: (r) => isS3List(r) && /[?&]continuation-token=/.test(r.url),
    isDownload: (r) => r.method === 'GET' && !isS3List(r),
    // Custom endpoints keep no SHA-256 checksums: the (multipart) ETag confirms the upload.
    integrityCheck: /ETag/,
    rangeStart: (r) => Number(/^bytes=(\d+)-/.exec(String(r.headers.range ?? 'bytes=0-'))?.[1] ?? NaN),
    startVictim: async () => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-s3rver-crash-'));
      let victim = await startS3rver(['bri-test'], undefined, dir);
      const port = victim.port;
      return {
        port,
        kill: () => victim.kill(),
        restart: async () => {
          victim = await startS3rver(['bri-test'], port, dir);
        },
        dispose: () => victim.dispose(),
      };
    },
  },
  skips: {
    'flip-declared-md5': 's3rver does not check Content-MD5: it stores the corrupt bytes, which the ETag check then catches and deletes (the flip-small case)',
  },
});
