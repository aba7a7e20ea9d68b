/**
 * Retries for any RemoteStore (restic's backend_retry): exponential backoff
 * with full jitter on transient failures (`details.retryable`: 5xx, 429 and
 * throttling, dropped or refused connections, short reads), and no second
 * try on permanent ones (auth, missing bucket or object, integrity,
 * cancellation, bad arguments).
 *
 * - `put` calls the provider again, which opens the file again: every
 *   attempt streams from byte 0 (restic's RewindReader.Rewind()).
 * - `get` retries opening, and a stream that fails part-way is resumed with
 *   a ranged get from the first byte not yet delivered (Litestream's
 *   resumable reader), within the same attempt budget.
 * - `list` that fails part-way starts over and skips the keys already
 *   yielded (listings are in ascending key order).
 */
import { Readable } from 'node:stream';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import { compareKeys } from './keys.js';
import { isRetryable } from './remote-errors.js';
import { MAX_TIMER_MS } from './timeouts.js';
import type {
  CallOptions,
  GetOptions,
  LifecycleResult,
  LifecycleRule,
  ObjectHead,
  ObjectInfo,
  PutOptions,
  PutResult,
  PutSource,
  RemoteDescription,
  RemoteStore,
  ThawOptions,
  ThawOutcome,
} from './remote.js';

/** Attempts in all, the first included. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** First backoff; doubles per attempt. */
export const DEFAULT_BASE_DELAY_MS = 250;
/** Largest single backoff. */
export const DEFAULT_MAX_DELAY_MS = 10_000;

export interface RetryInfo {
  op: string;
  key?: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  /** Wait before the next attempt. */
  delayMs: number;
  error: BriError;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). 1 disables retries. */
  maxAttempts?: number;
  /** First backoff delay in ms (default 250); doubles each attempt, with full jitter. */
  baseDelayMs?: number;
  /** Cap on one delay in ms (default 10 000). */
  maxDelayMs?: number;
  /** Called before each retry (logs, progress). The error holds no secrets. */
  onRetry?: (info: RetryInfo) => void;
  /** Random source in [0, 1) for the jitter (tests). */
  random?: () => number;
}

interface Resolved {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  onRetry: ((info: RetryInfo) => void) | undefined;
  random: () => number;
}

function resolveRetryOptions(o: RetryOptions = {}): Resolved {
  return {
    maxAttempts: Math.max(1, Math.floor(o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)),
    // The API takes these unchecked (the configuration refuses more): a longer wait would fire at once.
    baseDelayMs: Math.min(MAX_TIMER_MS, Math.max(0, o.baseDelayMs ?? DEFAULT_BASE_DELAY_MS)),
    maxDelayMs: Math.min(MAX_TIMER_MS, Math.max(0, o.maxDelayMs ?? DEFAULT_MAX_DELAY_MS)),
    onRetry: o.onRetry,
    random: o.random ?? Math.random,
  };
}

/** Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffDelay(attempt: number, o: { baseDelayMs: number; maxDelayMs: number; random: () => number }): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(o.random() * ceiling);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new BriError(ErrorCodes.CANCELLED, 'cancelled while waiting to retry'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new BriError(ErrorCodes.CANCELLED, 'cancelled while waiting to retry'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The last error, saying how many attempts were made. */
function exhausted(err: BriError, attempts: number): BriError {
  if (attempts <= 1) return err;
  return new BriError(err.code, `${err.message} (gave up after ${attempts} attempts)`, {
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
    details: { ...err.details, attempts },
    ...(err.cause !== undefined ? { cause: err.cause } : {}),
  });
}

class RetryingRemote implements RemoteStore {
  readonly provider: RemoteStore['provider'];

  readonly identify?: RemoteStore['identify'];

  constructor(
    private readonly inner: RemoteStore,
    private readonly o: Resolved,
  ) {
    this.provider = inner.provider;
    // Only where the inner store has it: callers test for the method to know whether identities exist.
    const identify = inner.identify?.bind(inner);
    if (identify) this.identify = (key, opts = {}) => this.run('identify', key, opts.signal, () => identify(key, opts));
  }

