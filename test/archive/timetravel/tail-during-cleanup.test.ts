/**
 * Time travel lists the data directory's WAL without the lock: a WAL cleanup may be half done under it
 * (removedLines raised, the old segments not deleted yet). Those segments are left out of the listing,
 * so no line number is mapped onto a file a cleanup is removing.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDirEnd, dataDirTail } from '../../../src/archive/timetravel/wal-tail.js';
import { createDB } from '../../../src/db.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { listSegments } from '../../../src/store/layout.js';
import { offlineRemover } from '../../../src/store/offline.js';
import { recover } from '../../../src/store/recovery.js';
import { parseWalLine } from '../../../src/format/wal-line.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-cleanup-');

describe("time travel's view of the data directory during a WAL cleanup", () => {
  it('after removedLines is raised and before the old segments are deleted, the listing numbers the lines as before the cleanup', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 600, snapshotOnClose: false, archive: { compression: { level: 1 } } } });
    try {
      for (let i = 0; i < 40; i++) await db.set(`K${i}`, { v: i });
      await db.archive.create();
    } finally {
      await db.close();
    }
    const total = (await recover(dataDir)).totalLines;
    const before = (await dataDirTail(dataDir))!;
    const lineAt = async (tail: NonNullable<Awaited<ReturnType<typeof dataDirTail>>>, n: number) => {
      const ref = (await tail.segments()).find((s) => s.firstLine <= n && n <= s.lastLine)!;
      return parseWalLine((await tail.fetch(ref)).lines[n - ref.firstLine]!)!.pointer;
    };
    const pointerOfLast = await lineAt(before, total);
    const segs = (await listSegments(dataDir)).map((s) => s.name);
    // A cleanup stopped right after raising removedLines: its segments are still on disk, its journal says which go.
    await expect(
      offlineRemover(dataDir, undefined)(total, 0, (step) => {
        if (step === 'offset-raised') throw new Error('stopped after offset-raised');
      }),
    ).rejects.toThrow('stopped after offset-raised');
    expect((await listSegments(dataDir)).map((s) => s.name)).toEqual(segs);
    expect((await readArchiveState(dataDir))!.removedLines).toBeGreaterThan(0);
    const during = (await dataDirTail(dataDir))!;
    expect((await during.segments()).at(-1)!.lastLine).toBe(total);
    expect(await lineAt(during, total)).toBe(pointerOfLast);
    expect(await dataDirEnd(dataDir)).toMatchObject({ lastLine: total });
  });
});
