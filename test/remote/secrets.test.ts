/**
 * Credentials never appear in errors (message, hint, details, JSON, the
 * inspected cause chain, the stack), in describe() or its JSON, nor in
 * configuration errors. Each provider is driven into real failures (403s,
 * missing buckets) on its loopback server with secret-looking credentials.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BriError, isBriError } from '../../src/errors.js';
import { createRemote, parseRemoteConfig, type RemoteConfig } from '../../src/remote/registry.js';
import { redact } from '../../src/remote/remote-errors.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import type { RetryInfo } from '../../src/remote/retry.js';
import { AZURITE_ACCOUNT, startAzurite, type AzuriteServer } from '../support/servers/azurite.js';
import { startGcsServer, type GcsTestServer } from '../support/servers/gcs.js';
import { startS3rver, type S3rverServer } from '../support/servers/s3rver.js';
import { writeFixture, type FileFixture } from './conformance.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const S3_SECRET = 'S3-SECRET-KEY-do-not-print-0123456789';
const S3_SESSION = 'S3-SESSION-TOKEN-do-not-print-abcdef';
const AZURE_KEY = Buffer.from('AZURE-ACCOUNT-KEY-do-not-print-0123456789').toString('base64');
const AZURE_SIG = 'AZURESASSIGdonotprint0123456789abcdef';
const AZURE_SAS = `sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=http&sig=${AZURE_SIG}`;
const GCS_KEY = '-----BEGIN PRIVATE KEY-----\nGCS-PRIVATE-KEY-do-not-print-0123456789\n-----END PRIVATE KEY-----\n';
const SECRETS = [S3_SECRET, S3_SESSION, AZURE_KEY, AZURE_SIG, 'GCS-PRIVATE-KEY-do-not-print'];

let s3: S3rverServer;
let gcs: GcsTestServer;
let azure: AzuriteServer;
let dir: string;
let file: FileFixture;

beforeAll(async () => {
  [s3, gcs, azure] = await Promise.all([startS3rver(['bri-test']), startGcsServer(['bri-test']), startAzurite()]);
  const { BlobServiceClient } = await import('@azure/storage-blob');
  await BlobServiceClient.fromConnectionString(azure.connectionString).getContainerClient('bri-test').createIfNotExists();
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-secrets-'));
  file = await writeFixture(path.join(dir, 'f.bin'), 50_000);
}, 90_000);

afterAll(async () => {
  await Promise.all([s3?.dispose(), gcs?.dispose(), azure?.dispose()]);
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

/** Every way an error can be shown or logged. */
function renderings(err: BriError): string[] {
  return [err.message, String(err.stack), String(err.hint), JSON.stringify(err), JSON.stringify(err.details), inspect(err, { depth: 20 }), String(err)];
}

function expectClean(text: string): void {
  for (const s of SECRETS) expect(text.includes(s), `a secret leaked into: ${text.slice(0, 400)}`).toBe(false);
}

/** Runs every operation; returns the BriErrors they failed with (each must be one). */
async function failures(store: RemoteStore): Promise<BriError[]> {
  const out: BriError[] = [];
  const ops: Array<() => Promise<unknown>> = [
    () => store.put('k/x.bin', { path: file.path }, { size: file.size, sha256: file.sha256 }),
    () => store.head('k/x.bin'),
    () => store.get('k/x.bin'),
    async () => {
      for await (const _ of store.list('k/')) break;
    },
    () => store.delete('k/x.bin'),
  ];
  for (const op of ops) {
    try {
      await op();
    } catch (err) {
      if (!isBriError(err)) throw new Error(`not a BriError: ${inspect(err)}`);
      out.push(err);
    }
  }
  return out;
}

