import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsRemote } from '../../src/remote/gcs.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import type { RetryInfo } from '../../src/remote/retry.js';
import { gcsErrorBody, startFaultProxy, type FaultProxy } from '../support/servers/fault-proxy.js';
import { startGcsServer, type GcsTestServer } from '../support/servers/gcs.js';
import { expectCode, runConformance, streamDigest, writeFixture, type FileFixture } from './conformance.js';

const MiB = 1024 * 1024;

// Never let google-auth-library look for the GCE metadata server (169.254.169.254) from a test.
process.env.METADATA_SERVER_DETECTION = 'none';

let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsServer(['bri-test'], ['forbidden-bucket']);
});

afterAll(async () => {
  await server?.dispose();
});

runConformance(
  'gcs (JSON API test server)',
  async () => createGcsRemote({ bucket: 'bri-test', prefix: `conf-${randomBytes(4).toString('hex')}/`, endpoint: server.endpoint, listPageSize: 2 }),
  {
    extraTests: (store, files) => {
      it('a resumable upload in 8 MiB chunks (12 MiB) is stored byte for byte and confirmed by md5Hash', async () => {
        const f = files().medium;
        const res = await store().put('res/big.bin', { path: f.path }, { size: f.size, sha256: f.sha256 });
        expect(res.checksum).toEqual({ algorithm: 'md5', value: f.md5 });
        expect(await streamDigest(await store().get('res/big.bin'))).toEqual({ sha256: f.sha256, size: f.size });
        const head = await store().head('res/big.bin');
        expect(head.checksums.md5).toBe(f.md5);
        expect(head.checksums.crc32c).toMatch(/^[0-9a-f]{8}$/);
        await store().delete('res/big.bin');
      });

      it('applyLifecycle installs age rules for the prefix on the bucket', async () => {
        expect(await store().applyLifecycle({ transitionAfterDays: 30, expireAfterDays: 400 })).toEqual({ applied: true });
        // Applying twice replaces our rules rather than piling them up.
        expect(await store().applyLifecycle({ expireAfterDays: 90 })).toEqual({ applied: true });
        const res = await fetch(`${server.endpoint}/storage/v1/b/bri-test`);
        const bucket = (await res.json()) as { lifecycle?: { rule?: Array<{ action: { type: string }; condition: { age: number; matchesPrefix?: string[] } }> } };
        const prefix = store().describe().prefix;
        const ours = (bucket.lifecycle?.rule ?? []).filter((r) => r.condition.matchesPrefix?.[0] === prefix);
        expect(ours).toEqual([{ action: { type: 'Delete' }, condition: { age: 90, matchesPrefix: [prefix] } }]);
      });
    },
  },
);

