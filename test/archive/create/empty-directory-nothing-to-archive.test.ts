/**
 * A data directory that holds nothing (just made, no wal/; or wal/ with an empty segment; or one BRI opened and
 * never wrote to) is an empty database: `archive create` answers "nothing to archive" (exit 0; NOTHING_TO_ARCHIVE
 * in the API), never ARCHIVE_ERROR with a hint to set a key or restore, and writes nothing into the directory
 * (no bri-archive.json, no archives/). The other commands answer for it as for an empty database.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-empty-dir-');

/** Every path under dir, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir, { recursive: true })).map(String).sort();
}

const NOTHING = 'nothing to archive: no WAL line after line 0\n';

describe('archive create on a data directory that holds nothing', () => {
  it('a directory just made (no wal/): exit 0 "nothing to archive", and the directory stays empty', async () => {
    const dataDir = path.join(await tmp(), 'data');
    await fsp.mkdir(dataDir);
    const r = await runCli(['archive', 'create', '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(NOTHING);
    expect(r.stderr).not.toMatch(/ARCHIVE_ERROR|BRI_ENCRYPTION_KEY|restore/);
    expect(await tree(dataDir)).toEqual([]);
    const json = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ archiveId: null, reason: NOTHING.trim() });
    expect(await tree(dataDir)).toEqual([]);
  }, 60_000);

  it('wal/ with an empty 000000.wal: the same answer, and nothing written beside it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
    await fsp.writeFile(path.join(dataDir, 'wal', '000000.wal'), '');
    const r = await runCli(['archive', 'create', '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(NOTHING);
    expect(await tree(dataDir)).toEqual(['wal', path.join('wal', '000000.wal')]);
  }, 60_000);

  it('an empty wal/ beside a bri-archive.json that records no archive: "nothing to archive", not "cannot find where the archive starts"', async () => {
    const dataDir = path.join(await tmp(), 'data');
    await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
    await fsp.writeFile(path.join(dataDir, 'bri-archive.json'), JSON.stringify({ version: 1, instanceId: 'empty-one', removedLines: 0, last: null }));
    const r = await runCli(['archive', 'create', '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(NOTHING);
  }, 60_000);

  it('the API on a database never written to: NOTHING_TO_ARCHIVE, and no bri-archive.json or archives/ left behind', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      await expect(db.archive.create()).rejects.toMatchObject({ code: 'NOTHING_TO_ARCHIVE', details: { line: 0, heldBy: null } });
    } finally {
      await db.close();
    }
    const left = await tree(dataDir);
    expect(left).not.toContain('bri-archive.json');
    expect(left).not.toContain('archives');
  }, 60_000);

  it('the other commands answer for a directory just made as for an empty database, writing nothing', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    await fsp.mkdir(dataDir);
    const answers: Record<string, number | null> = {};
    for (const args of [['archive', 'list'], ['archive', 'stats'], ['archive', 'cleanup-wal'], ['archive', 'verify', '--all'], ['data', 'stats'], ['data', 'verify'], ['restore', 'list']]) {
      answers[args.join(' ')] = (await runCli([...args, '-d', dataDir])).code;
    }
    expect(answers).toEqual({ 'archive list': 0, 'archive stats': 0, 'archive cleanup-wal': 0, 'archive verify --all': 0, 'data stats': 0, 'data verify': 0, 'restore list': 0 });
    // Nothing to restore from: said as for a database never archived.
    const restore = await runCli(['restore', 'latest', '-d', dataDir, '--target', path.join(root, 'r')]);
    expect(restore.stderr).toMatch(/ARCHIVE_NOT_FOUND.*no archives to restore from/);
    expect(await tree(dataDir)).toEqual([]);
  }, 120_000);
});
