/**
 * <data>/archives a link to another disk, made before the first archive (bri-archive.json then records where
 * it leads): a CLI restore in place carries the link into the restored directory, so that the application's
 * next create (default localDir <data>/archives) finds its chain, not a refusal to start a second one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { makeTempDir } from '../../support/fixtures.js';
import { runCli } from '../../support/cli.js';

async function writeAndArchive(dataDir: string, prefix: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`${prefix}${i}`, { i });
  await db.archive.create();
  await db.close();
}

describe('an in-place restore of a directory whose archives/ links to another disk', () => {
  it('carries the link made before the first archive into the restored directory; the application archives on', async () => {
    const root = await makeTempDir();
    const dir = path.join(root, 'd');
    const disk = path.join(root, 'other-disk', 'archives');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.set('first', { i: 0 });
    await db.close();
    fs.mkdirSync(disk, { recursive: true });
    fs.symlinkSync(disk, path.join(dir, 'archives'));
    await writeAndArchive(dir, 'A');
    const r = await runCli(['restore', 'latest', '-d', dir, '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.lstatSync(path.join(dir, 'archives'), { throwIfNoEntry: false })?.isSymbolicLink()).toBe(true);
    await writeAndArchive(dir, 'B');
    expect(fs.readdirSync(disk).filter((f) => f.endsWith('.bri'))).toHaveLength(2);
  });
});
