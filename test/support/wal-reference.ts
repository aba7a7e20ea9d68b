/**
 * The reference time travel is checked against, written apart from the code under test: random
 * workloads of a database (documents, sets, renames, deletes, archives), its raw WAL read back line by
 * line, a replay of it to a moment, and a document's history through renames from a name x line table.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { createDB, type BriDB } from '../../src/db.js';
import { decodeOperation, type Operation } from '../../src/format/operation.js';
import { applyOperation, emptyState, type DbState } from '../../src/format/state.js';
import { parseWalLine } from '../../src/format/wal-line.js';
import { readWal } from '../../src/store/wal/wal-reader.js';

export const KEYS = ['K0', 'K1', 'K2', 'K3', 'P_a', 'P_b'];
export const SETS = ['S0', 'S1'];

export type Step =
  | { kind: 'set'; key: string; v: number }
  | { kind: 'delete'; key: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'sadd' | 'srem'; set: string; m: string }
  | { kind: 'archive' }
  | { kind: 'tick' };

export const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...KEYS), v: fc.nat(99) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rename' as const), from: fc.constantFrom(...KEYS), to: fc.constantFrom(...KEYS) }).filter((r) => r.from !== r.to) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('sadd' as const, 'srem' as const), set: fc.constantFrom(...SETS), m: fc.constantFrom('a', 'b', 'c') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'archive' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

export async function apply(db: BriDB, s: Step): Promise<void> {
  switch (s.kind) {
    case 'set':
      await db.set(s.key, { v: s.v });
      return;
    case 'delete':
      await db.delete(s.key);
      return;
    case 'rename':
      await db.rename(s.from, s.to);
      return;
    case 'sadd':
      await db.sAdd(s.set, s.m);
      return;
    case 'srem':
      await db.sRem(s.set, s.m);
      return;
    case 'archive':
      await db.archive.create().catch(() => undefined); // nothing new to archive is fine
      return;
    case 'tick':
      await new Promise((r) => setTimeout(r, 3));
      return;
  }
}

export interface RawLine {
  line: number;
  ts: number;
  op: Operation;
}

export async function rawWal(dataDir: string): Promise<RawLine[]> {
  const out: RawLine[] = [];
  for await (const batch of readWal(dataDir)) for (const l of batch) {
    const p = parseWalLine(l.text)!;
    out.push({ line: l.lineNo, ts: p.timestamp, op: decodeOperation(p.entry) });
  }
  return out;
}

export function replayTo(lines: RawLine[], ts: number): DbState {
  const s = emptyState();
  for (const l of lines) if (l.ts <= ts) applyOperation(s, l.op);
  return s;
}

/**
 * The reference for history, written apart from the code under test: `mine[name][i]` says whether
 * `name` at line i is the document's (the key itself always; the old name of a RENAME into it, back
 * from that line to where that name took its document (a RENAME into it, included) or gave the one
 * before away (a RENAME from it, not included); the new name of a RENAME away from it, from that
 * line on, to where that name gives it away (a RENAME from it, included) or takes another document
 * over it (a RENAME into it, not included)), grown until nothing changes. A RENAME of a key holding
 * no document is in no history; a set's changes are only in its own name's.
 */
export function historyByTable(key: string, all: RawLine[]): RawLine[] {
  // A RENAME of a key holding no document changes nothing (the spec's no-op): no line of any document.
  const replay = emptyState();
  const lines = all.filter(({ op }) => {
    const moves = op.action !== 'RENAME' || replay.documents.has(op.oldKey);
    applyOperation(replay, op);
    return moves;
  });
  const names = new Set([key, ...lines.flatMap((l) => (l.op.action === 'RENAME' ? [l.op.target, l.op.oldKey] : [l.op.target]))]);
  const n = lines.length;
  const mine = new Map([...names].map((k) => [k, new Array<boolean>(n).fill(k === key)]));
  const renameOf = (j: number) => (lines[j]!.op.action === 'RENAME' ? (lines[j]!.op as { oldKey: string; target: string }) : null);
  for (let grew = true; grew; ) {
    grew = false;
    const mark = (name: string, j: number) => {
      if (!mine.get(name)![j]) (mine.get(name)![j] = true), (grew = true);
    };
    lines.forEach((l, i) => {
      if (l.op.action !== 'RENAME') return;
      const { oldKey: x, target: y } = l.op;
      if (mine.get(y)![i])
        for (let j = i; j >= 0; j--) {
          const r = j < i ? renameOf(j) : null;
          if (r?.oldKey === x) break;
          mark(x, j);
          if (r?.target === x) break;
        }
      if (mine.get(x)![i])
        for (let j = i; j < n; j++) {
          const r = j > i ? renameOf(j) : null;
          if (r?.target === y) break;
          mark(y, j);
          if (r?.oldKey === y) break;
        }
    });
  }
  // A set is never renamed: its changes are in the history of its own name only.
  const setOp = (l: RawLine) => l.op.action === 'SADD' || l.op.action === 'SREM';
  return lines.filter((l, i) => (setOp(l) ? l.op.target === key : mine.get(l.op.target)![i] || (l.op.action === 'RENAME' && mine.get(l.op.oldKey)![i])));
}

