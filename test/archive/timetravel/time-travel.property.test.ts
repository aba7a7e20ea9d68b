/**
 * Time travel against the raw WAL, property-tested: random workloads (documents, sets, renames,
 * deletes) over several archives and shipped WAL after them, random keys and moments. `read`
 * equals the state from replaying the raw WAL to T; `history` equals the raw WAL filtered to the
 * key through renames; `diff` equals the difference of two replays; after `rollback` the chosen keys
 * equal their state at T, every other key is unchanged, and the chain verifies.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { decodeOperation, type Operation } from '../../../src/format/operation.js';
import { applyOperation, emptyState, type DbState } from '../../../src/format/state.js';
import { parseWalLine } from '../../../src/format/wal-line.js';
import { verifyChain } from '../../../src/store/wal/chain.js';
import { readWal } from '../../../src/store/wal/wal-reader.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-prop-');
const KEYS = ['K0', 'K1', 'K2', 'K3', 'P_a', 'P_b'];
const SETS = ['S0', 'S1'];

type Step =
  | { kind: 'set'; key: string; v: number }
  | { kind: 'delete'; key: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'sadd' | 'srem'; set: string; m: string }
  | { kind: 'archive' }
  | { kind: 'tick' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...KEYS), v: fc.nat(99) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rename' as const), from: fc.constantFrom(...KEYS), to: fc.constantFrom(...KEYS) }).filter((r) => r.from !== r.to) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('sadd' as const, 'srem' as const), set: fc.constantFrom(...SETS), m: fc.constantFrom('a', 'b', 'c') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'archive' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

async function apply(db: BriDB, s: Step): Promise<void> {
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

interface RawLine {
  line: number;
  ts: number;
  op: Operation;
}

async function rawWal(dataDir: string): Promise<RawLine[]> {
  const out: RawLine[] = [];
  for await (const batch of readWal(dataDir)) for (const l of batch) {
    const p = parseWalLine(l.text)!;
    out.push({ line: l.lineNo, ts: p.timestamp, op: decodeOperation(p.entry) });
  }
  return out;
}

function replayTo(lines: RawLine[], ts: number): DbState {
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
function historyByTable(key: string, all: RawLine[]): RawLine[] {
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

describe('time travel equals the raw WAL', () => {
  it('read, history, diff and rollback over archives and shipped WAL', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 45 }), fc.nat(), fc.nat(), fc.constantFrom(...KEYS, ...SETS), async (steps, pickA, pickB, key) => {
        const root = await tmp();
        const dataDir = path.join(root, 'data');
        const nas = path.join(root, 'nas');
        await fsp.mkdir(nas);
        const archive = { compression: { level: 1 }, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 20 } };
        const db = await createDB({ storeConfig: { dataDir, archive, walSegmentSize: 600 } });
        try {
          await db.set('K0', { v: -1 });
          await db.archive.create();
          for (const s of steps) await apply(db, s);
          await db.archive.flushShipping();
          const lines = await rawWal(dataDir);
          const times = [...new Set(lines.map((l) => l.ts))];
          const at = times[pickA % times.length]!;
          const to = Math.max(at, times[pickB % times.length]!);

          const read = await db.restore.read(key, { at });
          const ref = replayTo(lines, at);
          expect(read.document).toEqual(ref.documents.get(key) ?? null);
          const refSet = ref.collections.get(key);
          expect(read.members ?? []).toEqual(refSet && refSet.size ? [...refSet] : []);

          // history: the raw WAL filtered to the key through renames (a name x line table to a fixed point).
          const h = await db.archive.history(key);
          const want = historyByTable(key, lines).map((l) => [l.line, l.op.action, l.op.target]);
          expect(h.entries.map((e) => [e.line, e.action, e.key])).toEqual(want);
          // Each SET entry carries the value its line wrote.
          for (const e of h.entries) {
            const op = lines.find((l) => l.line === e.line)!.op;
            if (op.action === 'SET') expect(e.value).toBe(op.value);
          }

          const d = await db.restore.diff({ at, to });
          const a = replayTo(lines, at);
          const b = replayTo(lines, to);
          const names = new Set([...a.documents.keys(), ...b.documents.keys()]);
          const added = [...names].filter((k) => !a.documents.has(k) && b.documents.has(k)).sort();
          const removed = [...names].filter((k) => a.documents.has(k) && !b.documents.has(k)).sort();
          const changed = [...names].filter((k) => a.documents.has(k) && b.documents.has(k) && a.documents.get(k) !== b.documents.get(k)).sort();
          expect({ added: d.added, changed: d.changed, removed: d.removed }).toEqual({ added, changed, removed });
          for (const s of SETS) {
            const before = a.collections.get(s) ?? new Set<string>();
            const after = b.collections.get(s) ?? new Set<string>();
            const plus = [...after].filter((m) => !before.has(m)).sort();
            const minus = [...before].filter((m) => !after.has(m)).sort();
            expect(d.sets[s] ?? { added: [], removed: [] }).toEqual({ added: plus, removed: minus });
          }

          // rollback: the chosen keys equal their state at T, the others are as they were.
          const chosen = [key, 'P_a'];
          const before = { docs: new Map(db.state.documents), sets: new Map([...db.state.collections].map(([k, v]) => [k, [...v].sort()])) };
          await db.restore.rollback(chosen, { at });
          for (const k of chosen) {
            expect(db.state.documents.get(k)).toEqual(ref.documents.get(k));
            expect([...(db.state.collections.get(k) ?? [])].sort()).toEqual([...(ref.collections.get(k) ?? [])].sort());
          }
          for (const [k, v] of before.docs) if (!chosen.includes(k)) expect(db.state.documents.get(k)).toBe(v);
          for (const [k, v] of before.sets) if (!chosen.includes(k)) expect([...(db.state.collections.get(k) ?? [])].sort()).toEqual(v);
        } finally {
          await db.close();
        }
        expect((await verifyChain(dataDir)).ok).toBe(true);
      }),
      { numRuns: Number(process.env.TT_RUNS ?? 25) },
    );
  }, 300_000);
});
