/**
 * `archive create -a` inside another database's data directory (its wal/, the directory itself) was accepted,
 * and that database's in-place restore with --clean-existing later deleted the only archives without a word.
 * Refused as a local remote there is (CONFIG_INVALID naming the other database), nothing written there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-archive-dir-other-db-');

async function makeDatabase(dataDir: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('K', { v: 1 });
  await db.close();
}

function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('an archive directory inside another database', () => {
  it("bri archive create -a <another database's wal/, the directory itself, a folder of it>: CONFIG_INVALID naming that database; nothing written there", async () => {
    const root = await tmp();
    const a = path.join(root, 'A');
    const b = path.join(root, 'B');
    await makeDatabase(a);
    await makeDatabase(b);
    const before = tree(b);
    const real = (p: string) => path.join(fs.realpathSync(root), path.relative(root, p));
    for (const dir of [path.join(b, 'wal'), b, path.join(b, 'backups')]) {
      const r = await runCli(['archive', 'create', '-d', a, '-a', dir, '--quiet']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stderr).toContain(`the archive directory (archive.localDir, --archive-dir) (${real(dir)}) ${dir === b ? 'is' : 'is inside'} another database's data directory ${real(b)}`);
      expect(r.stderr).toMatch(/hint: Point the archive directory .* at a directory of its own/);
    }
    expect(tree(b)).toEqual(before);
  });

  it("its own default archives/, a folder beside the databases, and another database's archives/ to read from are accepted", async () => {
    const root = await tmp();
    await makeDatabase(path.join(root, 'A'));
    await makeDatabase(path.join(root, 'C'));
    for (const args of [['-d', path.join(root, 'A')], ['-d', path.join(root, 'C'), '-a', path.join(root, 'C-archives')]]) {
      const r = await runCli(['archive', 'create', '--quiet', ...args]);
      expect(r.code, r.stderr).toBe(0);
    }
    // Another database's own archives/ is read from (restore --instance, list): its owner file decides on writes.
    const list = await runCli(['archive', 'list', '-d', path.join(root, 'C'), '-a', path.join(root, 'A', 'archives')]);
    expect(list.stderr).not.toContain('CONFIG_INVALID');
  });
});
