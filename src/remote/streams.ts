/** Stream plumbing shared by the providers: a hashed file source, and downloads whose errors are ours. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { HashTap, type HashTapOptions } from './hash-tap.js';
import { remoteFailure, timedOut, toRemoteError, type RemoteErrorContext } from './remote-errors.js';

/**
 * Opens `file` and returns it piped through a HashTap, with errors passed
 * on in both directions (a read error fails the tap; destroying the tap
 * closes the file). Called once per attempt: a retry re-opens the file.
 */
/** The tap option that reports a put's progress. */
export function progressOf(opts: { size: number; onProgress?: (sent: number, total: number) => void }): Pick<HashTapOptions, 'onBytes'> {
  const report = opts.onProgress;
  return report ? { onBytes: (n) => report(n, opts.size) } : {};
}

export function openHashed(file: string, opts: HashTapOptions, highWaterMark = 1024 * 1024): HashTap {
  const tap = new HashTap(opts);
  const src = createReadStream(file, { highWaterMark });
  src.on('error', (err) => tap.destroy(err));
  tap.on('close', () => src.destroy());
  src.pipe(tap);
  return tap;
}

/** Which bytes of a response body the caller wants. */
export interface DownloadWindow {
  /** Bytes to drop from the start of the body (a server that sent more than asked for). */
  skipBytes?: number;
  /** Bytes to deliver after that (undefined: all). */
  takeBytes?: number;
  /** Bytes the body must have at least (`skip + take`, or the Content-Length): less is a short read. */
  expectedBytes?: number;
}

/** How long a download may wait for its next bytes. */
export interface DownloadGuardOptions {
  /**
   * While the consumer is asking for bytes, the longest wait for the next chunk (headers
   * included) before the download counts as dropped: a retryable REMOTE_ERROR, so that the
   * retry wrapper resumes it. For SDKs whose stream neither ends nor errors when the connection
   * drops (@google-cloud/storage); absent, a download may wait for ever.
   */
  idleTimeoutMs?: number;
}

/**
 * Wraps a download so that the consumer sees BriErrors: a failure of the
 * underlying stream becomes `toRemoteError(...)`, and a body that ends short
 * of `expectedBytes` is a REMOTE_ERROR (retryable: the connection dropped),
 * as is one that delivers nothing for `idleTimeoutMs`.
 * `skipBytes`/`takeBytes` cut a window out of a body that holds more than was
 * asked for. Destroying the returned stream releases the underlying one.
 */
export function guardDownload(src: Readable, ctx: RemoteErrorContext, window: DownloadWindow = {}, opts: DownloadGuardOptions = {}): Readable {
  const skip = window.skipBytes ?? 0;
  const take = window.takeBytes ?? Number.POSITIVE_INFINITY;
  const expected = window.expectedBytes;
  const idle = opts.idleTimeoutMs;
  async function* body(): AsyncGenerator<Buffer> {
    let pos = 0; // bytes of the body seen
    let delivered = 0;
    const chunks = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const stalled = (): Error =>
      timedOut(ctx, 'idle', {
        ms: idle,
        what: `no bytes for ${idle} ms after ${pos}${expected !== undefined ? ` of ${expected}` : ''} bytes (idle timeout): the connection stalled or dropped`,
        details: { received: pos, ...(expected !== undefined ? { expectedBytes: expected } : {}), stalled: true },
      });
    try {
      for (;;) {
        const next = await withDeadline(chunks.next(), idle, stalled);
        if (next.done === true) break;
        const chunk = next.value;
        const from = Math.max(0, skip - pos);
        pos += chunk.length;
        if (from >= chunk.length) continue;
        const room = take - delivered;
        const piece = chunk.subarray(from, Math.min(chunk.length, from + room));
        delivered += piece.length;
        if (piece.length > 0) yield piece;
        if (delivered >= take) return;
      }
    } catch (err) {
      throw toRemoteError(err, ctx);
    } finally {
      if (!src.destroyed) src.destroy();
    }
    if (expected !== undefined && pos < expected) {
      throw remoteFailure(ctx, `short read: got ${pos} of ${expected} bytes`, { retryable: true, details: { received: pos, expectedBytes: expected } });
    }
  }
  return Readable.from(body(), { objectMode: false, highWaterMark: 1024 * 1024 });
}

/** `p`, or `onTimeout()`'s error when it has not settled within `ms` (no limit when `ms` is undefined). */
export function withDeadline<T>(p: Promise<T>, ms: number | undefined, onTimeout: () => Error): Promise<T> {
  if (ms === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Works out which part of a ranged response to deliver. `contentRange` is the
 * response's Content-Range (`bytes a-b/total`), absent when the server sent
 * the whole object (`bodyBytes` long). Throws REMOTE_ERROR when the server's
 * bytes do not cover what was asked.
 */
export function rangeWindow(ctx: RemoteErrorContext, requested: { start: number; end: number }, contentRange: string | undefined, bodyBytes: number | undefined): DownloadWindow {
  let first = 0;
  let last: number;
  let total: number | undefined;
  const m = contentRange === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange.trim());
  if (m) {
    first = Number(m[1]);
    last = Number(m[2]);
    total = m[3] === '*' ? undefined : Number(m[3]);
  } else if (bodyBytes !== undefined) {
    last = bodyBytes - 1;
    total = bodyBytes;
  } else {
    return {};
  }
  if (total !== undefined && requested.start >= total && !(total === 0 && requested.start === 0)) {
    // Some servers (Azurite) answer a range past the end with the whole object instead of 416.
    throw remoteFailure(ctx, 'the requested range is not satisfiable', { details: { size: total, range: requested } });
  }
  const wantEnd = total !== undefined ? Math.min(requested.end, total - 1) : requested.end;
  if (first > requested.start || last < wantEnd) {
    throw remoteFailure(ctx, `the server sent bytes ${first}-${last} for a request of ${requested.start}-${requested.end}`, { details: { contentRange } });
  }
  return { skipBytes: requested.start - first, takeBytes: wantEnd - requested.start + 1, expectedBytes: wantEnd - first + 1 };
}

/** Links an optional caller signal to a fresh AbortController (for SDKs that want a controller). */
export function linkedController(signal: AbortSignal | undefined): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  if (signal === undefined) return { controller, dispose: () => undefined };
  if (signal.aborted) {
    controller.abort(signal.reason);
    return { controller, dispose: () => undefined };
  }
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => signal.removeEventListener('abort', onAbort) };
}