/** The documents added, changed and removed, and each set's members added and removed, between the replays of `lines` to `at` and to `to`. */
export function diffByReplay(lines: RawLine[], at: number, to: number): { added: string[]; changed: string[]; removed: string[]; sets: Record<string, { added: string[]; removed: string[] }> } {
  const a = replayTo(lines, at);
  const b = replayTo(lines, to);
  const names = new Set([...a.documents.keys(), ...b.documents.keys()]);
  const added = [...names].filter((k) => !a.documents.has(k) && b.documents.has(k)).sort();
  const removed = [...names].filter((k) => a.documents.has(k) && !b.documents.has(k)).sort();
  const changed = [...names].filter((k) => a.documents.has(k) && b.documents.has(k) && a.documents.get(k) !== b.documents.get(k)).sort();
  const sets: Record<string, { added: string[]; removed: string[] }> = {};
  for (const s of SETS) {
    const was = a.collections.get(s) ?? new Set<string>();
    const is = b.collections.get(s) ?? new Set<string>();
    sets[s] = { added: [...is].filter((m) => !was.has(m)).sort(), removed: [...was].filter((m) => !is.has(m)).sort() };
  }
  return { added, changed, removed, sets };
}

/** Checks a diff's answer against diffByReplay (a set with no change may be left out of the answer). */
export function expectDiffByReplay(d: { added: string[]; changed: string[]; removed: string[]; sets: Record<string, { added: string[]; removed: string[] }> }, lines: RawLine[], at: number, to: number): void {
  const want = diffByReplay(lines, at, to);
  expect({ added: d.added, changed: d.changed, removed: d.removed }).toEqual({ added: want.added, changed: want.changed, removed: want.removed });
  for (const s of SETS) expect(d.sets[s] ?? { added: [], removed: [] }).toEqual(want.sets[s]);
}

/** Two moments of `lines`, picked by two numbers: `at`, and `to` no earlier than it. */
export function twoMoments(lines: RawLine[], pickA: number, pickB: number): { at: number; to: number } {
  const times = [...new Set(lines.map((l) => l.ts))];
  const at = times[pickA % times.length]!;
  return { at, to: Math.max(at, times[pickB % times.length]!) };
}

/** Checks a read of `key` at `at` against the replay of `lines` to then (the state, for the rollback's check). */
export function expectReadByReplay(read: { document: string | null; members?: string[] }, lines: RawLine[], key: string, at: number): DbState {
  const ref = replayTo(lines, at);
  expect(read.document).toEqual(ref.documents.get(key) ?? null);
  const refSet = ref.collections.get(key);
  expect(read.members ?? []).toEqual(refSet && refSet.size ? [...refSet] : []);
  return ref;
}

/** Opens the directory a restore made and checks that it holds `ref`: its documents, and its sets' members in any order. */
export async function expectRestoredState(dataDir: string, ref: DbState): Promise<void> {
  const restored = await createDB({ storeConfig: { dataDir } });
  try {
    expect(new Map(restored.state.documents)).toEqual(ref.documents);
    const sorted = (c: DbState['collections']) => new Map([...c].map(([k, v]) => [k, [...v].sort()]));
    expect(sorted(restored.state.collections)).toEqual(sorted(ref.collections));
  } finally {
    await restored.close();
  }
}
