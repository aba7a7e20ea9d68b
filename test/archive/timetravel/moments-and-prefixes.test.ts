/**
 * Answers the scan's shortcuts got wrong: a prefix ending in half of a surrogate pair (its raw-text
 * needle escaped that half, which the WAL writes raw inside the whole character, so every line was
 * skipped), and a moment before the database's first line once its first archive exists (refused as
 * held by no archive, though it is the empty state the first archive starts from).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-moments-');
const tick = () => new Promise((r) => setTimeout(r, 10));

describe('time travel answers', () => {
  it('rolls back a prefix ending in half an emoji to the values its keys had (it deleted them)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('😀a', 'A-at-T');
      await db.set('😀b', 'B-at-T');
      await db.set('😁c', 'C-at-T');
      await db.archive.create();
      await tick();
      const at = Date.now();
      await tick();
      await db.set('😀a', 'A-later');
      for (const prefix of ['😀'.slice(0, 1), '😀']) {
        const r = await db.restore.rollback({ prefix }, { at, dryRun: true });
        const want = [['😀a', 'A-at-T', 'set'], ['😀b', 'B-at-T', 'none']];
        if (prefix.length === 1) want.push(['😁c', 'C-at-T', 'none']);
        expect(r.items.map((i) => [i.key, i.atT, i.action])).toEqual(want);
      }
    } finally {
      await db.close();
    }
  }, 60_000);

  it('a moment before the first line, once the first archive (from line 0) exists, is the empty state: show, diff and keys answer it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    let first: number;
    try {
      await db.set('A', { v: 1 });
      await db.set('B', { v: 1 });
      first = (await db.archive.create()).manifest.timeRange.start.getTime();
      await db.set('A', { v: 2 });
    } finally {
      await db.close();
    }
    const before = new Date(first - 86_400_000).toISOString();
    const show = await runCli(['archive', 'show', 'A', '--at', before, '-d', dataDir]);
    expect([show.code, show.stdout], show.stderr).toEqual([0, expect.stringContaining('A did not exist')]);
    const diff = await runCli(['restore', 'diff', '--at', before, '-d', dataDir, '--json']);
    expect(diff.code, diff.stderr).toBe(0);
    expect((JSON.parse(diff.stdout) as { added: string[] }).added).toEqual(['A', 'B']);
    const keys = await runCli(['restore', 'keys', 'A', '--at', before, '-d', dataDir, '--dry-run', '--json']);
    expect(keys.code, keys.stderr).toBe(0);
    expect((JSON.parse(keys.stdout) as { items: Array<{ action: string }> }).items.map((i) => i.action)).toEqual(['delete']);
  }, 60_000);

  it('a moment before the oldest archive left, when it starts past line 0, is still refused', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      const gone = await db.archive.create();
      await db.set('A', { v: 2 });
      const left = (await db.archive.create()).manifest;
      const copy = (await db.archive.get(gone.archiveId)).copies[0]!;
      await fsp.rm(copy.file ?? copy.location);
      await expect(db.restore.read('A', { at: left.timeRange.start.getTime() - 86_400_000 })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    } finally {
      await db.close();
    }
  }, 60_000);
});
