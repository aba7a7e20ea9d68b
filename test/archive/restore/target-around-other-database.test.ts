/**
 * A restore target inside another database's data directory (its wal/) or archive directory, or holding
 * another database, took that database apart with it: a running one's directory was deleted under it, its
 * segments moved aside (it no longer opened), its archives gone; and the "not empty" refusal's hint (--force)
 * led there. Refused before anything is built, LOCKED while that database is open, the hint never --force.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-target-other-db-');

async function makeDatabase(dataDir: string, prefix: string, archive: boolean): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`${prefix}${i}`, { i });
  if (archive) await db.archive.create();
  await db.close();
}

/** Every file under `dir` with its size: what a refusal must leave as it was. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))}:${e.isFile() ? fs.statSync(path.join(e.parentPath, e.name)).size : 'd'}`).sort();
}

describe('a restore target around another database', () => {
  it('a target holding a running database (--force --clean-existing): LOCKED naming it, dry run and real run; it stays whole and open', async () => {
    const root = await tmp();
    const a = path.join(root, 'A');
    const p = path.join(root, 'P');
    const h = path.join(p, 'H');
    await makeDatabase(a, 'A_', true);
    await makeDatabase(h, 'H_', false);
    const live = await createDB({ storeConfig: { dataDir: h } });
    try {
      const before = tree(p);
      for (const dry of [['--dry-run'], []]) {
        const r = await runCli(['restore', 'latest', '-d', a, '--target', p, '--force', '--clean-existing', ...dry]);
        expect(r.code, r.stderr).not.toBe(0);
        expect(r.stderr).toContain('LOCKED');
        expect(r.stderr).toContain(`cannot restore into ${p}: it holds the data directory ${h} of another database`);
        expect(r.stderr).toContain('nothing was changed');
        expect(r.stderr).not.toMatch(/hint: .*--force/);
      }
      expect(tree(p)).toEqual(before);
      await live.set('AFTER', { ok: true });
    } finally {
      await live.close();
    }
    const again = await createDB({ storeConfig: { dataDir: h } });
    expect(await again.get('AFTER')).toEqual({ ok: true });
    await again.close();
  });

  it("a target inside a running database's wal/: refused with or without --force, the hint never --force; the database still opens", async () => {
    const root = await tmp();
    const a = path.join(root, 'A');
    const d = path.join(root, 'D');
    await makeDatabase(a, 'A_', true);
    await makeDatabase(d, 'D_', true);
    const live = await createDB({ storeConfig: { dataDir: d } });
    const wal = path.join(d, 'wal');
    try {
      const before = fs.readdirSync(wal).sort();
      for (const force of [[], ['--force']]) {
        const r = await runCli(['restore', 'latest', '-d', a, '--target', wal, ...force]);
        expect(r.stderr).toContain('LOCKED');
        expect(r.stderr).toContain(`cannot restore into ${wal}: it is inside the data directory ${d} of another database`);
        expect(r.stderr).not.toContain('Pass --force');
      }
      expect(fs.readdirSync(wal).sort()).toEqual(before);
      expect(fs.readdirSync(root).sort()).toEqual(['A', 'D']);
    } finally {
      await live.close();
    }
    // Closed, it is USAGE: still refused, naming it.
    const r = await runCli(['restore', 'latest', '-d', a, '--target', wal, '--force']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`it is inside the data directory ${d} of another database`);
    const db = await createDB({ storeConfig: { dataDir: d } });
    expect(await db.get('D_2')).toEqual({ i: 2 });
    await db.close();
  });

  it("another database's archive directory as the target: USAGE naming it and its data directory, its archives left where they are", async () => {
    const root = await tmp();
    const a = path.join(root, 'A');
    const b = path.join(root, 'B');
    await makeDatabase(a, 'A_', true);
    await makeDatabase(b, 'B_', true);
    const archives = path.join(b, 'archives');
    const before = tree(archives);
    // A target whose parents do not exist yet: refused before they (or the restore's lock file) are made in there.
    for (const target of [archives, path.join(archives, 'sub'), path.join(archives, 'new', 'deeper', 'x')]) {
      const r = await runCli(['restore', 'latest', '-d', a, '--target', target, '--force']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`it (is|is inside) the archive directory ${archives} of the data directory ${fs.realpathSync(b)}`));
    }
    expect(tree(archives)).toEqual(before);
  });

  it('a target beside databases, or another database given whole as the target, is still restored into', async () => {
    const root = await tmp();
    const a = path.join(root, 'A');
    const b = path.join(root, 'B');
    await makeDatabase(a, 'A_', true);
    await makeDatabase(b, 'B_', true);
    const beside = await runCli(['restore', 'latest', '-d', a, '--target', path.join(root, 'restored')]);
    expect(beside.code, beside.stderr).toBe(0);
    const whole = await runCli(['restore', 'latest', '-d', a, '--target', b, '--force']);
    expect(whole.code, whole.stderr).toBe(0);
    const db = await createDB({ storeConfig: { dataDir: b } });
    expect(await db.get('A_2')).toEqual({ i: 2 });
    await db.close();
  });
});
