/**
 * A range of WAL lines is never printed inverted: an archive that holds a state and no line (its walLines start
 * equals its end, the first archive after a restore to an earlier moment) printed "lines 2..1" in the
 * TIMESTAMP_NOT_FOUND of a restore before it. One helper (src/format/text/line-range.ts) says every range:
 * "the state at line N" for such an archive, "no lines" for an inverted one.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { linesAfter, lineSpan } from '../../src/format/text/line-range.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-state-only-range-');

describe('a line range as it reads', () => {
  it('lines after..through; the state at a line when through === after; never inverted', () => {
    expect(linesAfter(0, 5)).toBe('lines 1..5');
    expect(linesAfter(1, 1)).toBe('the state at line 1');
    expect(linesAfter(3, 1)).toBe('no lines');
    expect(lineSpan(4, 9)).toBe('5..9');
    expect(lineSpan(1, 1)).toBe('none (the state at line 1)');
    expect(lineSpan(3, 1)).toBe('none');
  });
});

describe('an archive that holds only a state', () => {
  it('a restore to a moment before it says "the state at line 1", not "lines 2..1"; the listings say the same', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    const first = await db.archive.create();
    await db.set('B', { v: 2 });
    await db.archive.create();
    await db.close();
    // Back to the first archive's end, then archived: the new instance's archive holds the state at line 1 and no line.
    const back = await runCli(['restore', 'to-timestamp', new Date(first.manifest.timeRange.end).toISOString(), '-d', dataDir, '--force', '--clean-existing', '-q']);
    expect(back.code, back.stderr).toBe(0);
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    // Its summary says it chains no line (was "chain (start) ->  .. ", an empty first pointer).
    expect(made.stdout).toMatch(/chain +\(start\) -> \(no line\)/);

    const before = await runCli(['restore', 'to-timestamp', '2020-01-01T00:00:00Z', '-d', dataDir, '--target', path.join(root, 'r')]);
    expect(before.code).toBe(31);
    expect(before.stderr).toMatch(/TIMESTAMP_NOT_FOUND.*available: .*\(the state at line 1\)/);

    const list = await runCli(['archive', 'list', '-d', dataDir]);
    expect(list.stdout).toContain('none (the state at line 1)');
    const restorable = await runCli(['restore', 'list', '-d', dataDir]);
    expect(restorable.stdout).toContain('(the state at line 1, 1 archives)');
    const stats = await runCli(['archive', 'stats', '-d', dataDir]);
    expect(stats.stdout).toMatch(/lines +none \(the state at line 1\) \(0 in this instance's archives, 2 in all\)/);
    for (const out of [before.stderr, list.stdout, restorable.stdout, stats.stdout]) expect(out).not.toContain('2..1');
  }, 120_000);
});