async function check(config: RemoteConfig, minFailures: number): Promise<void> {
  const retries: RetryInfo[] = [];
  const store = createRemote(config, { retry: { maxAttempts: 2, baseDelayMs: 1, onRetry: (r) => retries.push(r) } });
  const errs = [...(await failures(store)), ...retries.map((r) => r.error)];
  expect(errs.length).toBeGreaterThanOrEqual(minFailures);
  for (const e of errs) for (const text of renderings(e)) expectClean(text);
  const d = store.describe();
  expectClean(JSON.stringify(d));
  expectClean(inspect(d));
  expectClean(inspect(store, { depth: 0 }));
  await store.close();
}

describe('credentials never leak', () => {
  it('s3: a wrong secret key and session token', async () => {
    await check(
      {
        provider: 's3',
        bucket: 'bri-test',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIAEXAMPLEID', secretAccessKey: S3_SECRET, sessionToken: S3_SESSION },
      },
      4,
    );
  });

  it('azure: a wrong account key', async () => {
    await check({ provider: 'azure', container: 'bri-test', accountName: AZURITE_ACCOUNT, accountKey: AZURE_KEY, endpoint: azure.blobEndpoint }, 4);
  });

  it('azure: a SAS token with a bad signature', async () => {
    await check({ provider: 'azure', container: 'bri-test', sasToken: AZURE_SAS, endpoint: azure.blobEndpoint }, 4);
  });

  it('azure: a connection string with a wrong key', async () => {
    await check(
      {
        provider: 'azure',
        container: 'bri-test',
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURE_KEY};BlobEndpoint=${azure.blobEndpoint};`,
      },
      4,
    );
  });

  it('azure: a SAS token against a dead endpoint (network errors carry request URLs)', async () => {
    await check({ provider: 'azure', container: 'bri-test', sasToken: AZURE_SAS, endpoint: `http://127.0.0.1:9/${AZURITE_ACCOUNT}`, sdkMaxTries: 1 }, 4);
  });

  it('gcs: service account key fields, missing bucket', async () => {
    await check({ provider: 'gcs', bucket: 'missing-bucket', endpoint: gcs.endpoint, credentials: { client_email: 'bri@example.iam.gserviceaccount.com', private_key: GCS_KEY } }, 3);
  });

  it('configuration errors name the key, never the value', () => {
    const bad: unknown[] = [
      { provider: 's3', bucket: 'Bad_Bucket', credentials: { accessKeyId: 'x', secretAccessKey: S3_SECRET } },
      { provider: 's3', bucket: 'ok-bucket', credentials: { accessKeyId: 'x', secretAccessKey: S3_SECRET, extra: S3_SESSION } },
      { provider: 'azure', container: 'c1x', accountKey: AZURE_KEY, sasToken: AZURE_SAS },
      { provider: 'azure', container: 'c1x', accountKey: AZURE_KEY, endpoint: `http://user:${S3_SECRET}@127.0.0.1/` },
      { provider: 'nope', secret: S3_SECRET },
      { provider: 'gcs', bucket: 'b12', credentials: { client_email: 'a', private_key: GCS_KEY }, keyFilename: '/k.json' },
    ];
    for (const c of bad) {
      let err: unknown;
      try {
        parseRemoteConfig(c);
      } catch (e) {
        err = e;
      }
      expect(isBriError(err, 'CONFIG_INVALID'), inspect(err)).toBe(true);
      for (const text of renderings(err as BriError)) expectClean(text);
    }
  });

  it('redact() scrubs given secrets and signature-like URL and connection-string parts', () => {
    const text = `GET http://h/c/b?sv=1&sig=${AZURE_SIG}&se=x AccountKey=${AZURE_KEY}; X-Amz-Signature=abcdef Authorization: AWS4-HMAC-SHA256 Credential=x ${S3_SECRET} ${GCS_KEY}`;
    const out = redact(text, [S3_SECRET]);
    expectClean(out);
    expect(out).not.toMatch(/X-Amz-Signature=abcdef/);
    expect(out).toContain('GET http://h/c/b?sv=');
  });
});
