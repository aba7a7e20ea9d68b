import { CRC32C } from '@google-cloud/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cBytes, crc32cUpdate } from '../../src/remote/crc32c.js';

describe('crc32c', () => {
  it('known answers (RFC 3720 B.4 and the check value)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
  });

  it('the GCS encoding is base64 of the big-endian bytes', () => {
    expect(crc32cBytes(0xe3069283).toString('hex')).toBe('e3069283');
    expect(crc32cBytes(0xe3069283).toString('base64')).toBe('4waSgw==');
  });

  it('agrees with @google-cloud/storage on random data, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.nat({ max: 5000 }), { maxLength: 6 }), (bytes, cuts) => {
        const data = Buffer.from(bytes);
        const ref = new CRC32C();
        ref.update(data);
        const expected = ref.valueOf() >>> 0;
        expect(crc32c(data)).toBe(expected);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        let crc = 0;
        let prev = 0;
        for (const p of [...points, data.length]) {
          crc = crc32cUpdate(crc, data.subarray(prev, p));
          prev = p;
        }
        expect(crc).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});
