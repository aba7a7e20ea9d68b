/**
 * The remote benchmark: upload and download one file (200 MiB; --quick: 20 MiB)
 * to each loopback server (s3rver, Azurite, the GCS JSON API test server),
 * through our RemoteStore and through the plain SDK call for the same job, in
 * the same run. Each operation runs in its own child process, so that its
 * peak RSS is its own. Prints time, throughput and peak RSS, ours next to the
 * SDK's, and the ratio; writes JSON to .bench/remote.json.
 *
 * Ours does more than the plain call: it hashes what it sends (SHA-256, MD5,
 * per-part digests, CRC-32C for GCS) and confirms the stored object with a
 * HEAD (or the upload response) before it reports success.
 *
 * Run: `tsx bench/remote.ts [--quick] [--size-mib N]`, or through bench/run.ts.
 * Environment: BENCH_TMP (where the file and server data go), BENCH_KEEP=1.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../test/support/servers/azurite.js';
import { startGcsServer, type GcsTestServer } from '../test/support/servers/gcs.js';
import { startS3rver, type S3rverServer } from '../test/support/servers/s3rver.js';
import { runNodeChild, siblingPath, type ChildRun } from './lib/measure.js';
import { fmtBytes, fmtMs, fmtRatio, fmtRss, formatTable, ratio } from './lib/table.js';

const MiB = 1024 * 1024;
export const DEFAULT_REMOTE_BYTES = 200 * MiB;
export const QUICK_REMOTE_BYTES = 20 * MiB;
const BUCKET = 'bri-bench';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'remote.json');

export interface RemoteBenchOptions {
  /** 20 MiB instead of 200 MiB. */
  quick?: boolean;
  /** Command line (`--size-mib N` overrides the size). */
  argv?: readonly string[];
  /** Size in bytes (overrides quick and argv). */
  sizeBytes?: number;
  /** Providers to run (default all three). */
  providers?: Array<'s3' | 'gcs' | 'azure'>;
  log?: (line: string) => void;
}

interface OpResult {
  opMs: number;
  maxRssKb?: number;
}

export interface RemoteBenchRow {
  provider: string;
  op: 'put' | 'get';
  bytes: number;
  oursMs: number;
  sdkMs: number;
  oursMBps: number;
  sdkMBps: number;
  oursRssKb: number | null;
  sdkRssKb: number | null;
  verified: boolean;
}

async function writeRandomFile(file: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const fd = await fsp.open(file, 'w');
  try {
    const block = randomBytes(MiB);
    for (let off = 0, n = 0; off < size; off += MiB, n++) {
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - off)));
      chunk.writeUInt32LE(n, 0);
      h.update(chunk);
      await fd.write(chunk);
    }
  } finally {
    await fd.close();
  }
  return h.digest('hex');
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

function sizeFrom(opts: RemoteBenchOptions): number {
  if (opts.sizeBytes !== undefined) return opts.sizeBytes;
  const argv = opts.argv ?? [];
  const i = argv.indexOf('--size-mib');
  if (i >= 0 && argv[i + 1] !== undefined) return Math.round(Number(argv[i + 1]) * MiB);
  return opts.quick ? QUICK_REMOTE_BYTES : DEFAULT_REMOTE_BYTES;
}

const mbps = (bytes: number, ms: number): number => (ms > 0 ? bytes / 1e6 / (ms / 1000) : 0);