  /** Runs `fn` until it succeeds, fails permanently, or the attempts run out. */
  private async run<T>(op: string, key: string | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>, startAttempt = 1): Promise<T> {
    for (let attempt = startAttempt; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isBriError(err) || !isRetryable(err)) throw err;
        if (attempt >= this.o.maxAttempts) throw exhausted(err, attempt);
        const delayMs = backoffDelay(attempt, this.o);
        this.o.onRetry?.({ op, ...(key !== undefined ? { key } : {}), attempt, delayMs, error: err });
        await sleep(delayMs, signal);
      }
    }
  }

  put(key: string, source: PutSource, opts: PutOptions): Promise<PutResult> {
    // Each attempt calls the provider's put, which opens source.path again: a rewind.
    return this.run('put', key, opts.signal, () => this.inner.put(key, source, opts));
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    let attempts = 0;
    const open = async (start: number): Promise<Readable> =>
      this.run(
        'get',
        key,
        opts.signal,
        () => {
          attempts++;
          const range = opts.range !== undefined || start > 0 ? { start: (opts.range?.start ?? 0) + start, end: opts.range?.end ?? Number.MAX_SAFE_INTEGER } : undefined;
          return this.inner.get(key, { ...opts, ...(range !== undefined ? { range } : {}) });
        },
        attempts + 1,
      );
    const first = await open(0);
    const o = this.o;
    async function* resumable(): AsyncGenerator<Buffer> {
      let stream = first;
      let delivered = 0;
      for (;;) {
        try {
          for await (const chunk of stream) {
            delivered += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
          return;
        } catch (err) {
          stream.destroy();
          if (!isBriError(err) || !isRetryable(err) || attempts >= o.maxAttempts) throw isBriError(err) ? exhausted(err, attempts) : err;
          const delayMs = backoffDelay(attempts, o);
          o.onRetry?.({ op: 'get', key, attempt: attempts, delayMs, error: err });
          await sleep(delayMs, opts.signal);
          // Resume at the first byte not yet delivered.
          stream = await open(delivered);
        }
      }
    }
    return Readable.from(resumable(), { objectMode: false, highWaterMark: 1024 * 1024 });
  }

  head(key: string, opts: CallOptions = {}): Promise<ObjectHead> {
    return this.run('head', key, opts.signal, () => this.inner.head(key, opts));
  }

  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    let last: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const item of this.inner.list(prefix, opts)) {
          if (last !== undefined && compareKeys(item.key, last) <= 0) continue; // yielded before the failure
          last = item.key;
          yield item;
        }
        return;
      } catch (err) {
        if (!isBriError(err) || !isRetryable(err)) throw err;
        if (attempt >= this.o.maxAttempts) throw exhausted(err, attempt);
        const delayMs = backoffDelay(attempt, this.o);
        this.o.onRetry?.({ op: 'list', key: prefix, attempt, delayMs, error: err });
        await sleep(delayMs, opts.signal);
      }
    }
  }

  delete(key: string, opts: CallOptions = {}): Promise<void> {
    return this.run('delete', key, opts.signal, () => this.inner.delete(key, opts));
  }

  describe(): RemoteDescription {
    return this.inner.describe();
  }

  applyLifecycle(rule: LifecycleRule, opts: CallOptions = {}): Promise<LifecycleResult> {
    return this.run('lifecycle', undefined, opts.signal, () => this.inner.applyLifecycle(rule, opts));
  }

  thaw(key: string, opts: ThawOptions = {}): Promise<ThawOutcome> {
    return this.run('thaw', key, opts.signal, () => this.inner.thaw(key, opts));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Wraps a store with retries (see the module comment). */
export function withRetry(store: RemoteStore, opts: RetryOptions = {}): RemoteStore {
  return new RetryingRemote(store, resolveRetryOptions(opts));
}