describe('gcs faults', () => {
  let dir: string;
  let small: FileFixture;
  let medium: FileFixture;
  let proxy: FaultProxy;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-gcs-faults-'));
    small = await writeFixture(path.join(dir, 'small.bin'), 300_000, 1);
    medium = await writeFixture(path.join(dir, 'medium.bin'), 12 * MiB, 2);
    proxy = await startFaultProxy(server.port);
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  const config = (extra: Partial<Extract<RemoteConfig, { provider: 'gcs' }>> = {}): RemoteConfig => ({
    provider: 'gcs',
    bucket: 'bri-test',
    prefix: `faults-${randomBytes(3).toString('hex')}/`,
    endpoint: proxy.endpoint,
    sdkMaxRetries: 0,
    ...extra,
  });
  const put = (store: RemoteStore, key: string, f: FileFixture, md5?: string) =>
    store.put(key, { path: f.path }, { size: f.size, sha256: f.sha256, ...(md5 !== undefined ? { md5 } : {}) });

  it('a 403 (no permission on the bucket) fails at once with a hint about credentials', async () => {
    const retries: RetryInfo[] = [];
    const store = createRemote(config({ bucket: 'forbidden-bucket' }), { retry: { baseDelayMs: 5, onRetry: (r) => retries.push(r) } });
    const err = await expectCode(put(store, 'x.bin', small), 'REMOTE_ERROR');
    expect(err.details.auth).toBe(true);
    expect(err.hint).toMatch(/credentials/);
    await expectCode(store.head('x.bin'), 'REMOTE_ERROR');
    expect(retries).toEqual([]);
  });

  it('a missing bucket is REMOTE_NOT_FOUND with a hint', async () => {
    const store = createRemote(config({ bucket: 'no-such-bucket' }), { retry: false });
    const err = await expectCode(put(store, 'x.bin', small), 'REMOTE_NOT_FOUND');
    expect(err.hint).toMatch(/create the bucket/);
    await expectCode(store.head('x.bin'), 'REMOTE_NOT_FOUND');
    await expectCode(
      (async () => {
        for await (const _ of store.list('')) break;
      })(),
      'REMOTE_NOT_FOUND',
    );
  });

  it('503s during a resumable upload are retried and the object is right', async () => {
    const retries: RetryInfo[] = [];
    const store = createRemote(config(), { retry: { baseDelayMs: 5, onRetry: (r) => retries.push(r) } });
    let left = 2;
    proxy.setPlan((r) => (r.method === 'PUT' && r.url.includes('upload_id') && left-- > 0 ? { kind: 'status', status: 503, body: gcsErrorBody(503, 'backendError'), contentType: 'application/json' } : { kind: 'pass' }));
    const before = proxy.injected();
    await put(store, 'retry/medium.bin', medium);
    expect(proxy.injected() - before).toBe(2);
    proxy.setPlan(() => ({ kind: 'pass' }));
    expect(await streamDigest(await store.get('retry/medium.bin'))).toEqual({ sha256: medium.sha256, size: medium.size });
  });

  it('a byte flipped in transit is caught by md5Hash/crc32c; the object is deleted', async () => {
    const store = createRemote(config(), { retry: false });
    proxy.setPlan((r) => (r.method === 'POST' && r.url.includes('uploadType=multipart') ? { kind: 'corrupt-request', offset: 100_000 } : { kind: 'pass' }));
    const err = await expectCode(put(store, 'corrupt/small.bin', small), 'REMOTE_ERROR');
    expect(err.details.integrity).toBe(true);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await expectCode(store.head('corrupt/small.bin'), 'REMOTE_NOT_FOUND');
  });

  it('with the MD5 declared, the server itself refuses the corrupted bytes (400) and creates nothing', async () => {
    const store = createRemote(config(), { retry: false });
    proxy.setPlan((r) => (r.method === 'POST' && r.url.includes('uploadType=multipart') ? { kind: 'corrupt-request', offset: 100_000 } : { kind: 'pass' }));
    const err = await expectCode(put(store, 'corrupt/declared.bin', small, small.md5), 'REMOTE_ERROR');
    expect(err.details.integrity).toBe(true);
    expect(err.message).toMatch(/refused/);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await expectCode(store.head('corrupt/declared.bin'), 'REMOTE_NOT_FOUND');
  });

  it('server killed (SIGKILL) during a resumable upload: put rejects; after a restart nothing is there', async () => {
    const victim = await startGcsServer(['bri-test']);
    let restarted: GcsTestServer | undefined;
    try {
      const victimProxy = await startFaultProxy(victim.port);
      let sawChunk = false;
      victimProxy.setPlan((r) => {
        if (r.method === 'PUT' && r.url.includes('upload_id')) sawChunk = true;
        return { kind: 'pass' };
      });
      const cfg = config({ endpoint: victimProxy.endpoint });
      const store = createRemote(cfg, { retry: { maxAttempts: 2, baseDelayMs: 20 } });
      const pending = put(store, 'crash/medium.bin', medium);
      while (!sawChunk) await new Promise((r) => setTimeout(r, 5));
      await victim.kill();
      await expectCode(pending, 'REMOTE_ERROR');
      restarted = await startGcsServer(['bri-test']);
      await expectCode(createRemote({ ...cfg, endpoint: restarted.endpoint }, { retry: false }).head('crash/medium.bin'), 'REMOTE_NOT_FOUND');
      await victimProxy.close();
    } finally {
      await victim.dispose();
      await restarted?.dispose();
    }
  });
});
