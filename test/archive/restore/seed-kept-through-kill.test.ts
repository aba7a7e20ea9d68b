/**
 * A restore in place to an earlier moment starts a new instance whose first archive starts where the
 * restore did (its seed). A kill right after the swap must not lose that seed: the next open finishes
 * the restore, and the lines written after it are archived and in the history.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { makeTempDir } from '../../support/fixtures.js';

const root = await makeTempDir('bri-seed-kill-');
afterAll(() => fsp.rm(root, { recursive: true, force: true }));
const PRELOAD = path.resolve('test/archive/restore/children/kill-after-rename.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function write(dataDir: string, from: number, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = from; i < from + n; i++) await db.set(`DOC_${i}`, { i });
  await db.close();
}

async function archive(dataDir: string): Promise<{ manifest: { timeRange: { walLines: { start: number; end: number } } } }> {
  const r = await runCli(['archive', 'create', '-d', dataDir, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

it('restore in place to an earlier moment killed right after the swap: the next open keeps the new instance\'s seed, so the lines written after it are archived from the restore\'s line and DOC_900 is in the history', async () => {
  const dataDir = path.join(root, 'data');
  await write(dataDir, 0, 20);
  await archive(dataDir);
  await sleep(20);
  const t = new Date().toISOString();
  await sleep(20);
  await write(dataDir, 20, 20);
  await archive(dataDir);

  const killed = await runCli(['restore', 'to-timestamp', t, '-d', dataDir, '--force'], { BRI_KILL_AFTER_RENAME_TO: fs.realpathSync(dataDir) }, { preload: PRELOAD });
  expect(killed.signal, killed.stderr).toBe('SIGKILL');

  await write(dataDir, 900, 5); // the open finishes the interrupted restore
  const first = await archive(dataDir);
  expect(first.manifest.timeRange.walLines).toEqual({ start: 20, end: 25 });
  const history = await runCli(['archive', 'history', 'DOC_900', '-d', dataDir, '--json']);
  expect(history.code, history.stderr).toBe(0);
  expect((JSON.parse(history.stdout) as { entries: unknown[] }).entries).toHaveLength(1);
  expect(fs.readdirSync(dataDir)).not.toContain('.restore-seeds');
});
