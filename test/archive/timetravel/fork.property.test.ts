/**
 * Time travel across restores in place, property-tested. A random workload is archived, the database is
 * restored in place to a random moment of its history (a new instance when that is not its end), and
 * another random workload goes on and is archived; once or twice. The database's history is then each
 * workload's lines up to the moment the next restore went back to, followed by the next: `read` and `diff`
 * equal replays of it, and `history` equals it filtered to the key through renames, whichever instance
 * holds each moment (a restore of a restore reaches back through both); the cut-away lines are in none;
 * a restore to such a moment elsewhere is the state then; a rollback to it writes back the values the database held then, and the chain verifies.
 */
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { verifyChain } from '../../../src/store/wal/chain.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { apply, expectDiffByReplay, expectRestoredState, expectReadByReplay, historyByTable, KEYS, rawWal, SETS, step, twoMoments, type RawLine } from '../../support/wal-reference.js';
import { endsWithin } from '../../support/property-budget.js';

const tmp = useTempDirs('bri-tt-fork-prop-');

describe('time travel across restores in place equals the history the database kept', () => {
  it('read, diff, history, restore and rollback, the moments on either side of each restore', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 4, maxLength: 25 }),
        fc.array(fc.tuple(fc.nat(), fc.array(step, { minLength: 4, maxLength: 20 })), { minLength: 1, maxLength: 2 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom(...KEYS, ...SETS),
        fc.boolean(),
        async (first, rounds, pickA, pickB, key, archiveLast) => {
          const dataDir = path.join(await tmp(), 'data');
          const storeConfig = { dataDir, archive: { compression: { level: 1 } }, walSegmentSize: 600 };
          let db = await createDB({ storeConfig });
          await db.set('K0', { v: -1 });
          for (const s of first) await apply(db, s);
          await db.archive.create().catch(() => undefined);
          await db.close();
          // The database's history so far, by absolute line.
          let lines = await rawWal(dataDir);
          // The last restore's moment, and whether lines were written after it that no archive holds.
          let lastFork = -Infinity;
          let unarchived = false;
          for (const [i, [pickFork, workload]] of rounds.entries()) {
            const forkTimes = [...new Set(lines.map((l) => l.ts))];
            const fork = forkTimes[pickFork % forkTimes.length]!;
            const kept = lines.filter((l) => l.ts <= fork);
            const back = openRestore({ dataDir });
            await back.toTimestamp(fork, { force: true }).finally(() => back.close());
            db = await createDB({ storeConfig });
            const known = (await rawWal(dataDir)).length;
            await new Promise((r) => setTimeout(r, 3));
            // (The last instance may archive nothing: its lines are then in its WAL alone.)
            const archives = archiveLast || i < rounds.length - 1;
            for (const s of workload) if (archives || s.kind !== 'archive') await apply(db, s);
            if (archives) await db.archive.create().catch(() => undefined);
            // The lines written since the restore, numbered on from the last line it kept.
            const since = (await rawWal(dataDir)).slice(known).map((l, n): RawLine => ({ ...l, line: kept.length + n + 1 }));
            lines = [...kept, ...since];
            [lastFork, unarchived] = [fork, !archiveLast && since.length > 0];
            if (i < rounds.length - 1) await db.close();
          }
          try {
            const { at, to } = twoMoments(lines, pickA, pickB);
            const ref = expectReadByReplay(await db.restore.read(key, { at }), lines, key, at);

            const h = await db.archive.history(key);
            expect(h.missing).toEqual([]);
            expect(h.entries.map((e) => [e.line, e.action, e.key])).toEqual(historyByTable(key, lines).map((l) => [l.line, l.op.action, l.op.target]));

            expectDiffByReplay(await db.restore.diff({ at, to }), lines, at, to);

            // A restore to T elsewhere is the whole state the database held then.
            // (Past the last restore, lines only the directory's WAL holds: refused, with the way on.)
            const target = path.join(path.dirname(dataDir), 'at-t');
            if (unarchived && at > lastFork) await expect(db.restore.toTimestamp(at, { targetDir: target })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND', hint: expect.stringContaining('bri archive create') });
            else {
              await db.restore.toTimestamp(at, { targetDir: target });
              await expectRestoredState(target, ref);
            }

            // A rollback to T writes the values the database held then, whichever instance holds them; the others stay.
            const chosen = [key, 'P_a'];
            const others = new Map([...db.state.documents].filter(([k]) => !chosen.includes(k)));
            await db.restore.rollback(chosen, { at });
            for (const k of chosen) {
              expect(db.state.documents.get(k)).toEqual(ref.documents.get(k));
              expect([...(db.state.collections.get(k) ?? [])].sort()).toEqual([...(ref.collections.get(k) ?? [])].sort());
            }
            for (const [k, v] of others) expect(db.state.documents.get(k)).toBe(v);
          } finally {
            await db.close();
          }
          expect((await verifyChain(dataDir)).ok).toBe(true);
        },
      ),
      { numRuns: Number(process.env.TT_FORK_RUNS ?? 12), ...endsWithin(300_000) },
    );
  }, 300_000);
});
