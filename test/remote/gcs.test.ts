import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGcsRemote } from '../../src/remote/gcs.js';
import { startGcsServer, type GcsTestServer } from '../support/servers/gcs.js';
import { runConformance, streamDigest } from './conformance.js';

// Never let google-auth-library look for the GCE metadata server (169.254.169.254) from a test.
process.env.METADATA_SERVER_DETECTION = 'none';

let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsServer(['bri-test']);
});

afterAll(async () => {
  await server?.dispose();
});

runConformance(
  'gcs (JSON API test server)',
  async () => createGcsRemote({ bucket: 'bri-test', prefix: `conf-${randomBytes(4).toString('hex')}/`, endpoint: server.endpoint, listPageSize: 2 }),
  {
    extraTests: (store, files) => {
      it('a resumable upload in 8 MiB chunks (50 MiB) is stored byte for byte and confirmed by md5Hash', async () => {
        const f = files().big;
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
