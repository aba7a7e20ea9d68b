/**
 * Connect and idle timeouts of the S3, GCS and Azure stores (src/remote/timeouts.ts), against
 * real servers on 127.0.0.1: a black hole that accepts connections and never answers, a server
 * that never accepts them, and a throttling proxy in front of s3rver, Azurite and the GCS test
 * server, whose bytes move slowly but keep moving.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BriError, ErrorCodes } from '../../src/errors.js';
import { createRemote, parseRemoteConfig, type RemoteConfig } from '../../src/remote/registry.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import { SocketTimeouts, watchProgress } from '../../src/remote/timeouts.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { startAllRemotes, type AllRemotes } from '../support/servers/all-remotes.js';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../support/servers/azurite.js';
import { startBlackHole, startUnacceptingServer, type BlackHole, type HungServer } from '../support/servers/hung-servers.js';
import { S3RVER_CREDENTIALS } from '../support/servers/s3rver.js';
import { startThrottleProxy, type ThrottleProxy } from '../support/servers/throttle-proxy.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const MiB = 1024 * 1024;
const KEY = 'archives/a1.bri';
const PROVIDERS = ['s3', 'gcs', 'azure'] as const;
type Provider = (typeof PROVIDERS)[number];
const tempDir = useTempDirs('bri-timeouts-');

/** A store of `provider` at `endpoint` (the SDKs' own retries off: the retry wrapper's are the ones under test). */
function configFor(provider: Provider, endpoint: string, extra: Record<string, unknown>): RemoteConfig {
  const c = {
    s3: { provider: 's3', bucket: 'bri', endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, sdkMaxAttempts: 1 },
    gcs: { provider: 'gcs', bucket: 'bri', endpoint, projectId: 'test', sdkMaxRetries: 0 },
    azure: { provider: 'azure', container: 'bri', accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: `${endpoint}/${AZURITE_ACCOUNT}`, sdkMaxTries: 1 },
  }[provider];
  return { ...c, ...extra } as RemoteConfig;
}

async function fileOf(bytes: number): Promise<{ path: string; size: number; sha256: string; data: Buffer }> {
  const data = randomBytes(bytes);
  const file = path.join(await tempDir(), 'a1.bri');
  await fsp.writeFile(file, data);
  return { path: file, size: bytes, sha256: createHash('sha256').update(data).digest('hex'), data };
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

const OPS = {
  put: async (s: RemoteStore) => {
    const f = await fileOf(64 * 1024);
    await s.put(KEY, { path: f.path }, { size: f.size, sha256: f.sha256 });
  },
  get: async (s: RemoteStore) => {
    await readAll(await s.get(KEY));
  },
  head: async (s: RemoteStore) => {
    await s.head(KEY);
  },
  list: async (s: RemoteStore) => {
    for await (const _ of s.list('archives/')) void _;
  },
} as const;

/** What `run` rejected with, and how long it took. */
async function failure(run: () => Promise<unknown>): Promise<{ err: BriError; ms: number }> {
  const t0 = Date.now();
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(BriError);
  return { err: err as BriError, ms: Date.now() - t0 };
}

describe('a remote that accepts the connection and never answers', () => {
  let hole: BlackHole;
  beforeAll(async () => {
    hole = await startBlackHole();
  });
  afterAll(async () => {
    await hole?.close();
  });

  const IDLE_MS = 300;
  for (const provider of PROVIDERS) {
    for (const op of Object.keys(OPS) as Array<keyof typeof OPS>) {
      it(`${provider} ${op} fails with a retryable REMOTE_ERROR that says it timed out, within the idle timeout of each attempt`, async () => {
        const store = createRemote(configFor(provider, hole.endpoint, { timeouts: { connectMs: 2000, idleMs: IDLE_MS }, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }));
        const before = hole.accepted();
        try {
          const { err, ms } = await failure(() => OPS[op](store));
          expect(err.code).toBe(ErrorCodes.REMOTE_ERROR);
          expect(err.details).toMatchObject({ provider, op, timedOut: 'idle', timeoutMs: IDLE_MS, retryable: true, attempts: 2 });
          const key = op === 'list' ? 'archives/' : KEY;
          expect(err.message).toContain(`${provider}: ${op} ${key}: timed out talking to http://127.0.0.1:${hole.port}`);
          expect(err.message).toContain(`no byte moved for ${IDLE_MS} ms (idle timeout)`);
          expect(err.message).toContain('(gave up after 2 attempts)');
          expect(err.hint).toMatch(/check that http:\/\/127\.0\.0\.1:\d+.* is reachable and answering.*raise timeouts\.idleMs/);
          expect(hole.accepted() - before).toBeGreaterThanOrEqual(2);
          // Two attempts of one request each, cut after 300 ms of silence, and a backoff of at most 20 ms.
          expect(ms).toBeGreaterThanOrEqual(2 * IDLE_MS - 50);
          expect(ms).toBeLessThan(5000);
        } finally {
          await store.close();
        }
      });
    }
  }

  for (const provider of PROVIDERS) {
    it(`${provider}: close() returns while a call hangs, and the hung call ends (idle timeout far away)`, async () => {
      const store = createRemote(configFor(provider, hole.endpoint, { timeouts: { idleMs: 120_000 }, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } }));
      const before = hole.accepted();
      const hung = failure(() => OPS.head(store));
      while (hole.accepted() === before) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const t0 = Date.now();
      await store.close();
      expect(Date.now() - t0).toBeLessThan(1000);
      const { err, ms } = await hung;
      expect(err.code).toBe(ErrorCodes.REMOTE_ERROR);
      expect(err.details.retryable).toBe(false);
      expect(err.message).toMatch(/closed/);
      expect(ms).toBeLessThan(3000);
    });
  }
});

