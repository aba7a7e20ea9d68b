import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBackgroundMd5, createInlineMd5 } from '../../../src/archive/par2/background-md5.js';
import { pseudoRandomBytes } from './helpers.js';

describe('MD5 streams', () => {
  it('hash in a worker what they would hash inline, copying each chunk before it is reused', async () => {
    const data = pseudoRandomBytes(3_000_000, 4);
    const want = createHash('md5').update(data).digest();
    for (const make of [createBackgroundMd5, createInlineMd5]) {
      const s = make();
      const buf = Buffer.alloc(100_000);
      for (let at = 0; at < data.length; at += 100_000) {
        // One buffer, reused for every chunk: the stream must have copied what it needs.
        const n = data.copy(buf, 0, at, at + 100_000);
        await s.update(buf.subarray(0, n));
        buf.fill(0xee);
      }
      expect(await s.digest()).toEqual(want);
    }
  });

  it('can be closed without a digest, and refuses use afterwards', async () => {
    const s = createBackgroundMd5();
    await s.update(Buffer.from('abc'));
    await s.close();
    await expect(s.update(Buffer.from('d'))).rejects.toThrow();
  });
});
