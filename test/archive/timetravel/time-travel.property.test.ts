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
import { createDB } from '../../../src/db.js';
import { verifyChain } from '../../../src/store/wal/chain.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { apply, expectDiffByReplay, expectReadByReplay, historyByTable, KEYS, rawWal, SETS, step, twoMoments } from '../../support/wal-reference.js';
import { endsWithin } from '../../support/property-budget.js';

const tmp = useTempDirs('bri-tt-prop-');
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
          const { at, to } = twoMoments(lines, pickA, pickB);
          const ref = expectReadByReplay(await db.restore.read(key, { at }), lines, key, at);

          // history: the raw WAL filtered to the key through renames (a name x line table to a fixed point).
          const h = await db.archive.history(key);
          const want = historyByTable(key, lines).map((l) => [l.line, l.op.action, l.op.target]);
          expect(h.entries.map((e) => [e.line, e.action, e.key])).toEqual(want);
          // Each SET entry carries the value its line wrote.
          for (const e of h.entries) {
            const op = lines.find((l) => l.line === e.line)!.op;
            if (op.action === 'SET') expect(e.value).toBe(op.value);
          }

          expectDiffByReplay(await db.restore.diff({ at, to }), lines, at, to);

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
      { numRuns: Number(process.env.TT_RUNS ?? 25), ...endsWithin(300_000) },
    );
  }, 300_000);
});
