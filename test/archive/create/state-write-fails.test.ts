/**
 * A create whose last step fails: the archive is placed, then bri-archive.json (on the data directory's disk)
 * cannot be written. The outcome must be what the error says: no archive said not to exist while it is there,
 * nor one the chain does not know of.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { REPO_ROOT } from '../../support/child.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { treeDigest } from '../../support/tree.js';

const tmp = useTempDirs('bri-state-write-');
const PRELOAD = path.join(REPO_ROOT, 'test/support/io-faults.ts');

async function write(dataDir: string, n: number, tag: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, fsyncMode: 'always' } });
  for (let i = 0; i < n; i++) await db.set(`K_${tag}${i}`, { v: i, tag, pad: 'x'.repeat(200) });
  await db.close();
}

const create = (data: string, arch: string, fault?: object) =>
  runCli(['archive', 'create', '-d', data, '-a', arch, '--level', '3'], { BRI_IO_FAULT: fault ? JSON.stringify(fault) : '' }, { nodeArgs: ['--unhandled-rejections=strict'], preload: PRELOAD });

it('a create whose bri-archive.json cannot be written (the data disk full) takes its placed archive back: the error that nothing was kept is true, and the next run makes it', async () => {
  const root = await tmp();
  const [data, arch] = ['data', 'arch'].map((d) => path.join(root, d)) as [string, string];
  await write(data, 20, 'a');
  expect((await create(data, arch)).code).toBe(0);
  await write(data, 10, 'b');
  const stateBefore = await fsp.readFile(path.join(data, 'bri-archive.json'), 'utf8');
  const archBefore = await treeDigest(arch);

  const full = await create(data, arch, { code: 'ENOSPC', op: 'write', under: path.join(data, 'bri-archive.json.tmp'), after: 0 });
  expect(full.code).not.toBe(0);
  expect(full.stderr).toContain('[IO_ERROR]');
  expect(full.stderr).toContain(`holding ${path.join(data, 'bri-archive.json')}`);
  expect(full.stderr).toContain('nothing half-written was kept');
  // Nothing was kept indeed: the archive directory (archives, seeds) and the state are as they were.
  expect(await treeDigest(arch)).toEqual(archBefore);
  expect(await fsp.readFile(path.join(data, 'bri-archive.json'), 'utf8')).toBe(stateBefore);

  const again = await create(data, arch);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  const archives = fs.readdirSync(arch).filter((n) => n.endsWith('.bri'));
  expect(archives).toHaveLength(2);
  const state = JSON.parse(await fsp.readFile(path.join(data, 'bri-archive.json'), 'utf8')) as { last: { archiveId: string } };
  expect(archives.map((n) => n.replace(/\.bri$/, ''))).toContain(state.last.archiveId);
}, 120_000);
