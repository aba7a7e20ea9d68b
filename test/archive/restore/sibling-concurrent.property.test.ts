/**
 * A clone kept beside its original, property-tested: both write random workloads, taking turns in a
 * random order and archiving at random points, and upload their archives to one remote; the clone is then
 * restored in place to a random moment of its history, and the directory (a third instance) writes on,
 * archived or not. Every moment of the clone it kept is answered from the clone's lines, never the
 * original's (both began on one origin, and their archives cover the same lines at overlapping times):
 * `read`, a restore to that moment elsewhere, from every source and from the remote alone, and `history`.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB, type BriDB } from '../../../src/db.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { apply, expectReadByReplay, expectRestoredState, historyByTable, KEYS, rawWal, SETS, step, type RawLine } from '../../support/wal-reference.js';
import { endsWithin } from '../../support/property-budget.js';

const tmp = useTempDirs('bri-sibling-prop-');
const tick = () => new Promise((r) => setTimeout(r, 3));

async function uploaded(db: BriDB): Promise<void> {
  await db.archive.create().catch(() => undefined);
  expect((await db.archive.upload()).map((s) => s.outcome)).not.toContain('failed');
}

describe('a directory restored from a clone that wrote beside its original answers from the clone', () => {
  it('read, restore and history of each moment it kept', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.boolean(), step), { minLength: 6, maxLength: 30 }),
        fc.nat(),
        fc.nat(),
        fc.array(step, { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom(...KEYS, ...SETS),
        async (first, turns, pickFork, pickAt, thirdWork, thirdArchives, key) => {
          const root = await tmp();
          const nas = path.join(root, 'nas');
          await fs.mkdir(nas);
          const config = (dataDir: string) => ({ dataDir, archive: { compression: { level: 1 }, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }] }, walSegmentSize: 600 });
          const [dataDir, cloneDir] = [path.join(root, 'data'), path.join(root, 'clone')];
          const db = await createDB({ storeConfig: config(dataDir) });
          await db.set('K0', { v: -1 });
          for (const s of first) await apply(db, s);
          await db.archive.create().catch(() => undefined);
          // (The original's WAL keeps every line: the clone's history is its lines up to the clone's origin, then the clone's.)
          const originalLines = await rawWal(dataDir);
          await db.restore.clone({ targetDir: cloneDir });
          const cloneStarts = (await readArchiveState(cloneDir))!.removedLines;
          const clone = await createDB({ storeConfig: config(cloneDir) });
          for (const [byClone, s] of turns) {
            await tick();
            await apply(byClone ? clone : db, s);
          }
          await uploaded(db);
          await uploaded(clone);
          await db.close();
          const cloneLines = [...originalLines.slice(0, cloneStarts), ...(await rawWal(cloneDir)).map((l, n): RawLine => ({ ...l, line: cloneStarts + n + 1 }))];
          await clone.close();

          const forkTimes = [...new Set(cloneLines.map((l) => l.ts))];
          const fork = forkTimes[pickFork % forkTimes.length]!;
          const kept = cloneLines.filter((l) => l.ts <= fork);
          const back = openRestore({ dataDir: cloneDir, config: config(cloneDir).archive });
          await back.toTimestamp(fork, { force: true }).finally(() => back.close());
          const third = await createDB({ storeConfig: config(cloneDir) });
          try {
            const known = (await rawWal(cloneDir)).length;
            await tick();
            for (const s of thirdWork) if (thirdArchives || s.kind !== 'archive') await apply(third, s);
            if (thirdArchives) await uploaded(third);
            const since = (await rawWal(cloneDir)).slice(known).map((l, n): RawLine => ({ ...l, line: kept.length + n + 1 }));
            const lines = [...kept, ...since];

            // A moment of the clone that the directory kept.
            const keptTimes = [...new Set(kept.map((l) => l.ts))];
            const at = keptTimes[pickAt % keptTimes.length]!;
            for (const source of [undefined, 'nas']) {
              const ref = expectReadByReplay(await third.restore.read(key, { at, ...(source ? { source } : {}) }), lines, key, at);
              const target = path.join(root, `at-t-${source ?? 'all'}`);
              await third.restore.toTimestamp(at, { targetDir: target, ...(source ? { source } : {}) });
              await expectRestoredState(target, ref);
            }
            const h = await third.archive.history(key);
            expect(h.missing).toEqual([]);
            expect(h.entries.map((e) => [e.line, e.action, e.key])).toEqual(historyByTable(key, lines).map((l) => [l.line, l.op.action, l.op.target]));
          } finally {
            await third.close();
          }
        },
      ),
      { numRuns: Number(process.env.SIBLING_RUNS ?? 10), ...endsWithin(300_000) },
    );
  }, 300_000);
});
