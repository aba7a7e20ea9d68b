import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAzureRemote } from '../../src/remote/azure.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../support/servers/azurite.js';
import { runConformance, streamDigest } from './conformance.js';

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
      it('a block upload (50 MiB in 8 MiB blocks, per-block MD5) is stored byte for byte and confirmed by Content-MD5', async () => {
        const f = files().big;
        const res = await store().put('blocks/big.bin', { path: f.path }, { size: f.size, sha256: f.sha256 });
        expect(res.checksum).toEqual({ algorithm: 'md5', value: f.md5 });
        expect(await streamDigest(await store().get('blocks/big.bin'))).toEqual({ sha256: f.sha256, size: f.size });
        expect((await store().head('blocks/big.bin')).checksums.md5).toBe(f.md5);
        await store().delete('blocks/big.bin');
      });

      it('applyLifecycle is a documented no-op (account-level policies)', async () => {
        const res = await store().applyLifecycle({ expireAfterDays: 30 });
        expect(res.applied).toBe(false);
        expect(res.reason).toMatch(/Resource Manager/);
      });
    },
  },
);
