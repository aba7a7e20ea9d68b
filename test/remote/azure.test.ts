import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureRemote } from '../../src/remote/azure.js';
import { isColdObject } from '../../src/remote/remote-errors.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../support/servers/azurite.js';
import { azureErrorBody, startFaultProxy, type FaultProxy } from '../support/servers/fault-proxy.js';
import { expectCode, runConformance, streamDigest, writeFixture, type FileFixture } from './conformance.js';
import { faultPrefix, runFaultSuite, type FaultConfigOptions } from './fault-suite.js';

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

const AZURE_ERROR_CODES = { 403: 'AuthorizationFailure', 500: 'InternalError', 503: 'ServerBusy' } as const;
const isAzureList = (r: { method: string; url: string }): boolean => r.method === 'GET' && /[?&]comp=list/.test(r.url);

function azureFaultConfig(o: FaultConfigOptions): RemoteConfig {
  return {
    provider: 'azure',
    container: o.missingBucket ? 'no-such-container' : 'bri-test',
    prefix: faultPrefix(),
    accountName: AZURITE_ACCOUNT,
    accountKey: o.forbidden ? Buffer.from('not the key, not the key, not the key').toString('base64') : AZURITE_KEY,
    endpoint: `http://127.0.0.1:${o.port}/${AZURITE_ACCOUNT}`,
    sdkMaxTries: 1,
    ...(o.listPageSize !== undefined ? { listPageSize: o.listPageSize } : {}),
  };
}

runFaultSuite({
  name: 'azure (Azurite)',
  missing: 'container',
  config: azureFaultConfig,
  http: {
    serverPort: () => server.port,
    error: (status) => ({ kind: 'status', status, body: azureErrorBody(AZURE_ERROR_CODES[status]), headers: { 'x-ms-error-code': AZURE_ERROR_CODES[status] } }),
    // Every upload is blocks (Put Block, each with its MD5) and a Put Block List.
    isUpload: (r) => r.method === 'PUT',
    isPart: (r) => r.method === 'PUT' && /[?&]comp=block&/.test(r.url),
    isList: isAzureList,
    isListNextPage: (r) => isAzureList(r) && /[?&]marker=/.test(r.url),
    isDownload: (r) => r.method === 'GET' && !/[?&](comp|restype)=/.test(r.url),
    // Each block is sent with its MD5, which the server checks.
    integrityCheck: /block.*MD5/,
    rangeStart: (r) => Number(/^bytes=(\d+)-/.exec(String(r.headers['x-ms-range'] ?? r.headers.range ?? 'bytes=0-'))?.[1] ?? NaN),
    startVictim: async () => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-azurite-crash-'));
      let victim = await startAzurite(undefined, dir);
      const { BlobServiceClient } = await import('@azure/storage-blob');
      await BlobServiceClient.fromConnectionString(victim.connectionString).getContainerClient('bri-test').createIfNotExists();
      const port = victim.port;
      return {
        port,
        kill: () => victim.kill(),
        restart: async () => {
          victim = await startAzurite(port, dir);
        },
        // Azurite keeps its blob index in memory and saves it to this file every 5 s.
        settle: async (name) => {
          const deadline = Date.now() + 20_000;
          while (!(await fsp.readFile(path.join(dir, '__azurite_db_blob__.json'), 'utf8').catch(() => '')).includes(name)) {
            if (Date.now() > deadline) throw new Error(`Azurite never saved ${name}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        dispose: () => victim.dispose(),
      };
    },
  },

});

describe('azure thaw through the fault proxy', () => {
  let dir: string;
  let small: FileFixture;
  let proxy: FaultProxy;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-azure-thaw-'));
    small = await writeFixture(path.join(dir, 'small.bin'), 300_000, 1);
    proxy = await startFaultProxy(server.port);
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  const put = (store: RemoteStore, key: string, f: FileFixture) => store.put(key, { path: f.path }, { size: f.size, sha256: f.sha256 });

  it('a download its caller aborts part-way fails with CANCELLED (not a retryable dropped connection)', async () => {
    const store = createRemote(azureFaultConfig({ port: proxy.port }), { retry: false });
    try {
      const big = await writeFixture(path.join(dir, 'big.bin'), 6 * 1024 * 1024, 3);
      await put(store, 'abort/big.bin', big);
      const ac = new AbortController();
      const err = await expectCode(
        (async () => {
          for await (const _ of await store.get('abort/big.bin', { signal: ac.signal })) ac.abort();
        })(),
        'CANCELLED',
      );
      expect(err.details.retryable).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('thaw on a missing container says the container is missing (its properties 404 has no body), a missing blob the blob', async () => {
    const missing = createRemote(azureFaultConfig({ port: proxy.port, missingBucket: true }), { retry: false });
    const present = createRemote(azureFaultConfig({ port: proxy.port }), { retry: false });
    try {
      const err = await expectCode(missing.thaw('cold/x.bin'), 'REMOTE_NOT_FOUND');
      expect(err.details.missing).toBe('container');
      expect(err.hint).toMatch(/^create /);
      expect((await expectCode(present.thaw('cold/none.bin'), 'REMOTE_NOT_FOUND')).details.missing).toBe('object');
    } finally {
      await Promise.all([missing.close(), present.close()]);
    }
  });

  it('thaw: a blob that Azure is still rehydrating is in progress, and no second rehydration is asked for', async () => {
    // Azurite rehydrates at once, so the proxy answers the blob's properties as Azure does meanwhile.
    const store = createRemote(azureFaultConfig({ port: proxy.port }), { retry: false });
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
});
