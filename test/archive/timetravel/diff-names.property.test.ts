/**
 * A diff over escaped and non-ASCII names, renames (and chains of them) on both sides of its first
 * moment, sets whose members move on both sides, many small members and several archives: every answer
 * must equal the difference of two replays of the raw WAL. Written for a diff that read, before its first
 * moment, only the lines naming a name touched between the moments (measured slower at 50 MiB and not
 * kept, see bench/README.md, stop 44); it holds for any way a diff skips lines.
 */
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { apply, rawWal, replayTo, type RawLine, type Step } from '../../support/wal-reference.js';
import { endsWithin } from '../../support/property-budget.js';

/** Plain keys, and keys JSON escapes (a quote, a backslash, a control character) or writes as UTF-8. */
const KEYS = ['K0', 'K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'K7', 'K8', 'K9', 'Q"a', 'B\\b', 'Éc', 'T\td', '🍕e'];
const SETS = ['S0', 'S"1', 'Sé2'];
const MEMBERS = ['a', 'b', 'c"', 'dé'];

/** The shared workload steps (wal-reference.ts) over the names above. */
const op: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...KEYS), v: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('rename' as const), from: fc.constantFrom(...KEYS), to: fc.constantFrom(...KEYS) }).filter((r) => r.from !== r.to) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('sadd' as const, 'srem' as const), set: fc.constantFrom(...SETS), m: fc.constantFrom(...MEMBERS) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'archive' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

/** The difference of two replays, in the diff's shape (every set, changed or not, compared). */
function byReplay(lines: RawLine[], at: number, to: number) {
  const a = replayTo(lines, at);
  const b = replayTo(lines, to);
  const names = [...new Set([...a.documents.keys(), ...b.documents.keys()])].sort();
  const sets: Record<string, { added: string[]; removed: string[] }> = {};
  for (const s of new Set([...a.collections.keys(), ...b.collections.keys()])) {
    const was = a.collections.get(s) ?? new Set<string>();
    const is = b.collections.get(s) ?? new Set<string>();
    const d = { added: [...is].filter((m) => !was.has(m)).sort(), removed: [...was].filter((m) => !is.has(m)).sort() };
    if (d.added.length + d.removed.length > 0) sets[s] = d;
  }
  return {
    added: names.filter((k) => !a.documents.has(k) && b.documents.has(k)),
    changed: names.filter((k) => a.documents.has(k) && b.documents.has(k) && a.documents.get(k) !== b.documents.get(k)),
    removed: names.filter((k) => a.documents.has(k) && !b.documents.has(k)),
    sets,
  };
}

const tmp = useTempDirs('bri-diff-prefilter-');

describe('a diff over escaped names, renames and sets on both sides of its first moment', () => {
  it('equals the difference of two replays of the raw WAL', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 30, maxLength: 90 }), fc.nat(), fc.nat(), async (ops, pickA, pickB) => {
        const dataDir = path.join(await tmp(), 'data');
        // Segments of a few lines: many members, most of them wholly before or after a moment.
        const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } }, walSegmentSize: 300 } });
        try {
          for (const o of ops) await apply(db, o);
          await db.set('K0', { v: 'last archived' });
          await new Promise((r) => setTimeout(r, 2));
          await db.set('K1', { v: 'last archived' });
          await db.archive.create();
          // A line after the archives: the diff must not read past them for the prefilter to apply.
          await db.set('K2', { v: 'not archived' });
          const lines = (await rawWal(dataDir)).slice(0, -1);
          // Two moments strictly before the last archived line's (so a later line is in an archive).
          const times = [...new Set(lines.map((l) => l.ts))].slice(0, -1);
          // Moments close together as often as not: few names touched between them, most lines before skipped.
          const a = pickA % times.length;
          const at = times[a]!;
          const to = times[pickB % 2 === 0 ? Math.min(times.length - 1, a + (pickB % 12)) : Math.max(a, pickB % times.length)]!;
          const d = await db.restore.diff({ at, to, source: 'local' });
          const want = byReplay(lines, at, to);
          expect({ added: d.added, changed: d.changed, removed: d.removed }).toEqual({ added: want.added, changed: want.changed, removed: want.removed });
          expect(Object.fromEntries(Object.entries(d.sets).filter(([, v]) => v.added.length + v.removed.length > 0))).toEqual(want.sets);
        } finally {
          await db.close();
        }
      }),
      { numRuns: Number(process.env.DIFF_PREFILTER_RUNS ?? 25), ...endsWithin(300_000) },
    );
  }, 300_000);

  it('follows a chain of renames before the first moment into a key changed after it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } }, walSegmentSize: 200 } });
    const tick = () => new Promise((r) => setTimeout(r, 3));
    try {
      await db.set('W', { v: 'from W' });
      for (let i = 0; i < 6; i++) await db.set(`filler${i}`, { i });
      await tick();
      await db.rename('W', 'X');
      for (let i = 6; i < 12; i++) await db.set(`filler${i}`, { i });
      await tick();
      await db.rename('X', 'K');
      for (let i = 12; i < 18; i++) await db.set(`filler${i}`, { i });
      await tick();
      const at = Date.now();
      await tick();
      for (let i = 0; i < 6; i++) await db.set(`other${i}`, { i });
      await db.set('K', { v: 'after' });
      await tick();
      const to = Date.now();
      await tick();
      await db.set('late', { v: 1 });
      await db.archive.create();
      const d = await db.restore.diff({ at, to, source: 'local' });
      // K held W's document at `at`: it changed, it was not added.
      expect(d.changed).toEqual(['K']);
      expect(d.added).toEqual([...Array.from({ length: 6 }, (_, i) => `other${i}`)].sort());
      expect(d.removed).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
