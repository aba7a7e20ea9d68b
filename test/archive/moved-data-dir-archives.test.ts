/**
 * A data directory moved (mv) together with the archive directory inside it (`-a DATA/backups`): its
 * bri-archive.json names both at their old paths. The archives are found at the new place (list, and the next
 * create continues the chain there); when the recorded directory is gone, that is said (its path, the last
 * archive), never "no archives" with a new chain started from a seed.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-moved-');

async function write(dataDir: string, keys: string[]): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (const k of keys) await db.set(k, { k });
  await db.close();
}

/** At its new place `dataDir` lists the one archive `firstId`, and its next create continues that chain in `archiveDir`. */
async function continuesAt(dataDir: string, archiveDir: string, firstId: string): Promise<void> {
  const listed = await runCli(['archive', 'list', '-d', dataDir, '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  expect(JSON.parse(listed.stdout).archives.map((a: { manifest: { archiveId: string } }) => a.manifest.archiveId)).toEqual([firstId]);
  await write(dataDir, ['C']);
  const next = await runCli(['archive', 'create', '-d', dataDir]);
  expect(next.code, next.stderr).toBe(0);
  expect(next.stdout).toContain(firstId);
  expect(next.stderr).not.toContain('WARNING');
  expect(fs.readdirSync(archiveDir).filter((n) => n.endsWith('.bri'))).toHaveLength(2);
  expect(fs.existsSync(path.join(dataDir, 'archives'))).toBe(false);
}

describe('a data directory moved with its archive directory inside it', () => {
  it('lists its archives at the new place and the next create continues the chain there', async () => {
    const r = await tmp();
    const [m1, m2] = [path.join(r, 'm1'), path.join(r, 'm2')];
    await write(m1, ['A', 'B']);
    const first = await runCli(['archive', 'create', '-d', m1, '-a', path.join(m1, 'backups'), '--json']);
    expect(first.code, first.stderr).toBe(0);
    const firstId = JSON.parse(first.stdout).archiveId as string;
    await fsp.rename(m1, m2);

    await continuesAt(m2, path.join(m2, 'backups'), firstId);
    const state = JSON.parse(fs.readFileSync(path.join(m2, 'bri-archive.json'), 'utf8'));
    expect([state.archivedFrom, state.archiveDir]).toEqual([fs.realpathSync(m2), path.join(fs.realpathSync(m2), 'backups')]);
  });

  it('the recorded archive directory gone: said, with its path and the last archive, not "no archives"', async () => {
    const r = await tmp();
    const [m1, m2] = [path.join(r, 'm1'), path.join(r, 'm2')];
    await write(m1, ['A']);
    const first = await runCli(['archive', 'create', '-d', m1, '-a', path.join(m1, 'backups'), '--json']);
    expect(first.code, first.stderr).toBe(0);
    const firstId = JSON.parse(first.stdout).archiveId as string;
    await fsp.rename(m1, m2);
    await fsp.rename(path.join(m2, 'backups'), path.join(r, 'elsewhere'));
    const listed = await runCli(['archive', 'list', '-d', m2]);
    expect(listed.code).not.toBe(0);
    expect(listed.stderr).toContain('ARCHIVE_NOT_FOUND');
    expect(listed.stderr).toContain(path.join(m2, 'backups'));
    expect(listed.stderr).toContain(firstId);
    expect(listed.stdout).not.toContain('no archives');
    const given = await runCli(['archive', 'list', '-d', m2, '-a', path.join(r, 'elsewhere'), '--json']);
    expect(given.code, given.stderr).toBe(0);
    expect(JSON.parse(given.stdout).archives).toHaveLength(1);
  });
  it('moved alone, its archive directory outside it: the archives are still found there and the chain goes on; a copy beside the original is not held to them', async () => {
    const r = await tmp();
    const [m1, m2, backups] = [path.join(r, 'm1'), path.join(r, 'moved', 'm2'), path.join(r, 'backups')];
    await write(m1, ['A', 'B']);
    const first = await runCli(['archive', 'create', '-d', m1, '-a', backups, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const firstId = JSON.parse(first.stdout).archiveId as string;
    // A copy while the original is still there: not held to the original's archive directory.
    await fsp.cp(m1, path.join(r, 'copy'), { recursive: true });
    const copyList = await runCli(['archive', 'list', '-d', path.join(r, 'copy'), '--json']);
    expect(copyList.code, copyList.stderr).toBe(0);
    expect(JSON.parse(copyList.stdout).archives).toEqual([]);

    await fsp.mkdir(path.dirname(m2));
    await fsp.rename(m1, m2);
    await continuesAt(m2, backups, firstId);
    const restored = await runCli(['restore', 'latest', '-d', m2, '--target', path.join(r, 'restored'), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
  });
});
