/** Error mapping at the provider boundary: aborts (whose?) and the body-less 404 of a HEAD (object or bucket?). */
import { describe, expect, it } from 'vitest';
import { BriError, ErrorCodes } from '../../src/errors.js';
import { BucketCheck, notFound, toRemoteError, type RemoteErrorContext } from '../../src/remote/remote-errors.js';

const abortError = (): Error => Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
const ctx = (signal?: AbortSignal): RemoteErrorContext => ({ provider: 'azure', op: 'get', key: 'a.bin', bucket: 'c1', ...(signal ? { signal } : {}) });

describe('toRemoteError: an abort', () => {
  it("is CANCELLED when the caller's signal fired", () => {
    const ac = new AbortController();
    ac.abort();
    const err = toRemoteError(abortError(), ctx(ac.signal));
    expect(err.code).toBe(ErrorCodes.CANCELLED);
    expect(err.details.retryable).toBe(false);
  });

  it('is a retryable REMOTE_ERROR (a dropped connection) when nobody cancelled: no signal, or one that has not fired', () => {
    for (const signal of [undefined, new AbortController().signal]) {
      const err = toRemoteError(abortError(), ctx(signal));
      expect(err.code).toBe(ErrorCodes.REMOTE_ERROR);
      expect(err.details.retryable).toBe(true);
      expect(err.message).toMatch(/aborted/);
    }
  });
});

describe('BucketCheck: the 404 of a HEAD', () => {
  const head404 = (): Error => Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
  const mapped = (): BriError => toRemoteError(head404(), ctx(), true);

  it('is the bucket when the probe says it is missing, asked again each time (it may be created meanwhile)', async () => {
    let probes = 0;
    const check = new BucketCheck(async () => {
      probes++;
      return false;
    });
    for (let i = 0; i < 2; i++) {
      const err = await check.refine(mapped(), head404(), ctx());
      expect(err.code).toBe(ErrorCodes.REMOTE_NOT_FOUND);
      expect(err.details.missing).toBe('container');
      expect(err.hint).toMatch(/^create the container/);
    }
    expect(probes).toBe(2);
  });

  it('is the object when the bucket exists, which is remembered (one probe)', async () => {
    let probes = 0;
    const check = new BucketCheck(async () => {
      probes++;
      return true;
    });
    for (let i = 0; i < 3; i++) expect((await check.refine(mapped(), head404(), ctx())).details.missing).toBe('object');
    expect(probes).toBe(1);
  });

  it('is the object when the probe fails (it tells nothing), or when the bucket was seen to exist; other errors pass through', async () => {
    const failing = new BucketCheck(async () => {
      throw new Error('403');
    });
    expect((await failing.refine(mapped(), head404(), ctx())).details.missing).toBe('object');
    const never = new BucketCheck(async () => {
      throw new Error('must not be asked');
    });
    const other = toRemoteError(Object.assign(new Error('boom'), { statusCode: 500 }), ctx());
    expect(await never.refine(other, undefined, ctx())).toBe(other);
    never.found();
    const obj = notFound(ctx());
    expect(await never.refine(obj, head404(), ctx())).toBe(obj);
  });
});
