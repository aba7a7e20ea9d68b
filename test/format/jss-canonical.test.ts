import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJss, encodeJss, encodeProperty } from '../../src/format/jss.js';
import { isCanonicalJssObject } from '../../src/format/jss-canonical.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/format/snapshot-file.js';
import { FIXTURES_DIR, fixturesPresent } from '../support/fixtures.js';

/** What a version 2 snapshot writes for a document: the full decode and re-encode. */
const slowPiece = (key: string, stored: string): string => {
  let value: unknown;
  try {
    value = decodeJss(stored);
  } catch {
    value = stored;
  }
  return encodeProperty(key, value, 'documents');
};

// Names the encoder refuses (a tag-like end, '__proto__') come in through the changed texts and the constants below.
const storable = (k: string) => k !== '__proto__' && !(k.endsWith('>') && k.includes('<!'));
const keyArb = fc.oneof(fc.string({ maxLength: 6 }).filter(storable), fc.constantFrom('1', '01', '4294967295', 'a<!Db', 'b<!S', 'x/y', 'd', 's'));

/** Values JSS stores, with the shapes that make a decode and re-encode differ. */
const valueArb = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string({ maxLength: 5 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    // An Invalid Date is refused by the encoder (JSS_INVALID): only dates it writes.
    fc.integer({ min: -9e15, max: 9e15 }).map((n) => new Date(n)).filter((d) => !Number.isNaN(d.getTime())),
    fc.double().map((n) => new Date(n)).filter((d) => !Number.isNaN(d.getTime())),
    fc.array(fc.oneof(fc.string({ maxLength: 2 }), fc.integer({ min: 0, max: 3 })), { maxLength: 4 }).map((a) => new Set(a)),
    fc.constant(/a+b/g),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('object'), fc.array(tie('node'), { maxLength: 3 })),
  object: fc.dictionary(keyArb, tie('node'), { maxKeys: 5 }),
}));

/** Texts: what the encoder writes, and changed forms of it (other whitespace, tags, escapes, duplicates). */
const textArb = fc.oneof(
  valueArb.object.map((o) => encodeJss(o as object)),
  fc.tuple(valueArb.object, fc.nat(), fc.constantFrom(' ', '<!D>', '<!S>', '<!P>', '<!U>', '\\u0061', '"a":1,', '-0', '1.0', '[1,1]', '"a<!D>":"2020"', '"1<!D>":5,')).map(([o, at, ins]) => {
    const t = encodeJss(o as object);
    const i = at % (t.length + 1);
    return t.slice(0, i) + ins + t.slice(i);
  }),
  fc.json().filter((t) => t.startsWith('{')),
  fc.constantFrom(
    '{"a<!D>":1.5}',
    '{"a<!D>":9000000000000000}',
    '{"a<!S>":[1,1]}',
    '{"a<!S>":["x","x"]}',
    '{"a<!S>":[{},{}]}',
    '{"b":1,"7<!D>":5}',
    '{"a":1,"a<!D>":5}',
    '{"a<!D>":5,"a<!S>":[]}',
    '{"x":{"y<!D>":1},"z":[{"w<!S>":["q"]}]}',
    '{"<!D>":3}',
    '{"a<!b<!D>":4}',
  ),
);

describe('isCanonicalJssObject', () => {
  it('answers true only for texts that a version 2 snapshot writes unchanged', () => {
    fc.assert(
      fc.property(textArb, fc.string({ maxLength: 4 }), (text, key) => {
        if (!isCanonicalJssObject(text)) return;
        expect(slowPiece(key, text)).toBe(JSON.stringify(key) + ':' + text);
      }),
      { numRuns: 3000 },
    );
  });

  it('answers true for documents as BRI writes them: Dates, Sets of distinct members, nested objects and arrays', () => {
    // (Any text holding "__proto__" takes the full decode: the check does not look for where it is.)
    const text = (maxLength: number) => fc.string({ maxLength }).filter((t) => !t.includes('__proto__'));
    const doc = fc.record({
      name: text(12),
      age: fc.integer(),
      score: fc.double({ noNaN: true, noDefaultInfinity: true }),
      joined: fc.integer({ min: 0, max: 4e12 }).map((n) => new Date(n)),
      tags: fc.uniqueArray(text(4), { maxLength: 5 }).map((a) => new Set(a)),
      nested: fc.record({ at: fc.integer({ min: 0, max: 4e12 }).map((n) => new Date(n)), list: fc.array(fc.record({ n: fc.nat() }), { maxLength: 3 }) }),
    });
    fc.assert(
      fc.property(doc, (d) => {
        expect(isCanonicalJssObject(encodeJss(d))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('answers false for what the decoder would rewrite', () => {
    for (const t of ['{"a<!D>":1.5}', '{"a<!S>":[1,1]}', '{"b":1,"7<!D>":5}', '{"a":1,"a<!D>":5}', '{"a<!U>":null}', '{"a<!P>":""}', '{"a": 1}', '{"a":1.0}', '{"__proto__":{}}', '[1]', 'x']) {
      expect(isCanonicalJssObject(t), t).toBe(false);
    }
  });

  it.skipIf(!fixturesPresent())('takes the shared fixtures documents as they are, and their snapshot encodes to the same text', () => {
    for (const name of ['small', 'crashed']) {
      const text = fs.readFileSync(path.join(FIXTURES_DIR, name, 'snapshot.jss'), 'utf8');
      const snap = decodeSnapshot(text);
      const stored = [...snap.state.documents.values()];
      expect(stored.length).toBeGreaterThan(0);
      expect(stored.filter((v) => !isCanonicalJssObject(v))).toEqual([]);
      expect(encodeSnapshot({ ...snap, version: 2 })).toBe(text);
    }
  });
});
