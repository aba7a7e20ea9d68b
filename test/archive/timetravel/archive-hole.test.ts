/**
 * Time travel when a middle archive of an instance is in no source read (lost, or not on the source
 * asked): the lines it held are a hole. A moment after the hole is answered from the next archive's
 * snapshot (exact); a moment inside it cannot be known, whether it is asked as `at` or as a diff's
 * `to` (before, a diff to such a moment compared with the state after the hole); a history across it
 * says that changes there are missing instead of looking whole.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { SourceProblem } from '../../../src/archive/copies/fetch.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-hole-');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('time travel across a hole between archives', () => {
  it('answers around the hole, refuses a moment inside it, and a history across it says what it misses', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 600, archive: { compression: { level: 1 } } } });
    try {
      const ids: string[] = [];
      const inside: number[] = [];
      for (let b = 0; b < 3; b++) {
        for (let i = 0; i < 4; i++) {
          await db.set(`K${i}`, { b, i });
          await pause(3);
        }
        if (b === 1) inside.push(Date.now());
        await pause(3);
        await db.set('K9', { b });
        await pause(3);
        ids.push((await db.archive.create()).archiveId);
      }
      const history = await db.restore.history('K1');
      expect(history.entries.map((e) => JSON.parse(e.value!).b)).toEqual([0, 1, 2]);
      const first = (await db.archive.get(ids[0]!)).manifest;
      const lost = (await db.archive.get(ids[1]!)).manifest;
      const beforeHole = first.timeRange.end.getTime();
      const diffBefore = await db.restore.diff({ at: beforeHole });
      const lostCopy = (await db.archive.get(ids[1]!)).copies[0]!;
      await fsp.rm(lostCopy.file ?? lostCopy.location);

      const told: SourceProblem[] = [];
      const h = await db.restore.history('K1', { onSourceProblem: (p) => told.push(p) });
      expect(h.entries.map((e) => JSON.parse(e.value!).b)).toEqual([0, 2]);
      expect(told).toHaveLength(1);
      expect(told[0]!.reason).toContain(`lines ${lost.timeRange.walLines.start + 1}..${lost.timeRange.walLines.end}`);
      expect(told[0]!.reason).toContain('not in this history');
      // The answer itself says so too (a caller that listens to nothing still sees it); a whole one says nothing.
      expect(h.missing).toEqual([{ fromLine: lost.timeRange.walLines.start + 1, toLine: lost.timeRange.walLines.end, reason: expect.any(String) as unknown }]);
      expect(history.missing).toEqual([]);
      // The CLI: the JSON names what is missing, stderr says it.
      const cli = await runCli(['archive', 'history', 'K1', '-d', dataDir, '--json']);
      expect(cli.code, cli.stderr).toBe(0);
      const json = JSON.parse(cli.stdout) as { entries: unknown[]; missing?: unknown[] };
      expect(json.entries).toHaveLength(2);
      expect(json.missing).toEqual(h.missing);
      expect(cli.stderr).toContain('not in this history');

      // Inside the hole: not known, as `at` and as `to`.
      const t = inside[0]!;
      await expect(db.restore.read('K1', { at: t })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
      await expect(db.restore.diff({ at: beforeHole, to: t })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
      await expect(db.restore.history('K1', { to: t })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
      // Around it: exact (the next archive's snapshot holds the state after it).
      const d = await db.restore.diff({ at: beforeHole });
      expect([d.added, d.changed, d.removed, d.sets]).toEqual([diffBefore.added, diffBefore.changed, diffBefore.removed, diffBefore.sets]);
      expect((await db.restore.read('K1', { at: beforeHole })).document).toBe(history.entries[0]!.value);
    } finally {
      await db.close();
    }
  });

  it('answers a moment up to the seal of the archive before the hole, as a restore does (no line was written in between)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      const first = (await db.archive.create()).manifest;
      await pause(10);
      const inside = Date.now();
      await pause(10);
      await db.set('A', { v: 2 });
      const lost = await db.archive.create();
      await db.set('A', { v: 3 });
      await db.archive.create();
      const lostCopy = (await db.archive.get(lost.archiveId)).copies[0]!;
      await fsp.rm(lostCopy.file ?? lostCopy.location);

      const sealed = first.timeRange.sealedAt.getTime();
      expect(sealed).toBeGreaterThan(first.timeRange.end.getTime());
      expect((await db.restore.read('A', { at: sealed })).document).toBe('{"v":1}');
      expect((await db.restore.rollback(['A'], { at: sealed, dryRun: true })).items).toEqual([expect.objectContaining({ key: 'A', atT: '{"v":1}', action: 'set' })]);
      const h = await db.restore.history('A', { to: sealed });
      expect([h.entries.map((e) => e.value), h.missing]).toEqual([['{"v":1}'], []]);
      const cli = await runCli(['archive', 'show', 'A', '--at', String(sealed), '-d', dataDir]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout.trim()).toBe('{"v":1}');
      // Past the seal, among the lines of the lost archive: still not known.
      await expect(db.restore.read('A', { at: inside })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    } finally {
      await db.close();
    }
  });
});
