/**
 * Two data directories of one instance (a copy of one) archiving into one archive directory at once: only one
 * may decide on the chain's tip and place an archive; the other is refused naming it, and removes nothing of it.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { createDB } from '../../../src/db.js';
import { collectLines, REPO_ROOT, spawnTs, waitExit } from '../../support/child.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-concurrent-create-');

async function write(dataDir: string, n: number, tag: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, fsyncMode: 'always' } });
  for (let i = 0; i < n; i++) await db.set(`K_${tag}${i}`, { v: i, tag, pad: 'x'.repeat(200) });
  await db.close();
}

const archivesIn = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.bri'));

it('a second data directory of the instance (a copy) archiving into the same directory at the same time is refused as a copy of the owner, which completes with its stage untouched; afterwards the copy is refused as a fork', async () => {
  const root = await tmp();
  const [data, data2, arch] = ['data', 'data2', 'arch'].map((d) => path.join(root, d)) as [string, string, string];
  await write(data, 20, 'a');
  expect((await runCli(['archive', 'create', '-d', data, '-a', arch, '--level', '3', '-q'])).code).toBe(0);
  await fsp.cp(data, data2, { recursive: true });
  await write(data, 10, 'b');
  await write(data2, 10, 'c');

  const go = path.join(root, 'go');
  const first = spawnTs(path.join(REPO_ROOT, 'test/archive/create/support/held-create.ts'), [data, arch, go]);
  const said: string[] = [];
  const staged = new Promise<void>((resolve) => collectLines(first, (l) => (said.push(l), l === 'staged' && resolve())));
  let stderr = '';
  first.stderr!.on('data', (d) => (stderr += d));
  const exited = waitExit(first);
  onTestFinished(() => void (first.exitCode === null && first.kill()));
  await Promise.race([staged, exited.then(() => Promise.reject(new Error(`the first create ended early: ${stderr}`)))]);
  const stagesBefore = fs.readdirSync(path.join(arch, '.tmp')).filter((n) => !n.startsWith('create-'));
  expect(stagesBefore).toHaveLength(1);

  const second = await runCli(['archive', 'create', '-d', data2, '-a', arch, '--level', '3']);
  // A copy of the directory that owns the archive directory (still there, archiving) is refused before the lock is even asked.
  expect(second.code).toBe(23);
  expect(second.stderr).toContain('another directory archives this instance');
  // Nothing of the first run's was removed: its stage directory is as it was.
  expect(fs.readdirSync(path.join(arch, '.tmp')).filter((n) => !n.startsWith('create-'))).toEqual(stagesBefore);
  expect(archivesIn(arch)).toHaveLength(1);

  await fsp.writeFile(go, '');
  expect((await exited).code).toBe(0);
  expect(said.at(-1)).toMatch(/^created /);
  expect(archivesIn(arch)).toHaveLength(2);
  expect(fs.readdirSync(path.join(arch, '.tmp'))).toEqual([]);

  // Run after it, the copy's create sees the first one's archive and is refused: no fork of the chain.
  const after = await runCli(['archive', 'create', '-d', data2, '-a', arch, '--level', '3']);
  expect(after.code).not.toBe(0);
  expect(after.stderr).toContain('[ARCHIVE_ERROR]');
  expect(archivesIn(arch)).toHaveLength(2);
}, 120_000);

it('a create killed while it held the instance lock leaves nothing in the way: the next create takes the lock over, removes the dead stage directory and archives', async () => {
  const root = await tmp();
  const [data, arch] = ['data', 'arch'].map((d) => path.join(root, d)) as [string, string];
  await write(data, 20, 'a');
  const held = spawnTs(path.join(REPO_ROOT, 'test/archive/create/support/held-create.ts'), [data, arch, path.join(root, 'go')]);
  onTestFinished(() => void (held.exitCode === null && held.kill()));
  await new Promise<void>((resolve) => collectLines(held, (l) => l === 'staged' && resolve()));
  held.kill('SIGKILL');
  await waitExit(held);
  expect(fs.readdirSync(path.join(arch, '.tmp')).some((n) => n.startsWith('create-') && n.endsWith('.lock'))).toBe(true);

  const next = await runCli(['archive', 'create', '-d', data, '-a', arch, '--level', '3', '-q']);
  expect(next.stderr).toBe('');
  expect(next.code).toBe(0);
  expect(archivesIn(arch)).toHaveLength(1);
  expect(fs.readdirSync(path.join(arch, '.tmp'))).toEqual([]);
}, 120_000);
