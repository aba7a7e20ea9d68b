/**
 * A restore of an archive that holds the state alone (no WAL line) leaves wal/ empty. The next line
 * is then chained from '' (BRI's rule, and the store's: the last line of the highest non-empty
 * segment, else ''), and it continues the instance: the next archive takes it, from the tip of the
 * chain, and restores to the data. A '' link after lines that wal/ holds is still a break.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { listLocalArchives } from '../../../src/archive/copies/local-catalog.js';
import { createDB } from '../../../src/db.js';
import { encodeSnapshot } from '../../../src/format/snapshot-file.js';
import { toPlainState } from '../../../src/format/state.js';
import { listSegments } from '../../../src/store/layout.js';
import { recover } from '../../../src/store/recovery.js';
import { appendLinesAt, setOp } from '../../support/bri-lines.js';
import { besideOriginalUnsaid, runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-chain-restart-');
const T0 = Date.UTC(2025, 0, 1);

/**
 * A BRI directory whose first segment was removed by hand and the snapshot's walLine lowered to 0: its
 * one line left continues the removed ones. Its first archive holds the state at that line alone.
 */
async function stateOnlyArchived(root: string): Promise<{ dataDir: string; archiveDir: string }> {
  const dataDir = path.join(root, 'data');
  const archiveDir = path.join(dataDir, 'archives');
  await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
  const seg0 = path.join(dataDir, 'wal', '000000.wal');
  const prev = appendLinesAt(T0, seg0, '', [0, 1, 2, 3].map((i) => [i, setOp(`K${i}`, `v${i}`)]));
  appendLinesAt(T0, path.join(dataDir, 'wal', '000001.wal'), prev, [[10, setOp('K4', 'v4')]]);
  const { state } = await recover(dataDir, { untilLine: 4 });
  await fsp.rm(seg0);
  await fsp.writeFile(path.join(dataDir, 'snapshot.jss'), encodeSnapshot({ version: 2, walLine: 0, timestamp: T0 + 3, state }));
  const first = await runCli(['archive', 'create', '-d', dataDir]);
  expect(first.code).toBe(0);
  const [only] = await listLocalArchives(archiveDir);
  expect(only!.manifest.timeRange.walLines).toEqual({ start: 1, end: 1 });
  expect(only!.manifest.contents.segments).toEqual([]);
  return { dataDir, archiveDir };
}

/** `bri restore latest` of the instance's archives into `target` equals the data directory. */
async function restoredEqualsData(dataDir: string, archiveDir: string, target: string): Promise<void> {
  const res = await runCli(['restore', 'latest', '-d', dataDir, '--archive-dir', archiveDir, '--target', target]);
  expect(besideOriginalUnsaid(res.stderr)).toBe('');
  const [data, restored] = await Promise.all([recover(dataDir), recover(target)]);
  expect(toPlainState(restored.state)).toEqual(toPlainState(data.state));
  expect(toPlainState(restored.state).documents).toHaveProperty('NEW');
}

async function writeOne(dataDir: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('NEW', { n: 1 });
  await db.close();
}

describe('the first line after a restore that restored no WAL line', () => {
  it('restored in place: it chains from the empty pointer, and the next archive takes it and restores to the data', async () => {
    const root = await tmp();
    const { dataDir, archiveDir } = await stateOnlyArchived(root);
    const restore = await runCli(['restore', 'latest', '-d', dataDir, '--force']);
    expect(restore.code).toBe(0);
    expect((await listSegments(dataDir)).filter((s) => s.size > 0)).toEqual([]);
    await writeOne(dataDir);
    expect((await runCli(['data', 'verify', '-d', dataDir])).code).toBe(0);
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const archives = (await listLocalArchives(archiveDir)).map((a) => a.manifest).sort((a, b) => a.timeRange.walLines.end - b.timeRange.walLines.end);
    expect(archives.map((m) => m.timeRange.walLines)).toEqual([{ start: 1, end: 1 }, { start: 1, end: 2 }]);
    // The new archive continues the first one, from the pointer its first line was chained from.
    expect(archives[1]!.previousArchiveId).toBe(archives[0]!.archiveId);
    expect(archives[1]!.chain.prevPointer).toBe('');
    await restoredEqualsData(dataDir, archiveDir, path.join(root, 'restored'));
    // The lifecycle goes on: a write after it, and the archive after that one.
    await writeOne(dataDir);
    expect((await runCli(['archive', 'create', '-d', dataDir])).code).toBe(0);
  });

  it('restored to --target once the original is gone (the same instance): written, archived, restored again', async () => {
    const root = await tmp();
    const { dataDir, archiveDir } = await stateOnlyArchived(root);
    // The original's data lost, its archive directory kept: a copy beside a live original would be a new instance.
    await fsp.rename(dataDir, `${dataDir}.old`);
    await fsp.mkdir(dataDir);
    await fsp.rename(path.join(`${dataDir}.old`, 'archives'), archiveDir);
    const copy = path.join(root, 'copy');
    const restored = await runCli(['restore', 'latest', '-d', dataDir, '--target', copy, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ newInstance: false, warnings: [] });
    await writeOne(copy);
    // The archive directory follows the copy.
    const made = await runCli(['archive', 'create', '-d', copy, '--archive-dir', archiveDir]);
    expect(made.stderr).toBe('');
    const newest = (await listLocalArchives(archiveDir)).map((a) => a.manifest.timeRange.walLines);
    expect(newest).toContainEqual({ start: 1, end: 2 });
    await restoredEqualsData(copy, archiveDir, path.join(root, 'restored'));
  });

  it('a line chained from the empty pointer after lines wal/ holds is still a break', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 3; i++) await db.set(`K${i}`, { i });
    await db.close();
    expect((await runCli(['archive', 'create', '-d', dataDir])).code).toBe(0);
    // Line 4 chained from '' as if wal/ had been empty: but lines 1..3 are there before it.
    const [last] = (await listSegments(dataDir)).filter((s) => s.size > 0).slice(-1);
    appendLinesAt(T0, last!.path, '', [[99, setOp('LATE', 'x')]]);
    const err = await new ArchiveApi(offlineHost(dataDir, undefined)).create().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPTED' });
    expect((err as Error).message).toContain('(global line 4)');
  });
});
