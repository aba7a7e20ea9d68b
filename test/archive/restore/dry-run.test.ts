/**
 * A dry run says only what the real run will do: where the manifests pin the cut (a time between two
 * WAL members, the end of an archive) its counts are the real run's; where a time falls inside a member
 * it gives the lines surely restored and the bounds, never a line after the time asked or the time asked
 * as a line's time, and no document count it cannot know.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openOfflineArchive } from '../../../src/archive/offline.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { appendLinesAt, setOp } from '../../support/bri-lines.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-dry-run-');
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

/** Two archives: lines 1..3 (T0, T0+500, T0+1000), then lines 4..5 (T0+1000, T0+2000), each in one member. */
async function twoArchives(dataDir: string): Promise<void> {
  fs.mkdirSync(path.join(dataDir, 'wal'), { recursive: true });
  const last = appendLinesAt(T0, path.join(dataDir, 'wal', '000000.wal'), '', [
    [0, setOp('A', 'a1')],
    [500, setOp('B', 'b1')],
    [1000, setOp('B', 'b2')],
  ]);
  const archive = await openOfflineArchive({ dataDir, purpose: 'test' });
  await archive.create();
  const segs = fs.readdirSync(path.join(dataDir, 'wal')).sort();
  appendLinesAt(T0, path.join(dataDir, 'wal', segs.at(-1)!), last, [
    [1000, setOp('C', 'c1')],
    [2000, setOp('A', 'a2')],
  ]);
  await archive.create();
}

describe('restore --dry-run counts', () => {
  it('are the real run\'s where the manifests pin the cut, and bounds the real run falls within where a time cuts inside a member', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    await twoArchives(dataDir);
    const api = openRestore({ dataDir });
    try {
      const cases: Array<[string, number | null]> = [
        ['inside the first member', T0 + 700],
        ['between the second member\'s two lines', T0 + 1500],
        ['the end of the newest archive', T0 + 2000],
        ['after the last line of a quiet database', T0 + 60_000],
        ['latest', null],
      ];
      for (const [label, t] of cases) {
        const targetDir = path.join(root, `t-${cases.findIndex((c) => c[0] === label)}`);
        const run = (dryRun: boolean) => (t === null ? api.fromLatest({ targetDir, dryRun }) : api.toTimestamp(t, { targetDir, dryRun }));
        const dry = await run(true);
        const real = await run(false);
        const cut = { linesRestored: real.linesRestored, lastLine: real.lastLine };
        if (dry.bounds) {
          expect(label).toMatch(/inside/);
          expect(dry.bounds.linesRestored.atLeast, label).toBeLessThanOrEqual(real.linesRestored);
          expect(dry.bounds.linesRestored.atMost, label).toBeGreaterThanOrEqual(real.linesRestored);
          expect(dry.bounds.lastLine.atMost, label).toBeGreaterThanOrEqual(real.lastLine);
          // The lines surely restored, not a line after the time asked; no time or count it cannot know.
          expect({ linesRestored: dry.linesRestored, lastLine: dry.lastLine }, label).toEqual({ linesRestored: dry.bounds.linesRestored.atLeast, lastLine: dry.bounds.lastLine.atLeast });
          expect(dry.lastLine, label).toBeLessThanOrEqual(real.lastLine);
          expect(dry.lastTimestamp, label).toBeNull();
        } else {
          expect(label).not.toMatch(/inside/);
          expect({ linesRestored: dry.linesRestored, lastLine: dry.lastLine, lastTimestamp: dry.lastTimestamp }, label).toEqual({ ...cut, lastTimestamp: real.lastTimestamp });
        }
        // The document count at the end is in no manifest: not the starting snapshot's in its place.
        expect(dry.documents, label).toBeNull();
        expect(real.documents, label).toBeGreaterThan(0);
      }
    } finally {
      await api.close();
    }
    // The JSON of the CLI's dry run: the cut inside the first member, line 1 surely, 1..2 as bounds; no line 3, nor the time asked as a line's.
    const cli = await runCli(['restore', 'to-timestamp', String(T0 + 700), '-d', dataDir, '--target', path.join(root, 'cli'), '--dry-run', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const j = JSON.parse(cli.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ dryRun: true, linesRestored: 1, lastLine: 1, lastTimestamp: null, documents: null, bounds: { linesRestored: { atLeast: 1, atMost: 2 }, lastLine: { atLeast: 1, atMost: 2 } } });
    const between = await runCli(['restore', 'to-timestamp', String(T0 + 1500), '-d', dataDir, '--target', path.join(root, 'cli'), '--dry-run', '--json']);
    expect(JSON.parse(between.stdout)).toMatchObject({ linesRestored: 1, lastLine: 4, lastTimestamp: T0 + 1000, bounds: null });
  }, 120_000);
});
