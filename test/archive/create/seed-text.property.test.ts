import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { seedTextChunks, documentPiece } from '../../../src/archive/create/seed-text.js';
import { encodeJss } from '../../../src/format/jss.js';
import { snapshotTextChunks } from '../../../src/format/snapshot-file.js';
import { emptyState } from '../../../src/format/state.js';

const text = (it: Iterable<string>) => [...it].join('');

describe('seed text', () => {
  it('is exactly snapshotTextChunks for any documents (plain JSON, JSS tags, odd texts)', () => {
    const plain = fc.jsonValue().map((v) => JSON.stringify(typeof v === 'object' && v !== null ? v : { v }));
    const tagged = fc.record({ d: fc.date({ noInvalidDate: true }), s: fc.string(), n: fc.option(fc.integer()) }).map((o) => encodeJss({ at: o.d, tags: new Set([o.s]), n: o.n, nested: { when: o.d } }));
    const odd = fc.constantFrom('not json', '{"__proto__":{"x":1}}', '{ "a" : 1 }', '{"b":1,"1":2}', '"\\u0041"', '[1,2,{"x":null}]', '{"a":1.50}', '{}', '', '{"x":"a<!D>"}');
    const doc = fc.oneof(plain, tagged, odd, fc.string());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), doc), { maxLength: 20 }), fc.array(fc.tuple(fc.string(), fc.array(fc.string(), { maxLength: 4 })), { maxLength: 4 }), (docs, sets) => {
        const state = emptyState();
        for (const [k, v] of docs) state.documents.set(k, v);
        for (const [k, m] of sets) state.collections.set(k, new Set(m));
        const snap = { version: 2 as const, walLine: 42, timestamp: 1_700_000_000_000, state };
        expect(text(seedTextChunks(snap))).toBe(text(snapshotTextChunks(snap)));
      }),
      { numRuns: 300 },
    );
  });

  it('takes the JSON path for a plain document and the JSS one for a tagged one, with the same result', () => {
    expect(documentPiece('k', '{"a":[1,"x"]}')).toBe('"k":{"a":[1,"x"]}');
    const tagged = encodeJss({ at: new Date(5) });
    expect(documentPiece('k', tagged)).toBe('"k":{"at<!D>":5}');
    expect(documentPiece('k', 'not json')).toBe('"k":"not json"');
  });
});