export async function runRemoteBench(opts: RemoteBenchOptions = {}): Promise<RemoteBenchRow[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const size = sizeFrom(opts);
  const providers = opts.providers ?? ['s3', 'gcs', 'azure'];
  const tmp = await fsp.mkdtemp(path.join(process.env.BENCH_TMP ?? os.tmpdir(), 'bri-bench-remote-'));
  const env = { ...process.env, METADATA_SERVER_DETECTION: 'none' };
  const file = path.join(tmp, 'payload.bin');
  log(`remote bench: ${fmtBytes(size)} per transfer, servers on 127.0.0.1, data in ${tmp}`);
  const sha256 = await writeRandomFile(file, size);
  let s3: S3rverServer | undefined;
  let gcs: GcsTestServer | undefined;
  let azure: AzuriteServer | undefined;
  const rows: RemoteBenchRow[] = [];
  try {
    const endpoints: Record<string, string[]> = {};
    if (providers.includes('s3')) {
      s3 = await startS3rver([BUCKET], undefined, path.join(tmp, 's3rver'));
      endpoints.s3 = ['--endpoint', s3.endpoint];
    }
    if (providers.includes('gcs')) {
      gcs = await startGcsServer([BUCKET]);
      endpoints.gcs = ['--endpoint', gcs.endpoint];
    }
    if (providers.includes('azure')) {
      azure = await startAzurite();
      const { BlobServiceClient } = await import('@azure/storage-blob');
      await BlobServiceClient.fromConnectionString(azure.connectionString).getContainerClient(BUCKET).createIfNotExists();
      endpoints.azure = ['--endpoint', azure.blobEndpoint, '--account', AZURITE_ACCOUNT, '--account-key', AZURITE_KEY];
    }
    const run = (script: string, args: string[]): Promise<ChildRun<OpResult>> => runNodeChild<OpResult>(siblingPath(import.meta.url, 'children', script), args, { env });
    for (const provider of providers) {
      const base = ['--provider', provider, '--bucket', BUCKET, ...endpoints[provider]!];
      const putArgs = (key: string) => [...base, '--op', 'put', '--file', file, '--key', key, '--size', String(size), '--sha256', sha256];
      const getArgs = (key: string, out: string) => [...base, '--op', 'get', '--key', key, '--out', out];
      // Alternate who goes first between put and get, so that neither always gets a warm server.
      const oursPut = await run('remote-ours.ts', putArgs('ours.bin'));
      const sdkPut = await run('remote-sdk.ts', putArgs('sdk.bin'));
      const outSdk = path.join(tmp, `${provider}-sdk.out`);
      const outOurs = path.join(tmp, `${provider}-ours.out`);
      const sdkGet = await run('remote-sdk.ts', getArgs('sdk.bin', outSdk));
      const oursGet = await run('remote-ours.ts', getArgs('ours.bin', outOurs));
      const verified = (await sha256File(outOurs)) === sha256 && (await sha256File(outSdk)) === sha256;
      await fsp.rm(outOurs, { force: true });
      await fsp.rm(outSdk, { force: true });
      for (const [op, ours, sdk] of [
        ['put', oursPut, sdkPut],
        ['get', oursGet, sdkGet],
      ] as const) {
        rows.push({
          provider,
          op,
          bytes: size,
          oursMs: ours.result.opMs,
          sdkMs: sdk.result.opMs,
          oursMBps: mbps(size, ours.result.opMs),
          sdkMBps: mbps(size, sdk.result.opMs),
          oursRssKb: ours.peakRssKb,
          sdkRssKb: sdk.peakRssKb,
          verified,
        });
      }
    }
  } finally {
    await Promise.all([s3?.stop(), gcs?.dispose(), azure?.dispose()]);
    if (process.env.BENCH_KEEP !== '1') await fsp.rm(tmp, { recursive: true, force: true });
  }
  log(
    formatTable(
      ['transfer', 'ours', 'SDK', 'ours/SDK', 'MB/s ours / SDK', 'peak RSS ours / SDK', 'bytes ok'],
      rows.map((r) => [
        `${r.provider} ${r.op} ${fmtBytes(r.bytes)}`,
        fmtMs(r.oursMs),
        fmtMs(r.sdkMs),
        fmtRatio(r.oursMs, r.sdkMs),
        `${r.oursMBps.toFixed(1)} / ${r.sdkMBps.toFixed(1)}`,
        `${fmtRss(r.oursRssKb)} / ${fmtRss(r.sdkRssKb)}`,
        r.verified ? 'yes' : 'NO',
      ]),
    ),
  );
  const rssRatios = rows.map((r) => ratio(r.oursRssKb, r.sdkRssKb)).filter((x): x is number => x !== null);
  if (rssRatios.length > 0) log(`peak RSS ours/SDK: ${Math.min(...rssRatios).toFixed(2)}x - ${Math.max(...rssRatios).toFixed(2)}x (each child includes Node and the SDK, about 100 MiB)`);
  await fsp.mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await fsp.writeFile(RESULTS_FILE, JSON.stringify({ when: new Date().toISOString(), node: process.version, rows }, null, 2));
  return rows;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  runRemoteBench({ quick: argv.includes('--quick'), argv }).catch((err: unknown) => {
    console.log(`remote bench failed: ${(err as Error)?.stack ?? String(err)}`);
  });
}
