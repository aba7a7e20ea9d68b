/**
 * lineage: a document's history through renames, each name followed only while it holds that
 * document (the cases the property test reaches rarely, written out).
 */
import { describe, expect, it } from 'vitest';
import type { Operation } from '../../../src/format/operation.js';
import { applyOperation, emptyState } from '../../../src/format/state.js';
import { lineage, type SeenOperation } from '../../../src/archive/timetravel/lineage.js';

/** The operations as a scan sees them: each with the document it reads from just before it (a rename of nothing is a no-op). */
function seen(ops: Operation[]): SeenOperation[] {
  const state = emptyState();
  return ops.map((op, i) => {
    const value = state.documents.get(op.action === 'RENAME' ? op.oldKey : op.target) ?? null;
    const set = state.collections.get(op.target);
    applyOperation(state, op);
    return { op, line: i + 1, timestamp: 1000 + i, before: { value, members: set ? [...set] : null } };
  });
}
const set = (target: string, v: string): Operation => ({ action: 'SET', target, value: v });
const rename = (oldKey: string, target: string): Operation => ({ action: 'RENAME', oldKey, target });
const linesOf = (key: string, ops: Operation[]) => lineage(key, seen(ops)).map((e) => e.line);

describe('lineage', () => {
  it('a rename onto its own name changes nothing: the history before and after it is kept, both ways', () => {
    // Backward: C came from B, which came from A, created at line 1; A renamed onto itself on the way.
    const back = [set('A', 'a'), rename('A', 'A'), rename('A', 'B'), rename('B', 'C')];
    expect(linesOf('C', back)).toEqual([1, 2, 3, 4]);
    // Forward: A went to B, B renamed onto itself, then B's SET and DELETE are still A's document's.
    const fwd: Operation[] = [set('A', 'v1'), rename('A', 'B'), rename('B', 'B'), set('B', 'v2'), { action: 'DELETE', target: 'B' }];
    expect(linesOf('A', fwd)).toEqual([1, 2, 3, 4, 5]);
  });

  it('two renames in a row: the middle name holds the document between them only (a later SET of it is another document)', () => {
    const ops = [set('K_1', 'a'), rename('K_1', 'K_2'), rename('K_2', 'K_3'), set('K_2', 'unrelated'), set('K_1', 'unrelated too')];
    expect(linesOf('K_3', ops)).toEqual([1, 2, 3]);
    // K_1's own key is followed whole (its later SET is K_1's), the names it went to only while they held it.
    expect(linesOf('K_1', ops)).toEqual([1, 2, 3, 5]);
    expect(linesOf('K_2', ops)).toEqual([1, 2, 3, 4]);
  });

  it('back through a rename: the old name from where it took the document (a rename into it) or after it gave an earlier one away', () => {
    const ops = [set('X', 'first'), rename('X', 'Z'), set('X', 'second'), rename('X', 'K'), set('W', 'w'), rename('W', 'X'), rename('X', 'V')];
    // K came from the second X (line 3), not the first one (which went to Z at line 2).
    expect(linesOf('K', ops)).toEqual([3, 4]);
    // V came from W through X: W's history, the rename into X, X up to its rename away.
    expect(linesOf('V', ops)).toEqual([5, 6, 7]);
  });

  it('forward through a rename: the new name until another document is renamed over it', () => {
    const ops = [set('K', 'k'), rename('K', 'Y'), set('Y', 'k2'), set('Z', 'z'), rename('Z', 'Y'), set('Y', 'z2')];
    // Line 5 puts Z's document in Y: from there Y is not K's document.
    expect(linesOf('K', ops)).toEqual([1, 2, 3]);
  });

  it('a rename of a key holding no document changes nothing: no entry, and no bound of either name', () => {
    const ops = [set('Y', 'y'), set('K', 'k'), { action: 'DELETE', target: 'K' } as Operation, rename('K', 'Y'), set('Y', 'y2')];
    // Y kept its own document through line 4: K's dead one is not Y's past.
    expect(linesOf('Y', ops)).toEqual([1, 5]);
    // K's document ended at line 3: Y's later writes are not K's.
    expect(linesOf('K', ops)).toEqual([2, 3]);
  });

  it('a rename moves the document, not a set of the same name: the new name\'s set changes are not the document\'s', () => {
    const sadd = (target: string, member: string): Operation => ({ action: 'SADD', target, member });
    const ops = [set('K', 'k'), sadd('K', 'a'), rename('K', 'Y'), sadd('Y', 'm'), set('Y', 'k2')];
    expect(linesOf('K', ops)).toEqual([1, 2, 3, 5]);
    expect(linesOf('Y', ops)).toEqual([1, 3, 4, 5]);
  });
});
