/**
 * A history after the oldest archives of an instance are gone (expired by retention, deleted): the lines
 * they held are said as missing, in the answer, in --json and on stderr, never a history that looks whole
 * from the oldest archive left.
 *
 * And a moment before every archive left of a directory restored in place, whose history begins in the
 * instance it was restored from: TIMESTAMP_NOT_FOUND listed only the restored instance's own ranges as
 * available, hiding the older instance's archives that still answer for the history the two share, and
 * sent the user to --instance of that one, which does not hold the moment either.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { momentBetweenWrites } from '../../support/moments.js';
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

  it('a moment before every archive left of a restored history: the ranges of the whole history are the available ones, with where it starts', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    let db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('K', { v: 1 });
    const gone = await momentBetweenWrites();
    await db.set('K', { v: 2 });
    const expired = await db.archive.create();
    await db.set('K', { v: 3 });
    const kept = await momentBetweenWrites();
    await db.set('K', { v: 4 });
    const keptArchive = await db.archive.create();
    const fork = await momentBetweenWrites();
    await db.set('K', { v: 5 }); // cut away by the restore
    await db.archive.create();
    await db.archive.delete(expired.archiveId, { force: true });
    await db.close();
    const A = (await readArchiveState(dataDir))!.instanceId;
    const back = openRestore({ dataDir });
    await back.toTimestamp(fork, { force: true }).finally(() => back.close());
    db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('K', { v: 6 });
      await db.archive.create();
      expect((await db.archive.read('K', { at: kept })).document).toBe('{"v":3}');
      const err = await db.archive.read('K', { at: gone }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
      const { message, hint, details } = err as { message: string; hint: string; details: { available: Array<{ start: Date }> } };
      // The older instance's kept archive is among the available ranges, first; its later one (after the fork) is not.
      expect(details.available[0]!.start).toEqual(keptArchive.manifest.timeRange.start);
      expect(details.available).toHaveLength(2);
      expect(message).toContain(keptArchive.manifest.timeRange.start.toISOString());
      expect(hint).toContain(`instance ${A}'s from ${keptArchive.manifest.timeRange.start.toISOString()}`);
      expect(hint).not.toContain('--instance');
    } finally {
      await db.close();
    }
    const r = await runCli(['restore', 'to-timestamp', new Date(gone).toISOString(), '--data-dir', dataDir, '--target', path.join(root, 'x'), '--json']);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(keptArchive.manifest.timeRange.start.toISOString());
  }, 60_000);
});
