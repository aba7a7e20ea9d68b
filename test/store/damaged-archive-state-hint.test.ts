/**
 * An empty (or otherwise damaged) bri-archive.json: the only way out the hint gave was "restore it from a backup of
 * the data directory". A backup's copy is older (removedLines too small), the state in which the WAL cleanup
 * deleted lines no archive holds. The hint now warns against an older copy and says how to write the file again
 * from the archives: with removedLines 0, `bri archive cleanup-wal` removes nothing and names the value to set.
 * Followed step by step, the chain goes on and nothing is lost.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { listSegments } from '../../src/store/layout.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-damaged-state-hint-');
const open = (dataDir: string) => createDB({ storeConfig: { dataDir, walSegmentSize: 2048, snapshotOnClose: false, archive: { cleanupWal: true, compression: { level: 1 } } } });

async function write(db: BriDB, tag: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await db.set(`${tag}_${i}`, { i, pad: tag.repeat(20 + (i % 30)) });
}

describe('an empty bri-archive.json', () => {
  it('is refused with a hint that warns against an older copy, and whose steps rebuild it without losing a line', async () => {
    const dir = path.join(await tmp(), 'data');
    const db = await open(dir);
    await write(db, 'A', 80);
    await db.archive.create();
    await write(db, 'B', 80);
    await db.archive.create();
    await write(db, 'C', 80);
    const expected = toPlainState(db.state);
    await db.close();
    const file = path.join(dir, 'bri-archive.json');
    const truth = JSON.parse(await fsp.readFile(file, 'utf8')) as { instanceId: string; removedLines: number };
    expect(truth.removedLines).toBeGreaterThan(0);
    await fsp.writeFile(file, '');

    const cleanup = await runCli(['archive', 'cleanup-wal', '-d', dir]);
    expect(cleanup.code, cleanup.stdout + cleanup.stderr).toBe(23);
    expect(cleanup.stderr).toMatch(/bri-archive\.json .* is damaged/);
    expect(cleanup.stderr).not.toMatch(/from a backup/);
    expect(cleanup.stderr).toMatch(/Do not put back an older copy/);
    expect(cleanup.stderr).toContain('"removedLines":0');

    // The hint's steps: the instance id from the archives, removedLines 0, then cleanup-wal names the value.
    const list = await runCli(['archive', 'list', '-d', dir, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const ids = new Set((JSON.parse(list.stdout) as { archives: Array<{ manifest: { instanceId: string } }> }).archives.map((a) => a.manifest.instanceId));
    expect([...ids]).toEqual([truth.instanceId]);
    await fsp.writeFile(file, JSON.stringify({ version: 1, instanceId: [...ids][0], removedLines: 0, last: null }));
    const segments = (await listSegments(dir)).map((s) => s.name);
    const told = await runCli(['archive', 'cleanup-wal', '-d', dir]);
    expect(told.code, told.stdout + told.stderr).toBe(23);
    expect(told.stderr).toContain(`set "removedLines" to ${truth.removedLines}`);
    expect((await listSegments(dir)).map((s) => s.name)).toEqual(segments);

    await fsp.writeFile(file, JSON.stringify({ version: 1, instanceId: [...ids][0], removedLines: truth.removedLines, last: null }));
    const again = await runCli(['archive', 'cleanup-wal', '-d', dir]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const made = await runCli(['archive', 'create', '-d', dir]);
    expect(made.code, made.stdout + made.stderr).toBe(0);
    expect(made.stdout + made.stderr).not.toMatch(/in no archive|gap/i);
    const restored = path.join(path.dirname(dir), 'restored');
    const r = await runCli(['restore', 'latest', '-d', dir, '--target', restored]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const back = await createDB({ storeConfig: { dataDir: restored } });
    expect(toPlainState(back.state)).toEqual(expected);
    await back.close();
  });
});
