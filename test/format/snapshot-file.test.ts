import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, snapshotTextChunks, withWalLine } from '../../src/format/snapshot-file.js';
import { decodeJss, encodeJss } from '../../src/format/jss.js';
import { FIXTURES_DIR, fixturesPresent } from '../support/fixtures.js';

describe('snapshot.jss codec', () => {
  it.skipIf(!fixturesPresent())('re-encodes BRI snapshots byte for byte, in pieces too', () => {
    for (const name of ['small', 'crashed']) {
      const text = fs.readFileSync(path.join(FIXTURES_DIR, name, 'snapshot.jss'), 'utf8');
      const snap = decodeSnapshot(text);
      const chunks = [...snapshotTextChunks(snap)];
      expect(chunks.length).toBeGreaterThan(snap.state.documents.size);
      expect(chunks.join('')).toBe(text);
    }
  });

  it('streamed pieces join to exactly encodeJss of the snapshot object (property)', () => {
    const doc = fc.record({ n: fc.integer(), d: fc.date({ noInvalidDate: true }), s: fc.uniqueArray(fc.string()).map((a) => new Set(a)), t: fc.string() });
    fc.assert(
      fc.property(fc.dictionary(fc.string().filter((k) => k !== '__proto__'), doc, { maxKeys: 6 }), fc.dictionary(fc.string().filter((k) => k !== '__proto__'), fc.uniqueArray(fc.string()), { maxKeys: 3 }), (docs, sets) => {
        const state = {
          documents: new Map(Object.entries(docs).map(([k, v]) => [k, encodeJss(v)])),
          collections: new Map(Object.entries(sets).map(([k, v]) => [k, new Set(v)])),
        };
        const snap = { version: 2 as const, walLine: 7, timestamp: 1700000000000, state };
        const whole = encodeJss({
          version: 2,
          walLine: 7,
          timestamp: new Date(1700000000000),
          documents: Object.fromEntries([...state.documents].map(([k, v]) => [k, decodeJss(v)])),
          collections: Object.fromEntries([...state.collections].map(([k, v]) => [k, [...v]])),
        });
        expect(encodeSnapshot(snap)).toBe(whole);
        expect(decodeSnapshot(encodeSnapshot(snap)).state).toEqual(state);
      }),
      { numRuns: 200 },
    );
  });
});


describe('withWalLine', () => {
  it('gives the same snapshot with another walLine, plain and encrypted, and refuses foreign text', async () => {
    const { parseEncryptionKey } = await import('../../src/format/encryption.js');
    const key = parseEncryptionKey('11'.repeat(32));
    const state = { documents: new Map([['A_1', encodeJss({ a: 1, when: new Date(5) })]]), collections: new Map([['S', new Set(['x', 'y'])]]) };
    for (const k of [undefined, key]) {
      const text = encodeSnapshot({ version: 2, walLine: 1234, timestamp: 99, state }, k);
      const moved = withWalLine(text, 7, k)!;
      const back = decodeSnapshot(moved, k);
      expect(back.walLine).toBe(7);
      expect(back.timestamp).toBe(99);
      expect(back.state).toEqual(decodeSnapshot(text, k).state);
      // Plain text is byte for byte what encoding with that walLine gives (encrypted text has a fresh IV).
      if (!k) expect(moved).toBe(encodeSnapshot({ version: 2, walLine: 7, timestamp: 99, state }));
    }
    expect(withWalLine('{"walLine":1,"version":2}', 3)).toBeNull();
    expect(withWalLine(encodeSnapshot({ version: 2, walLine: 1, timestamp: 1, state }, key), 3)).toBeNull();
  });
});
