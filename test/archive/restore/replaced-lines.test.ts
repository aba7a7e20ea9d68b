/**
 * A restore over a data directory whose WAL goes on past what it brings back: the lines it leaves
 * out are said (dry run and real run, with where they go), and a point in time among them, in no
 * archive yet, is refused with where the lines are and how to restore them. Before, `restore
 * latest` over a directory with writes since its last archive looked like the newest state, and
 * `--clean-existing` deleted those writes without a word.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { openOfflineArchive } from '../../../src/archive/offline.js';
import { isBriError } from '../../../src/errors.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { recover } from '../../../src/store/recovery.js';
import { makeTempDir } from '../../support/fixtures.js';
import { runCli } from '../../support/cli.js';
import { noteReplacedLines, tailEnd } from '../../../src/archive/timetravel/tail-end.js';
import type { RestoreResult } from '../../../src/archive/restore/execute.js';

const pause = () => new Promise((r) => setTimeout(r, 5));

/** A database with 6 archived lines, then 4 more written after its archive (the last at `lastAt`); closed. */
async function withUnarchivedLines(): Promise<{ dir: string; between: number; afterArchive: string }> {
  const dir = path.join(await makeTempDir(), 'data');
  const db = await createDB({ storeConfig: { dataDir: dir } });
  for (let i = 0; i < 6; i++) await db.set(`K${i}`, { v: i });
  const archived = await db.archive.create();
  await pause();
  await db.set('K0', { v: 'migrated' });
  await pause();
  const between = Date.now();
  await pause();
  await db.set('K1', { v: 'migrated' });
  await db.delete('K2');
  await db.set('NEW', { v: 1 });
  await db.close();
  return { dir, between, afterArchive: archived.archiveId };
}

/** Whether the directory holds the last write of withUnarchivedLines. */
const hasNewest = async (dir: string) => (await recover(dir)).state.documents.has('NEW');

