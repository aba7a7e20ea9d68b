/**
 * BRI stamps WAL lines with its host's clock, which can step back: a line may carry an earlier time
 * than one before it. Every reader takes a line at its effective time (the running maximum of the
 * times so far), so the lines at or before a moment are a prefix of the log, and a point in time
 * restore, `show --at`, `history` and an archive's time range all cut the log at the same line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openOfflineArchive, openOfflineRestore } from '../../src/archive/offline.js';
import type { Operation } from '../../src/format/operation.js';
import { BriStore } from '../../src/store/store.js';
import { appendLinesAt, setOp } from '../support/bri-lines.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-times-back-');
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

const appendLines = (file: string, prev: string, lines: Array<[number, Operation]>): string => appendLinesAt(T0, file, prev, lines);
const set = setOp;

describe('WAL times that go backwards', () => {
  it('archive ranges are not inverted, create says where times went back, and restore to T, show --at T and history cut the log at the same line', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(dataDir, 'wal'), { recursive: true });
    // Line times 2000, 5000, 1000 | 4000, 6000 (ms after T0): effective 2000, 5000, 5000 | 5000, 6000.
    const last = appendLines(path.join(dataDir, 'wal', '000000.wal'), '', [
      [2000, set('A', 'v1')],
      [5000, set('B', 'b1')],
      [1000, set('A', 'v3')],
    ]);
    const archive = await openOfflineArchive({ dataDir, purpose: 'test' });
    const first = await archive.create();
    const segs = fs.readdirSync(path.join(dataDir, 'wal')).sort();
    appendLines(path.join(dataDir, 'wal', segs.at(-1)!), last, [
      [4000, set('A', 'v4')],
      [6000, set('A', 'v5')],
    ]);
    const second = await archive.create();

    const range = (m: typeof first.manifest) => [m.timeRange.start.getTime() - T0, m.timeRange.end.getTime() - T0];
    expect(range(first.manifest)).toEqual([2000, 5000]);
    expect(range(second.manifest)).toEqual([5000, 6000]);
    // Each member keeps its lines' own first and last times, and says that they went back.
    expect(first.manifest.contents.segments.map((s) => [s.firstTimestamp! - T0, s.lastTimestamp! - T0, s.timesBack && { ...s.timesBack, latestTimestamp: s.timesBack.latestTimestamp - T0 }])).toEqual([[2000, 1000, { lines: 1, latestTimestamp: 5000 }]]);
    expect(first.warnings).toEqual([expect.stringMatching(/^WAL line times go backwards at line 3 by 4000 ms/)]);
    expect(second.warnings).toEqual([expect.stringMatching(/^WAL line times go backwards at line 4 by 1000 ms/)]);
    // Archived as they are: verify finds nothing wrong with them.
    expect((await archive.verifyAll()).ok).toBe(true);

    const restore = await openOfflineRestore({ dataDir });
    const history = await restore.history('A');
    // Oldest first, at their effective times: never earlier than a change before them.
    expect(history.entries.map((e) => [e.line, e.timestamp - T0])).toEqual([
      [1, 2000],
      [3, 5000],
      [4, 5000],
      [5, 6000],
    ]);
    // Moments inside the stretch: the state is the one after the last line whose effective time is at or before it.
    const expected: Array<[number, number, string | null, string | null]> = [
      [3000, 1, '{"v":"v1"}', null],
      [4500, 1, '{"v":"v1"}', null],
      [5000, 4, '{"v":"v4"}', '{"v":"b1"}'],
      [5500, 4, '{"v":"v4"}', '{"v":"b1"}'],
      [6000, 5, '{"v":"v5"}', '{"v":"b1"}'],
    ];
    const fromLines: Record<number, number[]> = { 3000: [3, 4, 5], 4500: [3, 4, 5], 5000: [3, 4, 5], 5500: [5], 6000: [5] };
    for (const [at, line, a, b] of expected) {
      const T = T0 + at;
      const target = path.join(root, `at-${at}`);
      const restored = await restore.toTimestamp(T, { targetDir: target });
      expect([at, restored.lastLine, restored.lastTimestamp! - T0 <= at]).toEqual([at, line, true]);
      const store = await BriStore.open({ dataDir: target, snapshotOnClose: false, createIfMissing: false });
      const got = [store.getRaw('A') ?? null, store.getRaw('B') ?? null];
      await store.close();
      expect([at, ...got]).toEqual([at, a, b]);
      const shown = [(await restore.read('A', { at: T })).document, (await restore.read('B', { at: T })).document];
      expect([at, ...shown]).toEqual([at, a, b]);
      const to = await restore.history('A', { to: T });
      expect([at, to.entries.at(-1)?.value ?? null]).toEqual([at, a]);
      // From T: every change after the state just before T (a change at T itself included, as always), none before it.
      const from = await restore.history('A', { from: T });
      expect([at, from.entries.map((e) => e.line)]).toEqual([at, fromLines[at]]);
    }
  });
});

describe('WAL times that go backwards, on the command line', () => {
  it('archive create says where times went back on stderr, and under --json in warnings', async () => {
    const { runCli } = await import('../support/cli.js');
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(dataDir, 'wal'), { recursive: true });
    const prev = appendLines(path.join(dataDir, 'wal', '000000.wal'), '', [
      [2000, set('A', 'v1')],
      [5000, set('B', 'b1')],
      [1000, set('A', 'v3')],
    ]);
    const made = await runCli(['archive', 'create', '-d', dataDir, '--level', '1', '--json']);
    expect(made.code, made.stderr).toBe(0);
    // Under --json the warning is in the document only (stderr holds JSON alone); the text says it on stderr.
    expect(made.stderr).not.toMatch(/WARNING/);
    expect(JSON.parse(made.stdout).warnings).toEqual([expect.stringMatching(/at line 3 by 4000 ms/)]);
    appendLines(path.join(dataDir, 'wal', '000000.wal'), prev, [
      [6000, set('C', 'c1')],
      [3000, set('C', 'c2')],
    ]);
    const text = await runCli(['archive', 'create', '-d', dataDir, '--level', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/WARNING: WAL line times go backwards at line 5 by 3000 ms/);
  });
});