describe('a remote that never accepts the connection', () => {
  let server: HungServer;
  beforeAll(async () => {
    server = await startUnacceptingServer();
  }, 30_000);
  afterAll(async () => {
    await server?.close();
  });

  for (const provider of PROVIDERS) {
    it(`${provider} head fails with a REMOTE_ERROR naming the connect timeout, within it`, async () => {
      const store = createRemote(configFor(provider, server.endpoint, { timeouts: { connectMs: 400, idleMs: 60_000 }, retry: false }));
      try {
        const { err, ms } = await failure(() => OPS.head(store));
        expect(err.code).toBe(ErrorCodes.REMOTE_ERROR);
        expect(err.details).toMatchObject({ provider, op: 'head', timedOut: 'connect', timeoutMs: 400, retryable: true });
        expect(err.message).toContain(`no connection within 400 ms (connect timeout)`);
        expect(err.hint).toMatch(/raise timeouts\.connectMs/);
        expect(ms).toBeGreaterThanOrEqual(350);
        expect(ms).toBeLessThan(3000);
      } finally {
        await store.close();
      }
    });
  }
});

describe('transfers through a proxy: slow but moving, or stalled part-way', () => {
  let remotes: AllRemotes;
  const proxies: Partial<Record<Provider, ThrottleProxy>> = {};
  const stalling: Partial<Record<Provider, { up: ThrottleProxy; down: ThrottleProxy }>> = {};
  // 8 MiB/s each way: 56 MiB takes 7 s, over twice the idle timeout, in one request each way (no
  // parts, blocks or chunks to split it). At the end of an upload no byte moves on the client's
  // socket while what the kernel buffers between the client and the proxy (a few MiB on loopback)
  // drains and the server takes in the whole body (at 1.5 s, a loaded CI machine's server could
  // take longer): the idle timeout leaves room for both.
  const THROTTLE = { bytesPerTick: 256 * 1024, tickMs: 32 };
  const SIZE = 56 * MiB;
  const IDLE_MS = 3000;

  beforeAll(async () => {
    remotes = await startAllRemotes();
    proxies.s3 = await startThrottleProxy(remotes.s3.port, THROTTLE);
    proxies.gcs = await startThrottleProxy(remotes.gcs.port, THROTTLE);
    proxies.azure = await startThrottleProxy(remotes.azure.port, THROTTLE);
    for (const provider of PROVIDERS) {
      const port = remotes[provider].port;
      // Unthrottled, but each connection stops after 1 MiB one way.
      const fast = { bytesPerTick: 8 * MiB, tickMs: 5 };
      stalling[provider] = { up: await startThrottleProxy(port, { ...fast, stallAfter: { up: MiB } }), down: await startThrottleProxy(port, { ...fast, stallAfter: { down: MiB } }) };
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all(Object.values(proxies).map((p) => p.close()));
    await Promise.all(Object.values(stalling).flatMap((p) => [p.up.close(), p.down.close()]));
    await remotes?.dispose();
  });

  const oneRequest = { s3: { multipartThresholdBytes: 64 * MiB }, gcs: { resumableThresholdBytes: 64 * MiB }, azure: { blockSizeBytes: 64 * MiB } };
  /** A store of `provider` on its test server through `proxy` (none: direct), one request per transfer. */
  function storeVia(provider: Provider, prefix: string, proxy: ThrottleProxy | undefined, idleMs: number): RemoteStore {
    const endpoint = proxy === undefined ? undefined : provider === 'azure' ? `${proxy.endpoint}/${AZURITE_ACCOUNT}` : proxy.endpoint;
    const base = remotes.configs(prefix, endpoint === undefined ? {} : { [provider]: endpoint }).find((c) => c.provider === provider)!;
    return createRemote({ ...base, ...oneRequest[provider], timeouts: { connectMs: 2000, idleMs }, retry: false } as RemoteConfig);
  }

  for (const provider of PROVIDERS) {
    it(`${provider}: a put and a get lasting twice the idle timeout are not cut`, async () => {
      const store = storeVia(provider, `slow-${provider}`, proxies[provider], IDLE_MS);
      try {
        const f = await fileOf(SIZE);
        let t0 = Date.now();
        const up = proxies[provider]!.moved().up;
        await store.put(KEY, { path: f.path }, { size: f.size, sha256: f.sha256 });
        expect(Date.now() - t0).toBeGreaterThan(2 * IDLE_MS);
        expect(proxies[provider]!.moved().up - up).toBeGreaterThan(SIZE);
        t0 = Date.now();
        const back = await readAll(await store.get(KEY));
        expect(Date.now() - t0).toBeGreaterThan(2 * IDLE_MS);
        expect(back.equals(f.data)).toBe(true);
      } finally {
        await store.close();
      }
    }, 60_000);
  }

  for (const provider of PROVIDERS) {
    it(`${provider}: an upload the server stops reading part-way fails with the idle timeout, within it`, async () => {
      const store = storeVia(provider, `stall-up-${provider}`, stalling[provider]!.up, 500);
      try {
        const f = await fileOf(24 * MiB);
        const { err, ms } = await failure(() => store.put(KEY, { path: f.path }, { size: f.size, sha256: f.sha256 }));
        expect(err.code).toBe(ErrorCodes.REMOTE_ERROR);
        expect(err.details).toMatchObject({ provider, op: 'put', timedOut: 'idle', timeoutMs: 500, retryable: true });
        expect(ms).toBeLessThan(8000);
      } finally {
        await store.close();
      }
    }, 30_000);

    it(`${provider}: a download the server stops sending part-way fails with the idle timeout, within it`, async () => {
      const direct = storeVia(provider, `stall-down-${provider}`, undefined, 5000);
      const store = storeVia(provider, `stall-down-${provider}`, stalling[provider]!.down, 500);
      try {
        const f = await fileOf(4 * MiB);
        await direct.put(KEY, { path: f.path }, { size: f.size, sha256: f.sha256 });
        const { err, ms } = await failure(async () => readAll(await store.get(KEY)));
        expect(err.code).toBe(ErrorCodes.REMOTE_ERROR);
        expect(err.details).toMatchObject({ provider, op: 'get', timedOut: 'idle', timeoutMs: 500, retryable: true });
        expect(ms).toBeLessThan(8000);
      } finally {
        await Promise.all([store.close(), direct.close()]);
      }
    }, 30_000);
  }
});

describe('SocketTimeouts', () => {
  it('bounds a request that streams its body on a kept-alive connection, from its first byte: a server that stops reading it fails the request after the idle limit', async () => {
    // The first request answers; the second one is never read nor answered.
    const server = http.createServer((req, res) => {
      if (req.method === 'GET') res.end('ok');
      else req.pause();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true });
    const limits = new SocketTimeouts({ connectMs: 1000, idleMs: 300 });
    const send = (method: string, body?: Readable): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method, agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += String(c)));
          res.on('end', () => resolve(text));
          res.on('error', reject);
        });
        req.on('error', reject);
        if (body === undefined) req.end();
        else body.pipe(req);
      });
    try {
      const first = limits.watch();
      expect(await limits.run(first, () => send('GET'))).toBe('ok');
      await new Promise((resolve) => setTimeout(resolve, 50)); // the connection is back in the pool
      const body = Readable.from((function* () { for (let i = 0; i < 256; i++) yield Buffer.alloc(256 * 1024); })());
      const t0 = Date.now();
      const err = await limits.run(limits.watch(), () => send('PUT', body)).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.message).toMatch(/nothing moved on the connection for 300 ms \(idle timeout\)/);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('leaves requests made outside a store\'s call alone', async () => {
    const hole = await startBlackHole();
    new SocketTimeouts({ connectMs: 100, idleMs: 100 });
    try {
      const req = http.request({ host: '127.0.0.1', port: hole.port, method: 'GET' });
      const failed = new Promise((resolve) => req.on('error', resolve));
      req.end();
      const outcome = await Promise.race([failed, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 600))]);
      expect(outcome).toBe('still waiting');
      req.destroy();
    } finally {
      await hole.close();
    }
  });
});

