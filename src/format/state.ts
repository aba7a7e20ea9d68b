/** The database state as the WAL defines it, and the effect of each operation on it. */
import { setField } from './jss.js';
import type { Operation } from './operation.js';

export interface DbState {
  /** key -> stored string (the JSS-encoded document, as written by SET). */
  documents: Map<string, string>;
  /** set name -> members, in insertion order. */
  collections: Map<string, Set<string>>;
}

/** What a snapshot is written from: the documents and the sets, in order (a DbState is one). */
export interface StateEntries {
  documents: Iterable<[string, string]>;
  collections: Iterable<[string, Iterable<string>]>;
}

export function emptyState(): DbState {
  return { documents: new Map(), collections: new Map() };
}

/** Applies one operation exactly as BRI's replay does. */
export function applyOperation(state: DbState, op: Operation): void {
  switch (op.action) {
    case 'SET':
      state.documents.set(op.target, op.value);
      return;
    case 'DELETE':
      state.documents.delete(op.target);
      return;
    case 'RENAME': {
      const value = state.documents.get(op.oldKey);
      if (value === undefined) return;
      state.documents.delete(op.oldKey);
      state.documents.set(op.target, value);
      return;
    }
    case 'SADD': {
      let set = state.collections.get(op.target);
      if (set === undefined) {
        set = new Set();
        state.collections.set(op.target, set);
      }
      set.add(op.member);
      return;
    }
    case 'SREM':
      state.collections.get(op.target)?.delete(op.member);
      return;
  }
}

/** A plain JSON view (`{ documents, collections }`), the shape of the fixtures' checkpoints and of `bri data dump`. */
export interface PlainState {
  documents: Record<string, string>;
  collections: Record<string, string[]>;
}

export function toPlainState(state: DbState): PlainState {
  // setField: a key '__proto__' stays a field of the dump (an assignment would replace its prototype).
  const documents: Record<string, string> = {};
  for (const [k, v] of [...state.documents].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) setField(documents, k, v);
  const collections: Record<string, string[]> = {};
  for (const [k, v] of [...state.collections].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) setField(collections, k, [...v]);
  return { documents, collections };
}

export function cloneState(state: DbState): DbState {
  return {
    documents: new Map(state.documents),
    collections: new Map([...state.collections].map(([k, v]) => [k, new Set(v)])),
  };
}

/** Whether two states hold the same documents (stored strings) and the same sets (as sets). */
export function statesEqual(a: DbState, b: DbState): boolean {
  if (a.documents.size !== b.documents.size || a.collections.size !== b.collections.size) return false;
  for (const [k, v] of a.documents) if (b.documents.get(k) !== v) return false;
  for (const [k, s] of a.collections) {
    const t = b.collections.get(k);
    if (t === undefined || t.size !== s.size) return false;
    for (const m of s) if (!t.has(m)) return false;
  }
  return true;
}
