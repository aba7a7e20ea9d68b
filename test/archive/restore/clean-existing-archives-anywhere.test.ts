/**
 * --clean-existing deleted archives four folders down the directory it replaced (the search stopped at three),
 * or in its wal/, cold/ or txn/ (never searched), saying the entries held "no archive". The whole tree is
 * searched now, bounded by entries and refused when the bound is reached: never a deletion of unsearched entries.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { walkTree } from '../../../src/archive/restore/replaced-dir.js';
import { isBriError } from '../../../src/errors.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-clean-archives-');

async function makeDatabase(dataDir: string, prefix: string): Promise<string[]> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`${prefix}${i}`, { i });
  await db.archive.create();
  await db.close();
  return fs.readdirSync(path.join(dataDir, 'archives')).filter((n) => n.endsWith('.bri'));
}

async function copyArchives(from: string, names: readonly string[], to: string): Promise<void> {
  await fsp.mkdir(to, { recursive: true });
  for (const n of names) await fsp.copyFile(path.join(from, 'archives', n), path.join(to, n));
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(() => null, (e: unknown) => e as Error);
  expect(err, 'the restore went through').not.toBeNull();
  expect(isBriError(err, 'USAGE'), String(err)).toBe(true);
  return err!;
}

describe('--clean-existing never deletes archives it did not search for', () => {
  it('archives four folders down the target: refused naming their folder, dry run and real run; they stay', async () => {
    const root = await tmp();
    const a = path.join(root, 'A');
    const z = path.join(root, 'Z');
    await makeDatabase(a, 'A_');
    const zs = await makeDatabase(z, 'Z_');
    const t = path.join(root, 'T4');
    const deep = path.join(t, 'backups', 'prod', 'db1', 'archives');
    await copyArchives(z, zs, deep);
    for (const dryRun of [true, false]) {
      const err = await refusal(openRestore({ dataDir: a }).fromLatest({ targetDir: t, force: true, cleanExisting: true, dryRun }));
      expect(err.message).toContain(`--clean-existing would delete archives that this restore does not keep: ${deep}`);
    }
    expect(fs.readdirSync(deep).sort()).toEqual([...zs].sort());
  });

  it("archives in the replaced directory's wal/ (an archive directory once given there): an in-place restore with --clean-existing is refused; they stay", async () => {
    const root = await tmp();
    const a = path.join(root, 'A');
    const b = path.join(root, 'B');
    const as = await makeDatabase(a, 'A_');
    await makeDatabase(b, 'B_');
    await copyArchives(a, as, path.join(b, 'wal'));
    const err = await refusal(openRestore({ dataDir: b }).fromLatest({ force: true, cleanExisting: true }));
    expect(err.message).toContain(`would delete archives that this restore does not keep: ${path.join(b, 'wal')}`);
    for (const n of as) expect(fs.existsSync(path.join(b, 'wal', n))).toBe(true);
  });

  it('the search is bounded by entries, not depth, and says when it stopped before the whole tree was read', async () => {
    const root = await tmp();
    await fsp.mkdir(path.join(root, 'a', 'b', 'c', 'd', 'e'), { recursive: true });
    const seen: string[] = [];
    expect(await walkTree(root, () => false, (rel) => (seen.push(rel), true), 100)).toBe(true);
    expect(seen).toContain(path.join('a', 'b', 'c', 'd', 'e'));
    expect(await walkTree(root, () => false, () => true, 3)).toBe(false);
  });
});
