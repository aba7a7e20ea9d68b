import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureRemote } from '../../src/remote/azure.js';
import { isColdObject } from '../../src/remote/remote-errors.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import type { RetryInfo } from '../../src/remote/retry.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../support/servers/azurite.js';
import { startFaultProxy, type FaultProxy } from '../support/servers/fault-proxy.js';
import { expectCode, runConformance, streamDigest, writeFixture, type FileFixture } from './conformance.js';

const MiB = 1024 * 1024;

let server: AzuriteServer;

beforeAll(async () => {
  server = await startAzurite();
  const { BlobServiceClient } = await import('@azure/storage-blob');
  await BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient('bri-test').createIfNotExists();
}, 90_000);

afterAll(async () => {
  await server?.dispose();
});

runConformance(
  'azure (Azurite)',
  async () =>
    createAzureRemote({
      container: 'bri-test',
      prefix: `conf-${randomBytes(4).toString('hex')}/`,
      accountName: AZURITE_ACCOUNT,
      accountKey: AZURITE_KEY,
      endpoint: server.blobEndpoint,
      listPageSize: 2,
    }),
  {
    extraTests: (store, files) => {
      it('a block upload (12 MiB in 8 MiB blocks, per-block MD5) is stored byte for byte and confirmed by Content-MD5', async () => {
        const f = files().medium;
        const res = await store().put('blocks/big.bin', { path: f.path }, { size: f.size, sha256: f.sha256 });
        expect(res.checksum).toEqual({ algorithm: 'md5', value: f.md5 });
        expect(await streamDigest(await store().get('blocks/big.bin'))).toEqual({ sha256: f.sha256, size: f.size });
        expect((await store().head('blocks/big.bin')).checksums.md5).toBe(f.md5);
        await store().delete('blocks/big.bin');
      });

      it('a blob moved to the Archive tier cannot be read (a cold-object error with a hint); thaw rehydrates it', async () => {
        const f = files().small;
        await store().put('cold/a.bin', { path: f.path }, { size: f.size, sha256: f.sha256 });
        expect(await store().thaw('cold/a.bin')).toBe('readable');
        const { BlobServiceClient } = await import('@azure/storage-blob');
        const blob = BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient('bri-test').getBlobClient(`${store().describe().prefix}cold/a.bin`);
        await blob.setAccessTier('Archive');
        const err = await expectCode(
          (async () => {
            for await (const _ of await store().get('cold/a.bin')) break;
          })(),
          'REMOTE_ERROR',
        );
        expect(isColdObject(err), err.message).toBe(true);
        expect(err.hint).toMatch(/bri archive thaw/);
        expect(await store().thaw('cold/a.bin', { tier: 'expedited' })).toBe('requested');
        // Azure takes hours (archiveStatus 'rehydrate-pending-to-hot' meanwhile: 'in-progress'); Azurite rehydrates at once.
        expect((await blob.getProperties()).accessTier).toBe('Hot');
        expect(await store().thaw('cold/a.bin')).toBe('readable');
        expect(await streamDigest(await store().get('cold/a.bin'))).toEqual({ sha256: f.sha256, size: f.size });
        await expectCode(store().thaw('cold/none.bin'), 'REMOTE_NOT_FOUND');
      });

      it('applyLifecycle is a documented no-op (account-level policies)', async () => {
        const res = await store().applyLifecycle({ expireAfterDays: 30 });
        expect(res.applied).toBe(false);
        expect(res.reason).toMatch(/Resource Manager/);
      });
    },
  },
);

