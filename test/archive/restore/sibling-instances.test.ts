/**
 * Two instances that began on one origin. A database archived twice (the second archive starting from a
 * snapshot at line 2) is restored in place to a moment inside its second archive: a new instance begins on
 * that archive's origin (line 2) and writes on. Restored in place again, to a moment of that second instance,
 * a third begins on the same origin. Up to line 2 all three share one history; past it, lines 3..8 are the
 * second instance's, not the first's (whose archive holds other lines 3..8, at other times). A moment there is
 * answered from the second instance's archives: restore, read, history and diff, each equal to a replay of the
 * history the database kept.
 */
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { expectDiffByReplay, expectReadByReplay, historyByTable, rawWal, type RawLine } from '../../support/wal-reference.js';

const tmp = useTempDirs('bri-sibling-instances-');
const tick = () => new Promise((r) => setTimeout(r, 4));

it('a moment of the instance a directory was restored from, when another began on the same origin, is that instance’s', async () => {
  const dataDir = path.join(await tmp(), 'data');
  const storeConfig = { dataDir, archive: { compression: { level: 1 } } };
  let db = await createDB({ storeConfig });
  await db.set('A', { v: 0 });
  await tick();
  await db.set('B', { v: 0 });
  await db.archive.create();
  for (let v = 1; v <= 6; v++) {
    await tick();
    await db.set('A', { v });
  }
  await db.archive.create();
  await db.close();
  let lines = await rawWal(dataDir);
  expect(lines).toHaveLength(8);

  /** Restores in place to the time of line `n` of the history kept so far, writes `write` on, archives or not; the history then. */
  const forkAndWrite = async (n: number, write: (db: Awaited<ReturnType<typeof createDB>>) => Promise<void>, archive: boolean): Promise<void> => {
    const fork = lines[n - 1]!.ts;
    const kept = lines.filter((l) => l.ts <= fork);
    const back = openRestore({ dataDir });
    await back.toTimestamp(fork, { force: true }).finally(() => back.close());
    db = await createDB({ storeConfig });
    const known = (await rawWal(dataDir)).length;
    await tick();
    await write(db);
    if (archive) await db.archive.create();
    const since = (await rawWal(dataDir)).slice(known).map((l, i): RawLine => ({ ...l, line: kept.length + i + 1 }));
    lines = [...kept, ...since];
  };

  // The second instance: from line 6 (inside the second archive, whose snapshot is at line 2), lines 7..12 of its own, archived.
  await forkAndWrite(6, async (d) => {
    for (let v = 100; v < 106; v++) {
      await d.set(v % 2 ? 'B' : 'A', { v });
      await tick();
    }
    await d.rename('B', 'C');
  }, true);
  await db.close();
  // The third: from line 8 (the second instance's second line of its own), a few lines, not archived.
  await forkAndWrite(8, async (d) => {
    await d.set('A', { v: 200 });
    await d.sAdd('S', 'x');
  }, false);

  try {
    const at = lines[6]!.ts; // line 7: the second instance's first line of its own
    const ref = expectReadByReplay(await db.restore.read('A', { at }), lines, 'A', at);
    const target = path.join(path.dirname(dataDir), 'at-t');
    await db.restore.toTimestamp(at, { targetDir: target });
    const restored = await createDB({ storeConfig: { dataDir: target } });
    try {
      expect(new Map(restored.state.documents)).toEqual(ref.documents);
    } finally {
      await restored.close();
    }
    for (const key of ['A', 'B', 'C']) {
      const h = await db.archive.history(key);
      expect(h.missing).toEqual([]);
      expect(h.entries.map((e) => [e.line, e.action, e.key])).toEqual(historyByTable(key, lines).map((l) => [l.line, l.op.action, l.op.target]));
    }
    expectDiffByReplay(await db.restore.diff({ at: lines[1]!.ts, to: lines[7]!.ts }), lines, lines[1]!.ts, lines[7]!.ts);
    expectDiffByReplay(await db.restore.diff({ at }), lines, at, lines.at(-1)!.ts);
  } finally {
    await db.close();
  }
});
