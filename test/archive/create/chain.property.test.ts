import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { replayArchive } from '../../../src/archive/package/replay.js';
import { recover } from '../../../src/store/recovery.js';
import { toPlainState } from '../../../src/format/state.js';
import { makeTempDir } from '../../support/fixtures.js';
import { endsWithin } from '../../support/property-budget.js';

type Step = { kind: 'write'; n: number; seed: number } | { kind: 'archive' } | { kind: 'snapshot' } | { kind: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), n: fc.integer({ min: 1, max: 30 }), seed: fc.integer() }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'archive' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

async function writeSome(db: BriDB, n: number, seed: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const k = `K_${(seed + i) % 17}`;
    switch ((seed + i) % 4) {
      case 0:
        await db.set(k, { v: seed + i, at: new Date(1700000000000 + i) });
        break;
      case 1:
        await db.sAdd('S', k);
        break;
      case 2:
        await db.rename(k, `${k}_moved`);
        break;
      default:
        await db.sRem('S', k);
    }
  }
}

describe('archives chain exactly (property over random workloads and archive points)', () => {
  it('no line missing, none twice, pointers continue, and each archive replays to the state at its end', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 14 }), fc.integer({ min: 300, max: 3000 }), async (steps, segmentSize) => {
        const root = await makeTempDir('bri-chainprop-');
        const dataDir = path.join(root, 'data');
        const open = () => createDB({ storeConfig: { dataDir, walSegmentSize: segmentSize, snapshotOnClose: false, fsyncMode: 'batched', batchIntervalMs: 1 } });
        let db = await open();
        try {
          const expectedEnd = new Map<string, ReturnType<typeof toPlainState>>();
          for (const s of [...steps, { kind: 'write', n: 1, seed: 1 } as Step, { kind: 'archive' } as Step]) {
            if (s.kind === 'write') await writeSome(db, s.n, s.seed);
            else if (s.kind === 'snapshot') await db.createSnapshot();
            else if (s.kind === 'restart') {
              await db.close();
              db = await open();
            } else {
              try {
                const a = await db.archive.create({ level: 1 });
                expectedEnd.set(a.archiveId, toPlainState(db.state));
              } catch (err) {
                expect((err as { code?: string }).code).toBe('NOTHING_TO_ARCHIVE');
              }
            }
          }
          const archives = await db.archive.list();
          expect(archives.length).toBeGreaterThan(0);
          expect(archives[0]!.manifest.timeRange.walLines.start).toBe(0);
          for (let i = 0; i < archives.length; i++) {
            const m = archives[i]!.manifest;
            if (i > 0) {
              const prev = archives[i - 1]!.manifest;
              expect(m.timeRange.walLines.start).toBe(prev.timeRange.walLines.end);
              expect(m.chain.prevPointer).toBe(prev.chain.lastPointer);
            }
            expect((await db.archive.verify(m.archiveId)).problems).toEqual([]);
            const replayed = await replayArchive(archives[i]!.file!);
            expect(toPlainState(replayed.state)).toEqual(expectedEnd.get(m.archiveId));
          }
          // Every line of the WAL is in exactly one archive: the last ends where the WAL ends.
          await db.flush();
          const rec = await recover(dataDir);
          expect(archives[archives.length - 1]!.manifest.timeRange.walLines.end).toBe(rec.totalLines);
        } finally {
          await db.close();
          await fsp.rm(root, { recursive: true, force: true });
        }
      }),
      { numRuns: 15, ...endsWithin(120_000) },
    );
  }, 120_000);
});
