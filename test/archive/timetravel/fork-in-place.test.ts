/**
 * A data directory restored in place to an earlier moment is a new instance (a fork) whose WAL starts
 * past line 1, its starting state kept as a seed beside the archives of the instance it came from. With
 * nothing of it archived yet, time travel answered from those archives: the timeline the restore cut
 * away (a diff showed a key that never existed in this database, a history missed the fork's writes,
 * a show of now was refused, a rollback offered to write back cut-away values). A moment before the fork
 * is the history it shares with the instance it came from: answered from that one's archives (it was
 * refused, naming --instance).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-fork-');
const tick = () => new Promise((r) => setTimeout(r, 4));
const instanceOf = async (dataDir: string) => (JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { instanceId: string }).instanceId;

describe('time travel on a directory restored in place to an earlier moment', () => {
  it('answers from its own seed and WAL, not the cut-away timeline of the archives; a moment before the fork is answered from the instance it came from', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const early = Date.now();
    await tick();
    let db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    await db.set('B', { v: 1 });
    await db.archive.create();
    await tick();
    const mid = Date.now();
    await tick();
    await db.set('B', { v: 2 });
    await tick();
    const fork = Date.now();
    await tick();
    await db.set('A', { v: 2 });
    await db.set('C', { v: 1 });
    const cutAway = (await db.archive.create()).manifest.timeRange.sealedAt.getTime();
    await db.close();
    const old = await instanceOf(dataDir);
    const restored = await runCli(['restore', 'to-timestamp', String(fork), '-d', dataDir, '--force', '-q']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await instanceOf(dataDir)).not.toBe(old);
    // The fork goes on: its WAL starts past line 1, from the seed its restore kept.
    db = await createDB({ storeConfig: { dataDir } });
    await db.set('D', { v: 1 });
    await db.close();
    await tick();
    const now = String(Date.now());

    const diff = await runCli(['restore', 'diff', '--at', String(fork), '-d', dataDir]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout.trim().split('\n')).toEqual(['+ D']);
    // B's changes before the fork are in the old instance's archives: its history is whole.
    const shared = await runCli(['archive', 'history', 'B', '-d', dataDir, '--json']);
    const whole = JSON.parse(shared.stdout) as { entries: unknown[]; missing?: unknown[] };
    expect(whole.entries).toMatchObject([{ line: 2, value: '{"v":1}' }, { line: 3, value: '{"v":2}' }]);
    expect(whole.missing ?? []).toEqual([]);
    const history = await runCli(['archive', 'history', 'D', '-d', dataDir, '--json']);
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as { entries: Array<{ action: string; value: string }> }).entries).toEqual([expect.objectContaining({ action: 'SET', value: '{"v":1}' })]);
    const show = await runCli(['archive', 'show', 'A', '--at', now, '-d', dataDir]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout.trim()).toBe('{"v":1}');
    const keys = await runCli(['restore', 'keys', 'A', 'C', '--at', now, '-d', dataDir, '--dry-run', '--json']);
    expect(keys.code, keys.stderr).toBe(0);
    expect((JSON.parse(keys.stdout) as { writes: number; items: Array<{ key: string; atT: string | null }> }).items.map((i) => [i.key, i.atT])).toEqual([
      ['A', '{"v":1}'],
      ['C', null],
    ]);

    // Before the fork: the history it shares with the instance it came from, whose archives answer.
    const before = await runCli(['archive', 'show', 'A', '--at', String(early), '-d', dataDir, '--json']);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ exists: false, document: null });
    const then = await runCli(['archive', 'show', 'B', '--at', String(mid), '-d', dataDir]);
    expect(then.stdout.trim()).toBe('{"v":1}');
    // From then to now: B changed by the time of the fork, D written after it; A and C as they were (C cut away).
    const across = await runCli(['restore', 'diff', '--at', String(mid), '-d', dataDir, '--json']);
    expect(across.code, across.stderr).toBe(0);
    expect(JSON.parse(across.stdout)).toMatchObject({ added: ['D'], changed: ['B'], removed: [] });
    const back = await runCli(['restore', 'keys', 'B', 'D', '--at', String(mid), '-d', dataDir, '--dry-run', '--json']);
    expect((JSON.parse(back.stdout) as { items: Array<{ key: string; atT: string | null }> }).items.map((i) => [i.key, i.atT])).toEqual([
      ['B', '{"v":1}'],
      ['D', null],
    ]);
    expect((await openRestore({ dataDir }).read('C', { at: cutAway, instanceId: old })).document).toBe('{"v":1}');

    // Without the seed its state before the fork is nowhere here: refused, not answered from the other timeline.
    const forked = await instanceOf(dataDir);
    const seeds = path.join(dataDir, 'archives', '.seeds');
    for (const f of await fsp.readdir(seeds)) if (f.startsWith(`${forked}.`)) await fsp.rm(path.join(seeds, f));
    const unseeded = await runCli(['archive', 'show', 'A', '--at', now, '-d', dataDir]);
    expect(unseeded.code).toBe(20);
    expect(unseeded.stderr).toMatch(/no seed that can be read here/);
    expect(unseeded.stderr).toContain(`--instance ${old}`);
  });
});
