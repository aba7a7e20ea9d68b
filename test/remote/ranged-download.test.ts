/**
 * downloadRanged against the S3 test server (s3rver on loopback) behind the fault proxy:
 * parallel ranged reads give the object byte for byte; a part whose connection drops is
 * resumed from the byte it reached (the server's bytes counted: nothing refetched from the
 * part's start); a short, long or damaged object is a typed error and leaves no file.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadRanged } from '../../src/remote/ranged-download.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import { withRetry, type RetryInfo } from '../../src/remote/retry.js';
import { createS3Remote } from '../../src/remote/s3/s3.js';
import { startFaultProxy, type FaultAction, type FaultProxy, type ProxiedRequest } from '../support/servers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../support/servers/s3rver.js';
import { expectCode, writeFixture, type FileFixture } from './conformance.js';
import { countingStore, type Served } from '../support/counting-store.js';

const MiB = 1024 * 1024;
const pass: FaultAction = { kind: 'pass' };

let server: S3rverServer;
let proxy: FaultProxy;
let dir: string;
let big: FileFixture;
let small: FileFixture;
const prefix = `ranged-${randomBytes(3).toString('hex')}/`;

/** Bytes the raw store's downloads delivered (what the server's responses carried to us), one chunk of slack at most. */
const served: Served = { bytes: 0, gets: 0 };
const counting = (inner: RemoteStore) => countingStore(inner, served);

function store(retries: RetryInfo[] = [], maxAttempts = 5): RemoteStore {
  const raw = createS3Remote({ bucket: 'bri-test', prefix, endpoint: proxy.endpoint, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS }, sdkMaxAttempts: 1 });
  return withRetry(counting(raw), { maxAttempts, baseDelayMs: 1, maxDelayMs: 5, onRetry: (i) => retries.push(i) });
}

const isDownload = (r: ProxiedRequest): boolean => r.method === 'GET' && r.url.includes('/bri-test/') && !/[?&]list-type=2/.test(r.url);
const rangeOf = (r: ProxiedRequest): number | null => {
  const m = /^bytes=(\d+)-/.exec(String(r.headers.range ?? ''));
  return m ? Number(m[1]) : null;
};

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

beforeAll(async () => {
  server = await startS3rver(['bri-test']);
  proxy = await startFaultProxy(server.port);
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-ranged-'));
  big = await writeFixture(path.join(dir, 'big.bin'), 10 * MiB + 12_345, 3);
  small = await writeFixture(path.join(dir, 'small.bin'), 300 * 1024, 4);
  const s = store();
  await s.put('big.bin', { path: big.path }, { size: big.size, sha256: big.sha256 });
  await s.put('small.bin', { path: small.path }, { size: small.size, sha256: small.sha256 });
  await s.close();
});

