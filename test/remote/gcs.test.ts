import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGcsRemote } from '../../src/remote/gcs/gcs.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { gcsErrorBody } from '../support/servers/fault-proxy.js';
import { startGcsServer, type GcsTestServer } from '../support/servers/gcs.js';
import { runConformance, streamDigest } from './conformance.js';
import { faultPrefix, runFaultSuite, type FaultConfigOptions } from './fault-suite.js';

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

const GCS_REASONS = { 403: 'forbidden', 500: 'backendError', 503: 'backendError' } as const;
const isGcsList = (r: { method: string; url: string }): boolean => r.method === 'GET' && /^\/storage\/v1\/b\/[^/]+\/o(\?|$)/.test(r.url);

function gcsFaultConfig(o: FaultConfigOptions): RemoteConfig {
  return {
    provider: 'gcs',
    bucket: o.missingBucket ? 'no-such-bucket' : o.forbidden ? 'forbidden-bucket' : 'bri-test',
    prefix: faultPrefix(),
    endpoint: `http://127.0.0.1:${o.port}`,
    sdkMaxRetries: 0,
    // A dropped download shows as silence: give up on it (and resume) after 2 s, not the default minute.
    downloadIdleTimeoutMs: 2000,
    ...(o.listPageSize !== undefined ? { listPageSize: o.listPageSize } : {}),
  };
}

runFaultSuite({
  name: 'gcs (JSON API test server)',
  missing: 'bucket',
  config: gcsFaultConfig,
  http: {
    serverPort: () => server.port,
    error: (status) => ({ kind: 'status', status, body: gcsErrorBody(status, GCS_REASONS[status]), contentType: 'application/json' }),
    // Small files: one multipart POST; larger ones: a resumable session, one PUT per 8 MiB chunk.
    isUpload: (r) => (r.method === 'POST' && r.url.startsWith('/upload/')) || (r.method === 'PUT' && /[?&]upload_id=/.test(r.url)),
    isPart: (r) => r.method === 'PUT' && /[?&]upload_id=/.test(r.url),
    isList: isGcsList,
    isListNextPage: (r) => isGcsList(r) && /[?&]pageToken=/.test(r.url),
    isDownload: (r) => r.method === 'GET' && /[?&]alt=media/.test(r.url),
    integrityCheck: /crc32c|md5Hash/,
    rangeStart: (r) => Number(/^bytes=(\d+)-/.exec(String(r.headers.range ?? 'bytes=0-'))?.[1] ?? NaN),
    startVictim: async () => {
      let victim = await startGcsServer(['bri-test']);
      const { port, dir } = victim;
      return {
        port,
        kill: () => victim.kill(),
        restart: async () => {
          victim = await startGcsServer(['bri-test'], [], port, dir);
        },
        dispose: () => victim.dispose(),
      };
    },
  },
});