describe('a restore over a directory with lines it does not bring back', () => {
  it('one line left out, in no archive: said as not in an archive (it used to read "it is in an archive")', async () => {
    const dir = path.join(await makeTempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await db.set('A', { v: 2 });
    await db.close();
    const dry = await openRestore({ dataDir: dir }).fromLatest({ dryRun: true, force: true, cleanExisting: true });
    expect(dry.warnings).toEqual([expect.stringMatching(/holds 1 line newer than this restore \(lines 2\.\.2, .*; it is not in an archive \(/)]);
  });

  it('says how many lines are left out, that no archive holds them, and where they go', async () => {
    const { dir } = await withUnarchivedLines();
    const api = openRestore({ dataDir: dir });
    const dry = await api.fromLatest({ dryRun: true, force: true, cleanExisting: true });
    expect(dry.warnings).toHaveLength(1);
    expect(dry.warnings[0]).toMatch(/holds 4 lines newer than this restore \(lines 7\.\.10, to \d{4}-/);
    expect(dry.warnings[0]).toContain('none of them is in an archive');
    expect(dry.warnings[0]).toContain('the restore would delete them with it (--clean-existing)');
    const dryKept = await api.fromLatest({ dryRun: true, force: true });
    expect(dryKept.warnings[0]).toContain(`they would be kept in ${dir}.pre-restore-<time>`);
    expect(await hasNewest(dir)).toBe(true); // a dry run changed nothing

    const done = await api.fromLatest({ force: true });
    expect(done.lastLine).toBe(6);
    expect(done.movedAside).not.toBeNull();
    expect(done.warnings.filter((w) => w.includes('newer than this restore'))).toEqual([expect.stringContaining(`kept in ${done.movedAside}`)]);
    // The lines said are there, in the directory kept aside; not in the restored one.
    expect(await hasNewest(done.movedAside!)).toBe(true);
    expect(await hasNewest(dir)).toBe(false);
    await api.close();
  });

  it('does not say it when the restore reaches the directory, nor for another target', async () => {
    const { dir } = await withUnarchivedLines();
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.archive.create();
    await db.close();
    const api = openRestore({ dataDir: dir });
    expect((await api.fromLatest({ force: true, dryRun: true })).warnings).toEqual([]);
    const elsewhere = path.join(path.dirname(dir), 'elsewhere');
    // (A copy beside its original is a new instance, said; no line of it is replaced.)
    expect((await api.fromLatest({ targetDir: elsewhere })).warnings.filter((w) => !w.includes('starts a new instance'))).toEqual([]);
    await api.close();
  });

  it('an older archive restored: the newer lines are said, and that an archive holds them', async () => {
    const { dir, afterArchive } = await withUnarchivedLines();
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.archive.create();
    await db.close();
    const before = (await readArchiveState(dir))!.instanceId;
    const api = openRestore({ dataDir: dir });
    const r = await api.from(afterArchive, { force: true, cleanExisting: true });
    expect(r.lastLine).toBe(6);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('holds 4 lines newer than this restore');
    expect(r.warnings[0]).not.toContain('in an archive');
    expect(r.warnings[0]).toContain('deleted them with it (--clean-existing)');
    // They are in the newer archive: the latest state of the instance rolled back comes back whole, named (the
    // directory is a new instance now, whose own newest state is in no archive: own-state-not-archived.test.ts).
    expect((await api.fromLatest({ force: true, cleanExisting: true, instanceId: before })).lastLine).toBe(10);
    await api.close();
  });

  it('a point in time past the archives, in the directory\'s WAL, is refused with where it is; archived, it restores', async () => {
    const { dir, between } = await withUnarchivedLines();
    let api = openRestore({ dataDir: dir });
    const err = await api.toTimestamp(between, { force: true }).catch((e: unknown) => e);
    expect(isBriError(err, 'TIMESTAMP_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toMatch(/the data directory's WAL holds it \(lines to 10, /);
    expect((err as { hint?: string }).hint).toContain('bri archive create');
    await api.close();
    // What the hint says to do.
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.archive.create();
    await db.close();
    api = openRestore({ dataDir: dir });
    const r = await api.toTimestamp(between, { force: true });
    expect(r.lastLine).toBe(7);
    const state = await recover(dir);
    expect(state.state.documents.get('K0')).toContain('migrated');
    expect(state.state.documents.get('K1')).not.toContain('migrated');
    await api.close();
  });

  it('a time the directory\'s WAL cannot make restorable (before its first line, in a gap between archives) keeps the plain refusal', async () => {
    const before = Date.now();
    await pause();
    const dir = path.join(await makeTempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    const ids: string[] = [];
    const gapAt: number[] = [];
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < 5; i++) await db.set(`A${a}_${i}`, { a, i });
      if (a === 1) {
        await pause();
        gapAt.push(Date.now());
        await pause();
      }
      for (let i = 0; i < 5; i++) await db.set(`B${a}_${i}`, { a, i });
      ids.push((await db.archive.create()).archiveId);
    }
    await db.set('LATER', { v: 1 });
    await db.close();
    // The middle archive deleted (its lines are still in wal/): its times are in no archive, and archiving would not bring them back.
    await (await openOfflineArchive({ dataDir: dir, purpose: 'test' })).delete(ids[1]!, { force: true });
    const api = openRestore({ dataDir: dir });
    for (const ts of [before, gapAt[0]!]) {
      const err = await api.toTimestamp(ts, { targetDir: path.join(path.dirname(dir), `out-${ts}`) }).catch((e: unknown) => e);
      expect(isBriError(err, 'TIMESTAMP_NOT_FOUND'), String(err)).toBe(true);
      expect((err as Error).message).not.toContain('in no archive yet');
      expect((err as { hint?: string }).hint ?? '').not.toContain('bri archive create');
    }
  });

  it('an archive file newer than every readable one that cannot be read stops restore latest (ARCHIVE_CORRUPTED naming it), dry run too; the older one restores when named', async () => {
    const dir = path.join(await makeTempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    for (let i = 0; i < 5; i++) await db.set(`A${i}`, { v: i });
    const older = await db.archive.create();
    for (let i = 0; i < 3; i++) await db.set(`B${i}`, { v: i });
    const newest = await db.archive.create();
    await db.close();
    await fsp.truncate(newest.file, 2000);
    const out = path.join(path.dirname(dir), 'out');
    for (const dryRun of [true, false]) {
      const err = await openRestore({ dataDir: dir }).fromLatest({ targetDir: out, dryRun }).catch((e: unknown) => e);
      expect(isBriError(err, 'ARCHIVE_CORRUPTED'), `dry run ${dryRun}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toContain(newest.file);
    }
    const cli = await runCli(['restore', 'latest', '-d', dir, '--target', path.join(path.dirname(dir), 'out2')]);
    expect(cli.code, cli.stderr).toBe(21);
    const named = await openRestore({ dataDir: dir }).from(older.archiveId, { targetDir: out });
    expect(named.lastLine).toBe(5);
  });

  it('through the CLI: the dry run prints the warning, the error its hint', async () => {
    const { dir, between } = await withUnarchivedLines();
    const dry = await runCli(['restore', 'latest', '--data-dir', dir, '--dry-run', '--force', '--clean-existing']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(/WARNING +the directory replaced holds 4 lines newer than this restore/);
    const pitr = await runCli(['restore', 'to-timestamp', new Date(between).toISOString(), '--data-dir', dir, '--force']);
    expect(pitr.code).not.toBe(0);
    expect(pitr.stderr).toContain("the data directory's WAL holds it");
    expect(await fsp.readdir(path.dirname(dir))).toEqual(['data']); // refused: nothing moved
  });

  it('a WAL past the budget is not counted: the newer lines are said by the time of its last line', async () => {
    const { dir } = await withUnarchivedLines();
    const counted = await tailEnd(dir);
    const timed = await tailEnd(dir, 0);
    expect(counted).toMatchObject({ lastLine: 10 });
    expect(timed).toEqual({ instanceId: counted!.instanceId, lastLine: null, lastTimestamp: counted!.lastTimestamp, firstTimestamp: null });
    const api = openRestore({ dataDir: dir });
    const dry = await api.fromLatest({ dryRun: true, force: true });
    const archives = await api.list();
    const result = { ...dry, warnings: [] } as RestoreResult;
    noteReplacedLines(result, timed, archives.archives, false);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain('holds lines newer than this restore (its WAL is too large to count them here, to ');
    expect(result.warnings[0]).toContain('the newest of them are in no archive');
    // Not newer than what is restored: nothing said.
    const upToDate = { ...dry, warnings: [], lastTimestamp: timed!.lastTimestamp } as RestoreResult;
    noteReplacedLines(upToDate, timed, archives.archives, false);
    expect(upToDate.warnings).toEqual([]);
    await api.close();
  });
});
