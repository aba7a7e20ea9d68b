/**
 * Fault tests for the S3 provider and the retry wrapper against s3rver:
 * injected 503/500s (retried), 403s and missing buckets (not retried, with a
 * hint), bytes corrupted in transit (refused, nothing kept), a response cut
 * mid-body (resumed), and the server killed in the middle of a 50 MiB upload.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import type { RetryInfo } from '../../src/remote/retry.js';
import { startFaultProxy, s3ErrorBody, type FaultProxy } from '../support/servers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../support/servers/s3rver.js';
import { expectCode, streamDigest, writeFixture, type FileFixture } from './conformance.js';

const MiB = 1024 * 1024;
let server: S3rverServer;
let proxy: FaultProxy;
let dir: string;
let small: FileFixture;
let medium: FileFixture;
let big: FileFixture;

beforeAll(async () => {
  server = await startS3rver(['bri-test']);
  proxy = await startFaultProxy(server.port);
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-s3-faults-'));
  small = await writeFixture(path.join(dir, 'small.bin'), 200_000, 1);
  medium = await writeFixture(path.join(dir, 'medium.bin'), 12 * MiB, 2);
  big = await writeFixture(path.join(dir, 'big.bin'), 50 * MiB, 3);
});

afterAll(async () => {
  await proxy?.close();
  await server?.dispose();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

function s3Config(endpoint: string, extra: Partial<Extract<RemoteConfig, { provider: 's3' }>> = {}): RemoteConfig {
  return {
    provider: 's3',
    bucket: 'bri-test',
    prefix: `faults-${randomBytes(3).toString('hex')}/`,
    endpoint,
    region: 'us-east-1',
    credentials: { ...S3RVER_CREDENTIALS },
    // One try per request inside the SDK, so that every retry is ours and visible.
    sdkMaxAttempts: 1,
    ...extra,
  };
}

function retrying(config: RemoteConfig, retries: RetryInfo[], maxAttempts = 5) {
  return createRemote(config, { retry: { maxAttempts, baseDelayMs: 5, maxDelayMs: 50, onRetry: (i) => retries.push(i) } });
}

const put = (store: ReturnType<typeof createRemote>, key: string, f: FileFixture) => store.put(key, { path: f.path }, { size: f.size, sha256: f.sha256 });

describe('s3 faults: transient failures are retried', () => {
  it('503 SlowDown three times, then OK: put succeeds and the bytes are right', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(proxy.endpoint), retries);
    let left = 3;
    proxy.setPlan((r) => (r.method === 'PUT' && left-- > 0 ? { kind: 'status', status: 503, body: s3ErrorBody('SlowDown', 'Please reduce your request rate.') } : { kind: 'pass' }));
    const before = proxy.injected();
    await put(store, 'retry/small.bin', small);
    expect(proxy.injected() - before).toBe(3);
    expect(retries.map((r) => [r.op, r.attempt])).toEqual([
      ['put', 1],
      ['put', 2],
      ['put', 3],
    ]);
    expect(retries[0]!.error.details.status).toBe(503);
    proxy.setPlan(() => ({ kind: 'pass' }));
    expect(await streamDigest(await store.get('retry/small.bin'))).toEqual({ sha256: small.sha256, size: small.size });
    await store.close();
  });

  it('a 503 on one part of a multipart upload: the whole put is retried from the file and succeeds', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(proxy.endpoint), retries);
    let left = 1;
    proxy.setPlan((r) => (r.method === 'PUT' && r.url.includes('partNumber=2') && left-- > 0 ? { kind: 'status', status: 503, body: s3ErrorBody('ServiceUnavailable') } : { kind: 'pass' }));
    const res = await put(store, 'retry/medium.bin', medium);
    expect(res.size).toBe(medium.size);
    expect(retries).toHaveLength(1);
    proxy.setPlan(() => ({ kind: 'pass' }));
    expect(await streamDigest(await store.get('retry/medium.bin'))).toEqual({ sha256: medium.sha256, size: medium.size });
    await store.close();
  });

  it('a 500 on the second list page: the listing starts over and yields each key once', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(proxy.endpoint, { listPageSize: 2 }), retries);
    proxy.setPlan(() => ({ kind: 'pass' }));
    const keys = ['l/1', 'l/2', 'l/3', 'l/4', 'l/5'];
    for (const k of keys) await put(store, k, small);
    let left = 1;
    proxy.setPlan((r) => (r.method === 'GET' && r.url.includes('continuation-token') && left-- > 0 ? { kind: 'status', status: 500, body: s3ErrorBody('InternalError') } : { kind: 'pass' }));
    const seen: string[] = [];
    for await (const o of store.list('l/')) seen.push(o.key);
    expect(seen).toEqual(keys);
    expect(retries.map((r) => r.op)).toEqual(['list']);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await store.close();
  });

  it('a download cut after 3 MiB is resumed from the next byte, and the bytes are right', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(proxy.endpoint), retries);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await put(store, 'resume/medium.bin', medium);
    let left = 1;
    proxy.setPlan((r) => (r.method === 'GET' && r.url.includes('resume') && left-- > 0 ? { kind: 'cut-response', afterBytes: 3 * MiB } : { kind: 'pass' }));
    expect(await streamDigest(await store.get('resume/medium.bin'))).toEqual({ sha256: medium.sha256, size: medium.size });
    expect(retries.map((r) => r.op)).toEqual(['get']);
    const resumed = proxy.log.filter((l) => l.method === 'GET' && l.url.includes('resume')).at(-1)!;
    expect(String(resumed.headers.range)).toMatch(/^bytes=\d+-/);
    expect(Number(/^bytes=(\d+)-/.exec(String(resumed.headers.range))![1])).toBeGreaterThan(0);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await store.close();
  });

  it('gives up after maxAttempts on a server that keeps failing, saying so', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(proxy.endpoint), retries, 3);
    proxy.setPlan(() => ({ kind: 'status', status: 503, body: s3ErrorBody('ServiceUnavailable') }));
    const err = await expectCode(store.head('anything.bin'), 'REMOTE_ERROR');
    expect(err.message).toMatch(/after 3 attempts/);
    expect(retries).toHaveLength(2);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await store.close();
  });
});

describe('s3 faults: permanent failures fail at once', () => {
  it('403 (wrong credentials) fails at once with a hint about credentials', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(server.endpoint, { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG-SECRET-1234' } }), retries);
    const started = Date.now();
    const err = await expectCode(put(store, 'auth/x.bin', small), 'REMOTE_ERROR');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(retries).toEqual([]);
    expect(err.details.auth).toBe(true);
    expect(err.hint).toMatch(/credentials/);
    await expectCode(store.head('auth/x.bin'), 'REMOTE_ERROR');
    await store.close();
  });

  it('an injected 403 AccessDenied is not retried either', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(proxy.endpoint), retries);
    proxy.setPlan(() => ({ kind: 'status', status: 403, body: s3ErrorBody('AccessDenied', 'Access Denied') }));
    const err = await expectCode(store.get('x.bin'), 'REMOTE_ERROR');
    expect(err.hint).toMatch(/credentials/);
    expect(retries).toEqual([]);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await store.close();
  });

  it('a missing bucket is REMOTE_NOT_FOUND with a hint, for put and list', async () => {
    const retries: RetryInfo[] = [];
    const store = retrying(s3Config(server.endpoint, { bucket: 'no-such-bucket' }), retries);
    const err = await expectCode(put(store, 'x.bin', small), 'REMOTE_NOT_FOUND');
    expect(err.hint).toMatch(/create the bucket/);
    expect(err.details.missing).toBe('bucket');
    const listErr = await expectCode(
      (async () => {
        for await (const _ of store.list('')) break;
      })(),
      'REMOTE_NOT_FOUND',
    );
    expect(listErr.message).toMatch(/no-such-bucket/);
    expect(retries).toEqual([]);
    await store.close();
  });
});

describe('s3 faults: corruption and crashes leave nothing counted as stored', () => {
  it('a byte flipped in transit (single PutObject) is caught by the ETag check; the object is deleted', async () => {
    const store = createRemote(s3Config(proxy.endpoint), { retry: false });
    proxy.setPlan((r) => (r.method === 'PUT' ? { kind: 'corrupt-request', offset: 12_345 } : { kind: 'pass' }));
    const err = await expectCode(put(store, 'corrupt/small.bin', small), 'REMOTE_ERROR');
    expect(err.details.integrity).toBe(true);
    expect(err.message).toMatch(/ETag/);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await expectCode(store.head('corrupt/small.bin'), 'REMOTE_NOT_FOUND');
    await store.close();
  });

  it('a byte flipped in one part of a multipart upload is caught; the object is deleted', async () => {
    const store = createRemote(s3Config(proxy.endpoint), { retry: false });
    proxy.setPlan((r) => (r.method === 'PUT' && r.url.includes('partNumber=2') ? { kind: 'corrupt-request', offset: 1000 } : { kind: 'pass' }));
    const err = await expectCode(put(store, 'corrupt/medium.bin', medium), 'REMOTE_ERROR');
    expect(err.details.integrity).toBe(true);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await expectCode(store.head('corrupt/medium.bin'), 'REMOTE_NOT_FOUND');
    await store.close();
  });

  it('server killed (SIGKILL) in the middle of a 50 MiB upload: put rejects and no complete object exists', async () => {
    const crashDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-s3rver-crash-'));
    let victim = await startS3rver(['bri-test'], undefined, crashDir);
    const port = victim.port;
    const config = s3Config(victim.endpoint);
    const retries: RetryInfo[] = [];
    const store = retrying(config, retries, 2);
    const uploads = path.join(crashDir, 'bri-test');
    const pending = put(store, 'crash/big.bin', big);
    // Kill it once the first part has started to arrive (s3rver writes parts under ._S3rver_uploads).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const names = await fsp.readdir(uploads, { recursive: true }).catch(() => [] as string[]);
      if (names.some((n) => String(n).includes('uploads') && /\/\d+$/.test(String(n)))) break;
      if (Date.now() > deadline) throw new Error('the upload never started');
      await new Promise((r) => setTimeout(r, 10));
    }
    await victim.kill();
    const err = await expectCode(pending, 'REMOTE_ERROR');
    expect(err.details.retryable).toBe(true);
    // Back up on the same port and directory: the object is not there (or not whole).
    victim = await startS3rver(['bri-test'], port, crashDir);
    try {
      const check = createRemote(config, { retry: false });
      try {
        const head = await check.head('crash/big.bin');
        expect(head.size).not.toBe(big.size);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('REMOTE_NOT_FOUND');
      }
      const listed: string[] = [];
      for await (const o of check.list('crash/')) if (o.size === big.size) listed.push(o.key);
      expect(listed).toEqual([]);
      await check.close();
    } finally {
      await store.close();
      await victim.dispose();
    }
  });
});
