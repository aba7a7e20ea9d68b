/**
 * An entry of many megabytes (BRI writes a document of any size as one WAL line) replays as BRI's
 * replay does: the plain form's regular expression ran out of V8's backtracking stack from
 * about 6.7 million characters and threw an untyped RangeError, which failed every archive and
 * every restore of the WAL that held the line.
 */
import { describe, expect, it } from 'vitest';
import { BriError } from '../../src/errors.js';
import { applyLiteralEntry, emptyLiteralState, entryAction, storedStateOf } from '../../src/format/literal-state.js';
import { decodeOperation, encodeOperation } from '../../src/format/operation.js';

const MIB = 1024 * 1024;

/** A SET entry whose value literal is `unit` written `times` times, as it stands in the WAL. */
function setEntry(key: string, unit: string, times: number): string {
  return `{"action":"SET","target":${JSON.stringify(key)},"value":"${unit.repeat(times)}"}`;
}

describe('entries of many megabytes', () => {
  const cases: Array<[string, string]> = [
    ['9 MiB of plain characters', setEntry('BIG', 'x', 9 * MIB)],
    ['20 MiB of plain characters', setEntry('BIG', 'y', 20 * MIB)],
    ['1 MiB of \\u escapes', setEntry('BIG', '\\u0041', Math.floor(MIB / 6) - 10)],
    ['20 MiB of \\u escapes', setEntry('BIG', '\\u0041', Math.ceil((20 * MIB) / 6))],
    ['20 MiB of \\" and \\\\ escapes (a JSON document stored as a string)', setEntry('BIG', 'ab\\"\\\\', Math.ceil((20 * MIB) / 6))],
    ['a 9 MiB set member', encodeOperation({ action: 'SADD', target: 'S?', member: 'm'.repeat(9 * MIB) })],
  ];

  for (const [name, entry] of cases) {
    it(`${name}: replays to the stored string BRI's decoder reads, and says its action`, () => {
      const state = emptyLiteralState();
      const op = decodeOperation(entry);
      expect(applyLiteralEntry(state, entry)).toBe(op.action);
      expect(entryAction(entry)).toBe(op.action);
      const stored = storedStateOf(state);
      if (op.action === 'SET') expect(stored.documents.get(op.target) === op.value).toBe(true);
      else if (op.action === 'SADD') expect(stored.collections.get(op.target)?.has(op.member)).toBe(true);
    });
  }

  it('a long entry with a bad escape, a raw control character or a wrong field is WAL_CORRUPTED, not a RangeError', () => {
    const long = 'z'.repeat(9 * MIB);
    const bad = [
      `{"action":"SET","target":"a","value":"${long}\\x41"}`,
      `{"action":"SET","target":"a","value":"${long}\t"}`,
      `{"action":"SET","target":"a","member":"${long}"}`,
      `{"action":"SET","target":"a","value":"${long}"`,
    ];
    for (const e of bad) {
      const state = emptyLiteralState();
      for (const read of [() => applyLiteralEntry(state, e), () => entryAction(e)]) {
        let caught: unknown;
        try {
          read();
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(BriError);
        expect((caught as BriError).code).toBe('WAL_CORRUPTED');
      }
      expect(state.documents.size).toBe(0);
    }
  });
});
