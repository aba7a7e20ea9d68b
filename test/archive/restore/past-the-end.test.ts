/**
 * A time past every line archived or shipped. A quiet database (its data directory, of the same instance,
 * holds no later line) was in its end state then: that is the plan, said as after the last line. Any other
 * such time is refused with the way on: the newest state, or archiving the lines only the WAL holds (and
 * never that when the WAL holds none).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { listSources } from '../../../src/archive/copies/catalog.js';
import { ArchiveSources } from '../../../src/archive/copies/sources.js';
import { planFor } from '../../../src/archive/restore/planner.js';
import { dataDirEnd } from '../../../src/archive/timetravel/wal-tail.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-past-the-end-');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function planAt(dataDir: string, ts: number, withDir: boolean) {
  const sources = new ArchiveSources([]);
  const listing = await listSources(path.join(dataDir, 'archives'), sources);
  const ctx = { archives: listing.archives, sources, order: sources.order, unreachable: listing.unreachable, unreadable: listing.unreadable };
  return planFor({ ...ctx, ...(withDir ? { dataDirEnd: () => dataDirEnd(dataDir) } : {}) }, { kind: 'timestamp', timestamp: ts });
}

const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as { code?: string; message?: string; hint?: string });

describe('restore to a time past every line archived or shipped', () => {
  it('is the end state for a quiet database whose data directory holds no later line, said as after the last line', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      await db.archive.create();
      await db.set('A', { v: 2 });
      const newest = await db.archive.create();
      await pause(20);
      const t = Date.now() - 5;
      const plan = await planAt(dataDir, t, true);
      expect(plan.archive?.manifest.archiveId).toBe(newest.archiveId);
      expect([plan.untilTimestamp, plan.target, plan.pastLastLine]).toEqual([null, { kind: 'timestamp', timestamp: t }, { line: 2, timestamp: newest.manifest.timeRange.end.getTime() }]);
      // Without the data directory nothing says no line came after: refused, with the newest state as the way on.
      const blind = await refusal(planAt(dataDir, t, false));
      expect(blind?.code).toBe('TIMESTAMP_NOT_FOUND');
      expect(blind?.hint).toContain('`bri restore latest` restores the newest state there is (line 2)');
      // A moment not yet come is no moment of the end state.
      expect((await refusal(planAt(dataDir, Date.now() + 3_600_000, true)))?.hint).toContain('has not come yet');
      // Lines written since, in no archive: archiving them is the way to that moment.
      await db.set('A', { v: 3 });
      await pause(20);
      const later = await refusal(planAt(dataDir, Date.now() - 5, true));
      expect(later?.code).toBe('TIMESTAMP_NOT_FOUND');
      expect(later?.hint).toContain("The data directory's WAL holds lines 3..3, in no archive: `bri archive create`");
    } finally {
      await db.close();
    }
  }, 60_000);
});