describe('azure faults', () => {
  let dir: string;
  let small: FileFixture;
  let medium: FileFixture;
  let proxy: FaultProxy;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-azure-faults-'));
    small = await writeFixture(path.join(dir, 'small.bin'), 300_000, 1);
    medium = await writeFixture(path.join(dir, 'medium.bin'), 12 * MiB, 2);
    proxy = await startFaultProxy(server.port);
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  const config = (extra: Partial<Extract<RemoteConfig, { provider: 'azure' }>> = {}): RemoteConfig => ({
    provider: 'azure',
    container: 'bri-test',
    prefix: `faults-${randomBytes(3).toString('hex')}/`,
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    endpoint: `${proxy.endpoint}/${AZURITE_ACCOUNT}`,
    sdkMaxTries: 1,
    ...extra,
  });
  const put = (store: RemoteStore, key: string, f: FileFixture) => store.put(key, { path: f.path }, { size: f.size, sha256: f.sha256 });

  it('a wrong account key is a 403: REMOTE_ERROR at once, with a hint about credentials', async () => {
    const retries: RetryInfo[] = [];
    const store = createRemote(config({ accountKey: Buffer.from('not the key, not the key, not the key').toString('base64') }), { retry: { baseDelayMs: 5, onRetry: (r) => retries.push(r) } });
    const err = await expectCode(put(store, 'auth/x.bin', small), 'REMOTE_ERROR');
    expect(err.details.auth).toBe(true);
    expect(err.hint).toMatch(/credentials/);
    expect(retries).toEqual([]);
  });

  it('a missing container is REMOTE_NOT_FOUND with a hint', async () => {
    const store = createRemote(config({ container: 'no-such-container' }), { retry: false });
    const err = await expectCode(put(store, 'x.bin', small), 'REMOTE_NOT_FOUND');
    expect(err.hint).toMatch(/create the container/);
    await expectCode(
      (async () => {
        for await (const _ of store.list('')) break;
      })(),
      'REMOTE_NOT_FOUND',
    );
  });

  it('thaw: a blob that Azure is still rehydrating is in progress, and no second rehydration is asked for', async () => {
    // Azurite rehydrates at once, so the proxy answers the blob's properties as Azure does meanwhile.
    const store = createRemote(config(), { retry: false });
    await put(store, 'cold/pending.bin', small);
    const seen: string[] = [];
    proxy.setPlan((r) => {
      if (!r.url.includes('cold/pending.bin')) return { kind: 'pass' };
      seen.push(r.method);
      if (r.method !== 'HEAD') return { kind: 'pass' };
      return {
        kind: 'status',
        status: 200,
        headers: { 'x-ms-access-tier': 'Archive', 'x-ms-archive-status': 'rehydrate-pending-to-hot', 'x-ms-blob-type': 'BlockBlob', 'Last-Modified': new Date().toUTCString() },
      };
    });
    try {
      expect(await store.thaw('cold/pending.bin')).toBe('in-progress');
      expect(seen).toEqual(['HEAD']);
    } finally {
      proxy.setPlan(() => ({ kind: 'pass' }));
    }
  });

  it('a 503 on one block is retried and the upload succeeds with the right bytes', async () => {
    const retries: RetryInfo[] = [];
    const store = createRemote(config(), { retry: { baseDelayMs: 5, onRetry: (r) => retries.push(r) } });
    let left = 1;
    proxy.setPlan((r) => (r.method === 'PUT' && r.url.includes('comp=block&') && left-- > 0 ? { kind: 'status', status: 503, body: '', headers: { 'x-ms-error-code': 'ServerBusy' } } : { kind: 'pass' }));
    await put(store, 'retry/medium.bin', medium);
    expect(retries.length).toBe(1);
    proxy.setPlan(() => ({ kind: 'pass' }));
    expect(await streamDigest(await store.get('retry/medium.bin'))).toEqual({ sha256: medium.sha256, size: medium.size });
  });

  it('a byte flipped in a block is refused by the per-block MD5; nothing is stored', async () => {
    const store = createRemote(config(), { retry: false });
    proxy.setPlan((r) => (r.method === 'PUT' && r.url.includes('comp=block&') ? { kind: 'corrupt-request', offset: 4321 } : { kind: 'pass' }));
    const err = await expectCode(put(store, 'corrupt/small.bin', small), 'REMOTE_ERROR');
    expect(err.details.integrity).toBe(true);
    proxy.setPlan(() => ({ kind: 'pass' }));
    await expectCode(store.head('corrupt/small.bin'), 'REMOTE_NOT_FOUND');
  });

  it('Azurite killed (SIGKILL) in the middle of an upload: put rejects, and after a restart no blob exists', async () => {
    const crashDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-azurite-crash-'));
    let victim = await startAzurite(undefined, crashDir);
    const port = victim.port;
    try {
      const { BlobServiceClient } = await import('@azure/storage-blob');
      await BlobServiceClient.fromConnectionString(victim.connectionString).getContainerClient('bri-test').createIfNotExists();
      const victimProxy = await startFaultProxy(port);
      let sawBlock = false;
      victimProxy.setPlan((r) => {
        if (r.url.includes('comp=block&')) sawBlock = true;
        return { kind: 'pass' };
      });
      const cfg = config({ endpoint: `${victimProxy.endpoint}/${AZURITE_ACCOUNT}` });
      const store = createRemote(cfg, { retry: { maxAttempts: 2, baseDelayMs: 20 } });
      const pending = put(store, 'crash/medium.bin', medium);
      while (!sawBlock) await new Promise((r) => setTimeout(r, 5));
      await victim.kill();
      await expectCode(pending, 'REMOTE_ERROR');
      victim = await startAzurite(port, crashDir);
      await expectCode(createRemote(cfg, { retry: false }).head('crash/medium.bin'), 'REMOTE_NOT_FOUND');
      await victimProxy.close();
    } finally {
      await victim.dispose();
    }
  }, 90_000);
});
