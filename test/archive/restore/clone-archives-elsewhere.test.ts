/**
 * A clone (or a restore into a new directory) run with its archives elsewhere than `<data>/archives`, as
 * production sets `archive.localDir` or `--archive-dir`. The restore keeps the new instance's starting state
 * as a seed in `<data>/archives` (it cannot know where the archives will go). Written to, snapshotted and
 * archived there, the clone's first archive must still start where the restore did: every line it wrote is
 * in an archive, each moment of it restores, and its time travel answers before it is archived too.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-clone-archives-elsewhere-');
const tick = () => new Promise((r) => setTimeout(r, 4));

describe('a clone run with its archive directory elsewhere', () => {
  it.each([
    ['a moment between two archives (the clone restores no WAL line)', 'between'],
    ['a moment inside an archive (the clone restores WAL lines)', 'inside'],
  ])('%s: its first archive starts where the clone did, and every moment of it restores', async (_name, where) => {
    const root = await tmp();
    const origin = path.join(root, 'a');
    const a = await createDB({ storeConfig: { dataDir: origin }, archive: { triggers: { manual: true } } });
    await a.set('K', { v: 1 });
    await tick();
    await a.set('L', { v: 1 });
    await a.archive.create();
    let inside = 0;
    for (let v = 2; v <= 6; v++) {
      await tick();
      await a.set('K', { v });
      if (v === 4) inside = Date.now();
    }
    await a.archive.create();
    const between = Date.now();
    await tick();
    await a.set('K', { v: 7 });
    await a.archive.create();
    const clone = path.join(root, 'b');
    const made = await a.restore.clone({ targetDir: clone, timestamp: where === 'between' ? between : inside });
    await a.close();
    const cloneLine = made.lastLine;

    const archiveDir = path.join(root, 'b-archives');
    const b = await createDB({ storeConfig: { dataDir: clone }, archive: { localDir: archiveDir, triggers: { manual: true } } });
    const at: number[] = [];
    // (Before its first write: a line is stamped when it is written, some time before its write resolves.)
    const began = Date.now();
    for (let v = 100; v <= 103; v++) {
      await tick();
      await b.set('K', { v });
      at.push(Date.now());
    }
    await tick();
    // The snapshot moves past every line written so far: the first archive cannot start from it without losing them.
    await b.createSnapshot();
    await b.set('K', { v: 104 });
    try {
      // Before any archive of it: its history is the seed the clone kept, then its WAL.
      expect((await b.restore.read('K', { at: at[1]! })).document).toBe('{"v":101}');
      const first = await b.archive.create();
      // (From the clone's starting state: its last restored line, or the archive's snapshot line before it, its WAL lines after that held again.)
      expect(first.manifest.timeRange.walLines.start).toBeLessThanOrEqual(cloneLine);
      expect((await b.restore.read('K', { at: at[0]! })).document).toBe('{"v":100}');
      const h = await b.archive.history('K', { from: began });
      expect(h.missing).toEqual([]);
      expect(h.entries.map((e) => e.value)).toEqual(['{"v":100}', '{"v":101}', '{"v":102}', '{"v":103}', '{"v":104}']);
    } finally {
      await b.close();
    }
    // Stopped, every moment it wrote restores from its archive directory alone (the seed's place is not asked).
    await fsp.rm(path.join(clone, 'archives'), { recursive: true, force: true });
    for (const [i, t] of at.entries()) {
      const target = path.join(root, `at-${i}`);
      const r = await runCli(['restore', 'to-timestamp', new Date(t).toISOString(), '-d', clone, '--archive-dir', archiveDir, '--target', target]);
      expect(r.code, r.stderr).toBe(0);
      const d = await runCli(['data', 'dump', '-d', target, '--json']);
      expect(JSON.parse(d.stdout).documents.K).toBe(`{"v":${100 + i}}`);
    }
    const back = openRestore({ dataDir: clone, config: { localDir: archiveDir } });
    try {
      expect((await back.read('K', { at: at[2]! })).document).toBe('{"v":102}');
    } finally {
      await back.close();
    }
  });
});
