/**
 * The diff records each document and set member the first time a line after T touches it
 * (lazy-documents.ts, ChangesSince) and compares only those at the end. Checked here against the
 * whole states at T and at the end, also when a later archive's snapshot replaces the whole state
 * after T (lines missing between two archives), which no line touches.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LazyDocuments, differences, readRawLine } from '../../../src/archive/timetravel/lazy-documents.js';
import { encodeOperation, type Operation } from '../../../src/format/operation.js';
import { applyOperation, cloneState, emptyState, type DbState } from '../../../src/format/state.js';

const key = fc.constantFrom('a', 'b', 'c', 'd', 'k\\"e');
const op: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ action: fc.constant('SET' as const), target: key, value: fc.constantFrom('1', '2', '{"x":1}') }),
  fc.record({ action: fc.constant('DELETE' as const), target: key }),
  fc.record({ action: fc.constant('RENAME' as const), target: key, oldKey: key }),
  fc.record({ action: fc.constant('SADD' as const), target: fc.constantFrom('S', 'T'), member: fc.constantFrom('m1', 'm2', 'm3') }),
  fc.record({ action: fc.constant('SREM' as const), target: fc.constantFrom('S', 'T'), member: fc.constantFrom('m1', 'm2', 'm3') }),
);

/** Applies `o` to the held state as the scan does: by its keys when the line reads that way, else as an operation. */
function scanApply(lazy: LazyDocuments, state: DbState, o: Operation): void {
  const quick = readRawLine(`1|00000000|${encodeOperation(o)}`);
  if (quick !== null && quick.op.action !== 'SADD' && quick.op.action !== 'SREM') return lazy.apply(quick.op);
  lazy.settle(o.target);
  if (o.action === 'RENAME') lazy.settle(o.oldKey);
  lazy.touchOp(o);
  applyOperation(state, o);
}

/** The stored documents of the held state (entries decoded). */
function documentsOf(lazy: LazyDocuments, keys: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of keys) {
    const h = lazy.peek(k);
    if (h !== null) out.set(k, 'entry' in h ? (JSON.parse(h.entry) as { value: string }).value : h.value);
  }
  return out;
}

describe('the changes a diff records after T', () => {
  it('give the differences of the whole states at T and at the end, a later snapshot replacing the state or not', () => {
    const replacement = fc.option(fc.array(op, { maxLength: 12 }), { nil: null });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), fc.array(op, { maxLength: 20 }), replacement, fc.array(op, { maxLength: 20 }), (before, after, replaced, last) => {
        const truth = emptyState();
        let state = emptyState();
        const lazy = new LazyDocuments();
        lazy.attach(state);
        for (const o of before) {
          applyOperation(truth, o);
          scanApply(lazy, state, o);
        }
        const atT = cloneState(truth);
        lazy.recordChanges();
        for (const o of after) {
          applyOperation(truth, o);
          scanApply(lazy, state, o);
        }
        if (replaced !== null) {
          // A snapshot of another history: the state jumps without a line.
          const next = emptyState();
          for (const o of replaced) applyOperation(next, o);
          truth.documents = new Map(next.documents);
          truth.collections = cloneState(next).collections;
          lazy.settleAll();
          state = next;
          lazy.attach(state);
        }
        for (const o of last) {
          applyOperation(truth, o);
          scanApply(lazy, state, o);
        }
        const allKeys = ['a', 'b', 'c', 'd', 'k\\"e'];
        expect(documentsOf(lazy, allKeys)).toEqual(truth.documents);
        const got = differences(lazy.changesSince()!, lazy, state);
        const want = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
        for (const k of allKeys) {
          const was = atT.documents.get(k);
          const is = truth.documents.get(k);
          if (was === undefined && is !== undefined) want.added.push(k);
          else if (was !== undefined && is === undefined) want.removed.push(k);
          else if (was !== is) want.changed.push(k);
        }
        expect({ added: got.added.sort(), changed: got.changed.sort(), removed: got.removed.sort() }).toEqual(want);
        const wantSets: Record<string, { added: string[]; removed: string[] }> = {};
        for (const s of ['S', 'T']) {
          const was = atT.collections.get(s) ?? new Set<string>();
          const is = truth.collections.get(s) ?? new Set<string>();
          const added = [...is].filter((m) => !was.has(m)).sort();
          const removed = [...was].filter((m) => !is.has(m)).sort();
          if (added.length || removed.length) wantSets[s] = { added, removed };
        }
        expect(got.sets).toEqual(wantSets);
      }),
      { numRuns: 500 },
    );
  });
});
