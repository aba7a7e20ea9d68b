import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Operation } from '../../src/format/operation.js';
import { applyOperation, cloneState, emptyState } from '../../src/format/state.js';
import { FrozenState } from '../../src/store/frozen-state.js';

const keyArb = fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F');
const opArb: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ action: fc.constant('SET' as const), target: keyArb, value: fc.string({ maxLength: 3 }) }),
  fc.record({ action: fc.constant('DELETE' as const), target: keyArb }),
  fc.record({ action: fc.constant('RENAME' as const), target: keyArb, oldKey: keyArb }),
  fc.record({ action: fc.constant('SADD' as const), target: fc.constantFrom('S', 'T', 'U'), member: keyArb }),
  fc.record({ action: fc.constant('SREM' as const), target: fc.constantFrom('S', 'T', 'U'), member: keyArb }),
);

describe('FrozenState', () => {
  it('gives the state as it was when frozen, in its order, however writes after it interleave with the reading', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.array(opArb, { maxLength: 30 }), fc.array(fc.nat(4), { maxLength: 30 }), (before, after, stepsBetween) => {
        const live = emptyState();
        for (const op of before) applyOperation(live, op);
        const expected = cloneState(live);
        const frozen = new FrozenState(live);
        const write = (op: Operation) => {
          frozen.beforeApply(op);
          applyOperation(live, op);
        };
        // Writes before the reading starts, between the documents read, and between the sets read.
        const pending = [...after];
        const writeSome = (i: number) => {
          for (let n = stepsBetween[i % Math.max(1, stepsBetween.length)] ?? 1; n > 0 && pending.length > 0; n--) write(pending.shift()!);
        };
        writeSome(0);
        const docs: [string, string][] = [];
        for (const entry of frozen.entries.documents) {
          docs.push(entry);
          writeSome(docs.length);
        }
        const sets: [string, string[]][] = [];
        for (const [name, members] of frozen.entries.collections) {
          sets.push([name, [...members]]);
          writeSome(sets.length + 7);
        }
        while (pending.length > 0) write(pending.shift()!);
        expect(docs).toEqual([...expected.documents]);
        expect(sets).toEqual([...expected.collections].map(([k, v]) => [k, [...v]]));
        expect(frozen.documentCount).toBe(expected.documents.size);
        expect(frozen.collectionCount).toBe(expected.collections.size);
      }),
      { numRuns: 1000 },
    );
  });
});
