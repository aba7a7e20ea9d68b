/** guardDownload: short reads and silent (stalled or silently dropped) downloads become retryable errors; a slow consumer is not a stall. */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isBriError } from '../../src/errors.js';
import { guardDownload } from '../../src/remote/streams.js';

const ctx = { provider: 'gcs' as const, op: 'get', key: 'a.bin' };

async function drain(r: Readable, pauseMs = 0): Promise<number> {
  let n = 0;
  for await (const c of r) {
    n += (c as Buffer).length;
    if (pauseMs > 0) await new Promise((res) => setTimeout(res, pauseMs));
  }
  return n;
}

describe('guardDownload', () => {
  it('a body that goes silent (neither ends nor errors) fails after idleTimeoutMs: a retryable REMOTE_ERROR saying how far it got', async () => {
    const src = new PassThrough();
    src.write(Buffer.alloc(1000));
    const started = Date.now();
    const err = await drain(guardDownload(src, ctx, { expectedBytes: 5000 }, { idleTimeoutMs: 100 })).catch((e: unknown) => e);
    expect(isBriError(err, 'REMOTE_ERROR'), String(err)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    const e = err as { details: Record<string, unknown>; message: string };
    expect(e.details).toMatchObject({ retryable: true, stalled: true, received: 1000, expectedBytes: 5000 });
    expect(e.message).toMatch(/no bytes for 100 ms after 1000 of 5000 bytes/);
    expect(src.destroyed).toBe(true);
  });

  it('a consumer slower than idleTimeoutMs is not a stall: the timer runs only while waiting for the source', async () => {
    const chunks = Array.from({ length: 4 }, () => Buffer.alloc(100));
    expect(await drain(guardDownload(Readable.from(chunks), ctx, { expectedBytes: 400 }, { idleTimeoutMs: 20 }), 60)).toBe(400);
  });

  it('a body that ends short of expectedBytes is a retryable short read', async () => {
    const err = await drain(guardDownload(Readable.from([Buffer.alloc(10)]), ctx, { expectedBytes: 20 }, { idleTimeoutMs: 1000 })).catch((e: unknown) => e);
    expect(isBriError(err, 'REMOTE_ERROR')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ retryable: true, received: 10, expectedBytes: 20 });
  });
});
