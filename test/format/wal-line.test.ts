import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWalLine, serializeWalLine } from '../../src/format/wal-line.js';
import { computePointer } from '../../src/format/pointer.js';
import { decodeOperation, encodeOperation, type Operation } from '../../src/format/operation.js';
import { decryptText, encryptText, parseEncryptionKey } from '../../src/format/encryption.js';
import { FIXTURE_KEY } from '../support/fixtures.js';

const hex8 = fc.stringMatching(/^[0-9a-f]{8}$/);
const opArb: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ action: fc.constant('SET' as const), target: fc.string(), value: fc.string() }),
  fc.record({ action: fc.constant('DELETE' as const), target: fc.string() }),
  fc.record({ action: fc.constant('RENAME' as const), target: fc.string(), oldKey: fc.string() }),
  fc.record({ action: fc.constantFrom('SADD' as const, 'SREM' as const), target: fc.string(), member: fc.string() }),
);

describe('WAL line codec', () => {
  it('round-trips (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 52 }), hex8, opArb, (timestamp, pointer, op) => {
        const entry = encodeOperation(op);
        expect(entry).not.toContain('\n');
        const line = { timestamp, pointer, entry };
        const text = serializeWalLine(line);
        expect(parseWalLine(text)).toEqual(line);
        expect(decodeOperation(entry)).toEqual(op);
      }),
      { numRuns: 500 },
    );
  });

  it('writes operations with BRI key order', () => {
    expect(encodeOperation({ action: 'SADD', target: 'USER?', member: 'nze166n' })).toBe('{"action":"SADD","target":"USER?","member":"nze166n"}');
    expect(encodeOperation({ action: 'RENAME', target: 'X:U_1:X', oldKey: 'U_1' })).toBe('{"action":"RENAME","target":"X:U_1:X","oldKey":"U_1"}');
  });

  it('computes BRI pointers (known answer from the fixture)', () => {
    const entry = '{"action":"SADD","target":"USER?","member":"nze166n"}';
    expect(computePointer('9a3de618', entry)).toBe('d70b2c93');
  });

  it('refuses malformed lines', () => {
    for (const bad of ['', 'abc', '123|xyz|{}', '123|0123456|{}', '12a|01234567|{}', '123|01234567|', '|01234567|{}']) {
      expect(parseWalLine(bad)).toBeNull();
    }
  });

  it('encrypts entries as BRI does (AAD binds timestamp and pointer)', () => {
    const key = parseEncryptionKey(FIXTURE_KEY);
    const enc = encryptText(key, '{"a":1}', '1|abcdef01');
    expect(decryptText(key, enc, '1|abcdef01')).toBe('{"a":1}');
    expect(() => decryptText(key, enc, '2|abcdef01')).toThrowError(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
    expect(() => parseEncryptionKey('abc')).toThrowError(expect.objectContaining({ code: 'USAGE' }));
  });
});