afterAll(async () => {
  await proxy?.close();
  await server?.dispose();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('downloadRanged (s3rver)', () => {
  it('reads parts in parallel ranged GETs and writes the object byte for byte', async () => {
    const s = store();
    const to = path.join(dir, 'out-parallel');
    const from = proxy.log.length;
    served.bytes = 0;
    let reported = 0;
    const got = await downloadRanged(s, 'big.bin', to, { size: big.size, partBytes: 2 * MiB, concurrency: 4, onBytes: (d) => (reported = d) });
    expect(got).toEqual({ sha256: big.sha256, size: big.size, parts: 6 });
    expect(await sha256File(to)).toBe(big.sha256);
    expect(fs.statSync(to).size).toBe(big.size);
    expect((fs.statSync(to).mode & 0o777).toString(8)).toBe('600');
    expect(reported).toBe(big.size);
    const starts = proxy.log.slice(from).filter(isDownload).map(rangeOf);
    expect([...starts].sort((a, b) => a! - b!)).toEqual([0, 2, 4, 6, 8, 10].map((n) => n * MiB));
    expect(served.bytes).toBe(big.size);
    await s.close();
  });

  it('an object of one part or less is one plain GET (no Range)', async () => {
    const s = store();
    const to = path.join(dir, 'out-small');
    const from = proxy.log.length;
    const got = await downloadRanged(s, 'small.bin', to, { size: small.size, sha256: small.sha256 });
    expect(got).toEqual({ sha256: small.sha256, size: small.size, parts: 1 });
    const gets = proxy.log.slice(from).filter(isDownload);
    expect(gets.map(rangeOf)).toEqual([null]);
    await s.close();
  });

  it('a part whose connection drops after 3 MiB resumes from the byte it reached: exact result, nothing refetched from the part start', async () => {
    const retries: RetryInfo[] = [];
    const s = store(retries);
    const to = path.join(dir, 'out-resume');
    const partStart = 4 * MiB;
    let left = 1;
    proxy.setPlan((r) => (isDownload(r) && rangeOf(r) === partStart && left-- > 0 ? { kind: 'cut-response', afterBytes: 3 * MiB } : pass));
    const from = proxy.log.length;
    served.bytes = 0;
    try {
      const got = await downloadRanged(s, 'big.bin', to, { size: big.size, partBytes: 4 * MiB, concurrency: 3 });
      expect(got.sha256).toBe(big.sha256);
      expect(await sha256File(to)).toBe(big.sha256);
    } finally {
      proxy.setPlan(() => pass);
    }
    expect(retries.map((r) => r.op)).toEqual(['get']);
    const gets = proxy.log.slice(from).filter(isDownload);
    expect(gets.filter((g) => g.action === 'cut-response')).toHaveLength(1);
    const resumed = gets.map(rangeOf).filter((st) => st !== null && st > partStart && st < partStart + 4 * MiB);
    expect(resumed).toHaveLength(1);
    // Resumed inside what the cut response delivered, not at the part's start. (How much of the 3 MiB was
    // still in flight, in socket and stream buffers, when the connection dropped depends on the machine's
    // load: up to 1 MiB was seen on a busy CI machine.)
    expect(resumed[0]!).toBeGreaterThan(partStart + MiB);
    expect(resumed[0]!).toBeLessThanOrEqual(partStart + 3 * MiB);
    // Refetching the part from its start would add the whole 3 MiB again; a resume adds only what was in flight.
    expect(served.bytes - big.size).toBeLessThan(2 * MiB);
    expect(served.bytes).toBeGreaterThanOrEqual(big.size);
    await s.close();
  });

  it('a dropped connection with no attempts left is a REMOTE_ERROR and leaves no file', async () => {
    const s = store([], 1);
    const to = path.join(dir, 'out-dropped');
    proxy.setPlan((r) => (isDownload(r) && rangeOf(r) === 2 * MiB ? { kind: 'cut-response', afterBytes: MiB } : pass));
    try {
      const err = await expectCode(downloadRanged(s, 'big.bin', to, { size: big.size, partBytes: 2 * MiB }), 'REMOTE_ERROR');
      expect(err.details.retryable).toBe(true);
    } finally {
      proxy.setPlan(() => pass);
    }
    expect(fs.existsSync(to)).toBe(false);
    await s.close();
  });

  it('an object shorter or longer than expected, or whose bytes do not hash to the SHA-256 expected, is an integrity REMOTE_ERROR and leaves no file', async () => {
    const s = store();
    const to = path.join(dir, 'out-bad');
    const short = await expectCode(downloadRanged(s, 'big.bin', to, { size: big.size + 1000, partBytes: 2 * MiB }), 'REMOTE_ERROR');
    expect(short.details.integrity).toBe(true);
    expect(fs.existsSync(to)).toBe(false);
    const long = await expectCode(downloadRanged(s, 'big.bin', to, { size: big.size - 1000, partBytes: 2 * MiB }), 'REMOTE_ERROR');
    expect(long.details.integrity).toBe(true);
    expect(long.message).toMatch(/longer/);
    expect(fs.existsSync(to)).toBe(false);
    const longSmall = await expectCode(downloadRanged(s, 'small.bin', to, { size: small.size - 1 }), 'REMOTE_ERROR');
    expect(longSmall.details.integrity).toBe(true);
    const damaged = await expectCode(downloadRanged(s, 'big.bin', to, { size: big.size, sha256: small.sha256, partBytes: 2 * MiB }), 'REMOTE_ERROR');
    expect(damaged.details).toMatchObject({ integrity: true, expected: small.sha256, actual: big.sha256 });
    expect(fs.existsSync(to)).toBe(false);
    await expectCode(downloadRanged(s, 'no-such.bin', to, { size: 10 }), 'REMOTE_NOT_FOUND');
    expect(fs.existsSync(to)).toBe(false);
    await s.close();
  });

  it('a cancelled download is CANCELLED and leaves no file', async () => {
    const s = store();
    const to = path.join(dir, 'out-cancel');
    const ac = new AbortController();
    const p = downloadRanged(s, 'big.bin', to, { size: big.size, partBytes: MiB, signal: ac.signal, onBytes: (d) => d > MiB && ac.abort() });
    await expectCode(p, 'CANCELLED');
    expect(fs.existsSync(to)).toBe(false);
    await s.close();
  });
});
