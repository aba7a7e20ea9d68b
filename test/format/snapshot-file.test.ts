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

  // decodeSnapshot parses natively when no pointer ties documents together: the stored forms must be
  // exactly those the JSS decoder + encoder give, whatever the documents hold (tags, nesting, sharing).
  const leaf = fc.oneof(
    fc.string(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.date({ noInvalidDate: true }),
    fc.constantFrom(/x+/g, /a.b/i, new Error('boom')),
    fc.uniqueArray(fc.oneof(fc.string(), fc.integer())).map((a) => new Set(a)),
    fc.dictionary(fc.string().filter((k) => !k.includes('<!') && k !== '__proto__'), fc.integer(), { maxKeys: 3 }).map((o) => new Map(Object.entries(o))),
  );
  const value = fc.letrec((tie) => ({
    arr: fc.array(fc.oneof(leaf, tie('obj'), fc.constant(undefined)), { maxLength: 4 }),
    obj: fc.dictionary(fc.string().filter((k) => !k.includes('<!') && !k.includes('/') && k !== '__proto__'), fc.oneof({ depthSize: 'small' }, leaf, tie('arr'), tie('obj')), { maxKeys: 5 }),
  }));
  const docKey = fc.string().filter((k) => !k.includes('<!') && !k.includes('/') && k !== '__proto__');

  it('property: the native parse gives the stored forms the JSS decoder gives, shared references and tags included', () => {
    fc.assert(
      fc.property(fc.dictionary(docKey, value.obj, { maxKeys: 6 }), fc.boolean(), fc.dictionary(docKey, fc.uniqueArray(fc.string()), { maxKeys: 3 }), (docs, share, sets) => {
        const keys = Object.keys(docs);
        // A field holding another document itself: BRI's writer makes it a pointer across documents.
        if (share && keys.length >= 2) (docs[keys[0]!] as Record<string, unknown>).peer = docs[keys[1]!];
        const text = encodeJss({ version: 2, walLine: 3, timestamp: new Date(1700000000000), documents: docs, collections: sets });
        const slow = decodeJss(text) as { documents: Record<string, object> };
        const expected = new Map(Object.entries(slow.documents).map(([k, v]) => [k, encodeJss(v)]));
        const got = decodeSnapshot(text);
        expect(got.state.documents).toEqual(expected);
        expect([...got.state.documents.keys()]).toEqual([...expected.keys()]);
        expect(got.timestamp).toBe(1700000000000);
        expect(got.state.collections).toEqual(new Map(Object.entries(sets).map(([k, v]) => [k, new Set(v)])));
      }),
      { numRuns: 400 },
    );
  });

  it('a pointer, a tagged collection, or __proto__ takes the JSS decoder and stays right', () => {
    const cases = [
      '{"version":2,"walLine":1,"timestamp<!D>":5,"documents":{"A":{"x":{"y":1}},"B":{"z<!P>":"documents/A/x"}},"collections":{}}',
      '{"version":2,"walLine":1,"timestamp<!D>":5,"documents":{"A":{"__proto__":{"a":1}}},"collections":{}}',
      '{"version":2,"walLine":1,"timestamp<!D>":5,"documents":{},"collections":{"S<!S>":["a","b"]}}',
      '{"version":2,"walLine":1,"timestamp<!D>":5,"documents":{"A":{"list<![D,P]>":[1,"documents/A"]}},"collections":{}}',
    ];
    for (const text of cases) {
      const slow = decodeJss(text) as { documents: Record<string, unknown>; collections: Record<string, unknown> };
      const got = decodeSnapshot(text);
      expect(got.state.documents).toEqual(new Map(Object.entries(slow.documents).map(([k, v]) => [k, typeof v === 'string' ? v : encodeJss(v as object)])));
      expect(got.state.collections.size).toBe(Object.keys(slow.collections).length);
    }
  });
});
