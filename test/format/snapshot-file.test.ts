import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, snapshotTextChunks } from '../../src/format/snapshot-file.js';
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