describe('watchProgress', () => {
  it('calls onStall with an idle-timeout error once nothing moved for the idle limit, and not while moved() is called', async () => {
    const watch = new SocketTimeouts({ idleMs: 200 }).watch();
    let stalled: Error | undefined;
    const progress = watchProgress(watch, (err) => (stalled = err));
    try {
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 60));
        progress.moved();
      }
      expect(stalled).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(stalled?.message).toBe('nothing moved on the connection for 200 ms (idle timeout)');
      expect(watch.fired).toBe('idle');
    } finally {
      progress.stop();
    }
  });
});

describe('timeouts in the remote configuration', () => {
  it('are taken by s3, gcs and azure, and refused by local (no network there)', () => {
    for (const provider of PROVIDERS) {
      const c = parseRemoteConfig(configFor(provider, 'http://127.0.0.1:1', { timeouts: { connectMs: 5000, idleMs: 120_000 } }));
      expect((c as { timeouts?: unknown }).timeouts).toEqual({ connectMs: 5000, idleMs: 120_000 });
    }
    expect(() => parseRemoteConfig({ provider: 'local', path: '/tmp', timeouts: { idleMs: 1000 } })).toThrow(/remote\.local: unknown key\(s\) 'timeouts'/);
  });

  it('name the offending key', () => {
    const bad = (timeouts: unknown): string => {
      try {
        parseRemoteConfig(configFor('s3', 'http://127.0.0.1:1', { timeouts }));
      } catch (err) {
        expect((err as BriError).code).toBe(ErrorCodes.CONFIG_INVALID);
        return (err as BriError).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ idleMs: 0 })).toMatch(/^remote\.s3\.timeouts\.idleMs: /);
    expect(bad({ connectMs: 1.5 })).toMatch(/^remote\.s3\.timeouts\.connectMs: /);
    expect(bad({ idleMs: 2 ** 31 })).toMatch(/^remote\.s3\.timeouts\.idleMs: /);
    expect(bad({ idle: 1000 })).toMatch(/^remote\.s3\.timeouts: unknown key\(s\) 'idle'/);
    expect(bad(60)).toMatch(/^remote\.s3\.timeouts: /);
  });
});
