/**
 * bri-archive.json's removedLines is the only link between a WAL line on disk and an archive's line. Put back
 * from an older copy (a backup made after an earlier archive), it is too small: the WAL cleanup took lines that no
 * archive holds for archived ones and deleted them, exit 0. The cleanup (`bri archive cleanup-wal`, the API's
 * cleanupWal) now first reads the archive's last line where the state maps it, and refuses ARCHIVE_ERROR naming
 * bri-archive.json, with the right value, when that line does not carry the archive's last pointer. The same for a
 * state file taken from another database.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { listSegments } from '../../../src/store/layout.js';
import { toPlainState } from '../../../src/format/state.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-stale-state-cleanup-');
const SEG = 2048;
const open = (dataDir: string) => createDB({ storeConfig: { dataDir, walSegmentSize: SEG, snapshotOnClose: false, archive: { cleanupWal: true, compression: { level: 1 } } } });

async function write(db: BriDB, tag: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await db.set(`${tag}_${i}`, { i, pad: `${tag}`.repeat(20 + (i % 30)) });
}

const walLines = async (dir: string) => {
  let n = 0;
  for (const s of await listSegments(dir)) n += (await fsp.readFile(s.path, 'utf8')).split('\n').filter((l) => l !== '').length;
  return n;
};

/** Two archives made with cleanupWal (segments removed after each), then lines no archive holds. Returns the state file after the first. */
async function twoArchivesThenMore(dir: string, tag = 'A'): Promise<string> {
  const db = await open(dir);
  await write(db, `${tag}1`, 80);
  await db.archive.create();
  const first = await fsp.readFile(path.join(dir, 'bri-archive.json'), 'utf8');
  await write(db, `${tag}2`, 80);
  await db.archive.create();
  await write(db, `${tag}3`, 80);
  await db.close();
  return first;
}

describe('WAL cleanup with a bri-archive.json that does not map the WAL', () => {
  it('an older copy put back: cleanup-wal and the API refuse ARCHIVE_ERROR naming bri-archive.json, remove nothing, and the value they give works', async () => {
    const dir = path.join(await tmp(), 'data');
    const older = await twoArchivesThenMore(dir);
    const truth = (await readArchiveState(dir))!;
    expect(JSON.parse(older).removedLines).toBeLessThan(truth.removedLines);
    await fsp.writeFile(path.join(dir, 'bri-archive.json'), older);
    const segments = (await listSegments(dir)).map((s) => s.name);
    const lines = await walLines(dir);

    const cli = await runCli(['archive', 'cleanup-wal', '-d', dir]);
    expect(cli.code, cli.stdout + cli.stderr).toBe(23);
    expect(cli.stderr).toMatch(/ARCHIVE_ERROR/);
    expect(cli.stderr).toMatch(/bri-archive\.json/);
    expect(cli.stderr).toContain(`set "removedLines" to ${truth.removedLines}`);
    expect((await listSegments(dir)).map((s) => s.name)).toEqual(segments);
    expect(await walLines(dir)).toBe(lines);

    const db = await open(dir);
    try {
      await expect(db.archive.cleanupWal()).rejects.toMatchObject({ code: 'ARCHIVE_ERROR', details: { removedLinesFound: truth.removedLines } });
      expect((await listSegments(dir)).map((s) => s.name)).toEqual(segments);
    } finally {
      await db.close();
    }

    // The value the hint gives: the cleanup and the next archive go on, and nothing is lost.
    await fsp.writeFile(path.join(dir, 'bri-archive.json'), JSON.stringify({ ...JSON.parse(older), removedLines: truth.removedLines }));
    const again = await runCli(['archive', 'cleanup-wal', '-d', dir]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const next = await runCli(['archive', 'create', '-d', dir]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    const db2 = await open(dir);
    const expected = toPlainState(db2.state);
    await db2.close();
    const restored = path.join(path.dirname(dir), 'restored');
    const r = await runCli(['restore', 'latest', '-d', dir, '--target', restored]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db3 = await createDB({ storeConfig: { dataDir: restored } });
    expect(toPlainState(db3.state)).toEqual(expected);
    await db3.close();
  });

  it("another database's bri-archive.json, its archives at hand: refused, nothing removed", async () => {
    const root = await tmp();
    const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
    await twoArchivesThenMore(a, 'A');
    await twoArchivesThenMore(b, 'B');
    const db = await open(b);
    await db.archive.create();
    await db.close();
    await fsp.copyFile(path.join(b, 'bri-archive.json'), path.join(a, 'bri-archive.json'));
    const segments = (await listSegments(a)).map((s) => s.name);
    const cli = await runCli(['archive', 'cleanup-wal', '-d', a, '-a', path.join(b, 'archives')]);
    expect(cli.code, cli.stdout + cli.stderr).toBe(23);
    expect(cli.stderr).toMatch(/bri-archive\.json/);
    expect((await listSegments(a)).map((s) => s.name)).toEqual(segments);
    expect(fs.existsSync(path.join(a, 'wal', segments[0]!))).toBe(true);
  });
});
