/**
 * A restore's replay keeps documents as their JSON literals (src/format/literal-state.ts): it must
 * be BRI's replay exactly, for every entry form BRI accepts and every one it refuses, and the
 * snapshot written from it must load to the same state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BriError } from '../../src/errors.js';
import { applyLiteralEntry, emptyLiteralState, literalCopyOf, literalDocumentPiece, storedStateOf } from '../../src/format/literal-state.js';
import { decodeOperation, encodeOperation, type Operation } from '../../src/format/operation.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/format/snapshot-file.js';
import { applyOperation, emptyState, type DbState } from '../../src/format/state.js';

/** Strings with what JSON must escape: quotes, backslashes, control characters, non-ASCII, `<!` tags. */
const text = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0001', '\u001f', 'é', '😀', '<!D>', '/', 'K', '_'), maxLength: 20 }),
);
const key = fc.constantFrom('a', 'b', 'USER_1', 'USER_with_a_rather_long_key_0123456789', 'k"q', 'k\\b', 'ключ');
const op: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ action: fc.constant('SET' as const), target: key, value: text }),
  fc.record({ action: fc.constant('DELETE' as const), target: key }),
  fc.record({ action: fc.constant('RENAME' as const), target: key, oldKey: key }),
  fc.record({ action: fc.constant('SADD' as const), target: fc.constantFrom('USER?', 's"t'), member: text }),
  fc.record({ action: fc.constant('SREM' as const), target: fc.constantFrom('USER?', 's"t'), member: text }),
);

/** Spellings of one entry that BRI reads alike: as written, with `\u` escapes, `\/`, spaces, other key order, a transaction. */
function spellings(o: Operation): string[] {
  const plain = encodeOperation(o);
  const fields = Object.entries(o);
  // Every other character of the strings as a \u escape (which JSON.stringify never writes for a letter).
  const uString = (s: string) => '"' + [...s].map((c, i) => (i % 2 === 0 ? c.split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('') : JSON.stringify(c).slice(1, -1))).join('') + '"';
  const uEscaped = '{' + fields.map(([k, v]) => `"${k}":${uString(v as string)}`).join(',') + '}';
  return [
    plain,
    uEscaped,
    plain.replace(/\//g, '\\/'),
    JSON.stringify(o, null, 1),
    JSON.stringify(Object.fromEntries(fields.reverse())),
    encodeOperation({ ...o, txn: { txnId: 't1', actions: [{ action: o.action, target: o.target, ts: 1 }] } }),
  ];
}

function replayBoth(entries: string[]): { literal: DbState; plain: DbState; literalOrder: string[] } {
  const literal = emptyLiteralState();
  const plain = emptyState();
  for (const e of entries) {
    applyLiteralEntry(literal, e);
    applyOperation(plain, decodeOperation(e));
  }
  return { literal: storedStateOf(literal), plain, literalOrder: [...literal.documents.keys()] };
}

describe('replaying with documents as their literals', () => {
  it('gives the state BRI\'s replay gives, documents in the same order, for every spelling of every operation', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(op, fc.nat(5)), { maxLength: 60 }), (ops) => {
        const entries = ops.map(([o, pick]) => spellings(o)[pick]!);
        const { literal, plain, literalOrder } = replayBoth(entries);
        expect([...literal.documents]).toEqual([...plain.documents]);
        expect(literalOrder).toEqual([...plain.documents.keys()]);
        expect([...literal.collections].map(([k, v]) => [k, [...v]])).toEqual([...plain.collections].map(([k, v]) => [k, [...v]]));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what BRI refuses, with WAL_CORRUPTED: bad escapes, raw control characters, a wrong field, not an object', () => {
    const bad = [
      '{"action":"SET","target":"a","value":"\\x41"}',
      '{"action":"SET","target":"a","value":"\\u00g1"}',
      '{"action":"SET","target":"a","value":"tab\there"}',
      '{"action":"SET","target":"a\\","value":"b"}',
      '{"action":"SET","target":"a","member":"b"}',
      '{"action":"SADD","target":"s","value":"b"}',
      '{"action":"DELETE","target":"a","value":"b"}x',
      '{"action":"SET","target":"a"}',
      '{"action":"NOPE","target":"a"}',
      '["SET","a","b"]',
      '',
    ];
    for (const e of bad) {
      const state = emptyLiteralState();
      let code: string | undefined;
      try {
        applyLiteralEntry(state, e);
      } catch (err) {
        expect(err).toBeInstanceOf(BriError);
        code = (err as BriError).code;
      }
      expect(code, e).toBe('WAL_CORRUPTED');
      expect(() => decodeOperation(e), e).toThrow();
      expect(state.documents.size).toBe(0);
    }
  });

  it('writes a version-1 snapshot that loads to the replayed state, from a start state and from entries', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 40 }), (before, after) => {
        const start = emptyState();
        for (const o of before) applyOperation(start, o);
        const expected = emptyState();
        for (const o of [...before, ...after]) applyOperation(expected, o);
        const state = literalCopyOf(start);
        for (const o of after) applyLiteralEntry(state, encodeOperation(o));
        const text = encodeSnapshot({ version: 1, walLine: 7, timestamp: 1_700_000_000_000, state }, undefined, literalDocumentPiece);
        const loaded = decodeSnapshot(text).state;
        expect([...loaded.documents]).toEqual([...expected.documents]);
        expect([...loaded.collections].map(([k, v]) => [k, [...v].sort()])).toEqual([...expected.collections].map(([k, v]) => [k, [...v].sort()]));
      }),
      { numRuns: 200 },
    );
  });
});
