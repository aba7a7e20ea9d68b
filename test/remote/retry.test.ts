/** The retry wrapper's logic, against a function-field fake store (the providers are tested on real servers). */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BriError, ErrorCodes, isBriError } from '../../src/errors.js';
import type { GetOptions, ObjectInfo, PutResult, RemoteStore } from '../../src/remote/remote.js';
import { backoffDelay, withRetry, type RetryInfo } from '../../src/remote/retry.js';
import { expectCode, streamBuffer } from './conformance.js';

const transient = (): BriError => new BriError(ErrorCodes.REMOTE_ERROR, 'fake: 503', { details: { retryable: true, status: 503 } });
const permanent = (): BriError => new BriError(ErrorCodes.REMOTE_ERROR, 'fake: 403', { details: { retryable: false, auth: true }, hint: 'check the credentials' });

function fake(over: Partial<RemoteStore>): RemoteStore {
  const unused = (): never => {
    throw new Error('not used');
  };
  return {
    provider: 'local',
    put: unused,
    get: unused,
    head: unused,
    list: unused,
    delete: unused,
    describe: () => ({ provider: 'local', location: 'fake', prefix: '' }),
    applyLifecycle: unused,
    thaw: unused,
    close: async () => undefined,
    ...over,
  };
}

const fast = { baseDelayMs: 1, maxDelayMs: 2 };
const ok: PutResult = { key: 'k', size: 1, checksum: { algorithm: 'sha256', value: 'x' } };

describe('withRetry', () => {
  it('retries put on transient failures, calling the provider (which reopens the file) each time', async () => {
    const calls: string[] = [];
    let fails = 2;
    const retries: RetryInfo[] = [];
    const store = withRetry(
      fake({
        put: async (_k, src) => {
          calls.push(src.path);
          if (fails-- > 0) throw transient();
          return ok;
        },
      }),
      { ...fast, onRetry: (r) => retries.push(r) },
    );
    expect(await store.put('k', { path: '/f' }, { size: 1, sha256: 'a'.repeat(64) })).toBe(ok);
    expect(calls).toEqual(['/f', '/f', '/f']);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('does not retry permanent failures or foreign errors', async () => {
    let n = 0;
    const store = withRetry(
      fake({
        head: async () => {
          n++;
          throw permanent();
        },
        delete: async () => {
          n++;
          throw new TypeError('a bug');
        },
      }),
      fast,
    );
    await expectCode(store.head('k'), 'REMOTE_ERROR');
    await expect(store.delete('k')).rejects.toThrow(TypeError);
    expect(n).toBe(2);
  });

  it('gives up after maxAttempts, saying how many', async () => {
    let n = 0;
    const store = withRetry(
      fake({
        head: async () => {
          n++;
          throw transient();
        },
      }),
      { ...fast, maxAttempts: 4 },
    );
    const err = await expectCode(store.head('k'), 'REMOTE_ERROR');
    expect(n).toBe(4);
    expect(err.message).toMatch(/gave up after 4 attempts/);
    expect(err.details.attempts).toBe(4);
  });

  it('resumes a get that fails mid-stream from the first byte not delivered', async () => {
    const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    const ranges: Array<GetOptions['range']> = [];
    let broken = 2;
    const store = withRetry(
      fake({
        get: async (_k, opts = {}) => {
          ranges.push(opts.range);
          const start = opts.range?.start ?? 0;
          const end = Math.min(opts.range?.end ?? data.length - 1, data.length - 1);
          const body = data.subarray(start, end + 1);
          if (broken-- > 0) {
            return Readable.from(
              (async function* () {
                yield body.subarray(0, 5);
                throw transient();
              })(),
            );
          }
          return Readable.from([body]);
        },
      }),
      fast,
    );
    expect((await streamBuffer(await store.get('k'))).toString()).toBe(data.toString());
    expect(ranges).toEqual([undefined, { start: 5, end: Number.MAX_SAFE_INTEGER }, { start: 10, end: Number.MAX_SAFE_INTEGER }]);
    broken = 1;
    ranges.length = 0;
    expect((await streamBuffer(await store.get('k', { range: { start: 10, end: 29 } }))).toString()).toBe(data.subarray(10, 30).toString());
    expect(ranges).toEqual([
      { start: 10, end: 29 },
      { start: 15, end: 29 },
    ]);
  });

  it('a get failing mid-stream permanently surfaces the error on the stream', async () => {
    const store = withRetry(
      fake({
        get: async () =>
          Readable.from(
            (async function* () {
              yield Buffer.from('abc');
              throw permanent();
            })(),
          ),
      }),
      fast,
    );
    await expectCode(streamBuffer(await store.get('k')), 'REMOTE_ERROR');
  });

  it('restarts a list that fails part-way and yields each key once', async () => {
    let run = 0;
    const store = withRetry(
      fake({
        list: async function* (): AsyncGenerator<ObjectInfo> {
          run++;
          const d = new Date(0);
          yield { key: 'a', size: 1, lastModified: d };
          yield { key: 'b', size: 1, lastModified: d };
          if (run === 1) throw transient();
          yield { key: 'c', size: 1, lastModified: d };
        },
      }),
      fast,
    );
    const keys: string[] = [];
    for await (const o of store.list('')) keys.push(o.key);
    expect(keys).toEqual(['a', 'b', 'c']);
    expect(run).toBe(2);
  });

  it('stops waiting when the caller aborts during a backoff', async () => {
    const ac = new AbortController();
    const store = withRetry(
      fake({
        head: async () => {
          setTimeout(() => ac.abort(), 5);
          throw transient();
        },
      }),
      { baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 1 },
    );
    const started = Date.now();
    const err = await store.head('k', { signal: ac.signal }).catch((e: unknown) => e);
    expect(isBriError(err, 'CANCELLED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('backoffDelay', () => {
  it('is full jitter under an exponential ceiling, capped', () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, { ...o, random: () => 0.999 })).toBeLessThanOrEqual(100);
    expect(backoffDelay(3, { ...o, random: () => 0.999 })).toBe(400);
    expect(backoffDelay(10, { ...o, random: () => 0.999 })).toBe(999);
    expect(backoffDelay(5, { ...o, random: () => 0 })).toBe(0);
  });
});
