/**
 * A history after the oldest archives of an instance are gone (expired by retention, deleted): the lines
 * they held are said as missing, in the answer, in --json and on stderr, never a history that looks whole
 * from the oldest archive left.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { SourceProblem } from '../../../src/archive/copies/fetch.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-expired-history-');

describe('a history whose oldest archives are in no source', () => {
  it('says the lines before the oldest archive left are missing (their archives expired or deleted)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      const ids: string[] = [];
      for (let v = 1; v <= 3; v++) {
        await db.set('DOC', { v });
        ids.push((await db.archive.create()).archiveId);
      }
      const whole = await db.restore.history('DOC');
      expect([whole.entries.length, whole.missing]).toEqual([3, []]);
      const left = (await db.archive.get(ids[2]!)).manifest;
      for (const id of ids.slice(0, 2)) {
        const copy = (await db.archive.get(id)).copies[0]!;
        await fsp.rm(copy.file ?? copy.location);
      }
      const told: SourceProblem[] = [];
      const h = await db.restore.history('DOC', { onSourceProblem: (p) => told.push(p) });
      expect(h.entries.map((e) => e.value)).toEqual(['{"v":3}']);
      const said = { fromLine: 1, toLine: left.timeRange.walLines.start, reason: expect.stringContaining('in no source (expired by retention, or deleted)') as unknown };
      expect(h.missing).toEqual([said]);
      expect(told.map((p) => p.reason)).toEqual([expect.stringContaining(`lines 1..${left.timeRange.walLines.start} are before the oldest archive any source holds (${left.archiveId})`)]);
      // From a moment before the oldest archive left: the same; from one after its start, nothing before it is asked.
      expect((await db.restore.history('DOC', { from: left.timeRange.start.getTime() - 86_400_000 })).missing).toEqual([said]);
      expect((await db.restore.history('DOC', { from: left.timeRange.start.getTime() + 1 })).missing).toEqual([]);
      const cli = await runCli(['archive', 'history', 'DOC', '-d', dataDir, '--json']);
      expect(cli.code, cli.stderr).toBe(0);
      expect((JSON.parse(cli.stdout) as { missing: unknown[] }).missing).toEqual(h.missing);
      expect(cli.stderr).toContain('expired by retention, or deleted');
    } finally {
      await db.close();
    }
  }, 60_000);
});
