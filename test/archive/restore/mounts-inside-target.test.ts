/**
 * A data directory holding a mount point (its cold tier on a disk of its own), restored in place: the swap
 * moved the mount aside with the old directory, --clean-existing then failed EBUSY removing it, and every
 * later open rejected with an untyped EBUSY until the unmount. Refused up front now (the dry run too); a
 * recovery that cannot finish says a typed error.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { mountTmpfs, umount } from '../../support/tmpfs.js';

const tmp = useTempDirs('bri-mounts-inside-');

async function makeData(dataDir: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 3; i++) await db.set(`K${i}`, { i });
  await db.archive.create();
  await db.close();
}

describe('a mount point inside the data directory restored in place', () => {
  it('is refused by the dry run and the real run before anything moves, naming the mount point', async (ctx) => {
    const parent = await tmp();
    const dataDir = path.join(parent, 'data');
    await makeData(dataDir);
    const cold = path.join(dataDir, 'cold');
    await fsp.mkdir(cold, { recursive: true });
    const cannot = mountTmpfs(cold);
    if (cannot !== null) return ctx.skip(cannot);
    try {
      for (const dry of [['--dry-run'], []]) {
        const r = await runCli(['restore', 'latest', '-d', dataDir, '--force', '--clean-existing', ...dry]);
        expect(r.code, r.stderr).toBe(30);
        expect(r.stderr).toContain('RESTORE_ERROR');
        expect(r.stderr).toContain(`${cold} is a mount point`);
        expect(r.stderr).toContain('nothing was changed');
        expect(r.stderr).toMatch(/hint: .*unmount/);
      }
      expect(fs.readdirSync(parent)).toEqual(['data']);
      const db = await createDB({ storeConfig: { dataDir } });
      expect(await db.get('K2')).toEqual({ i: 2 });
      await db.close();
    } finally {
      umount(cold);
    }
  });
});

describe('an interrupted restore whose old directory cannot be deleted', () => {
  it('opens: the journal is finished (the swap was done), the old directory (a mount in it) is left aside, never an open that fails on it', async (ctx) => {
    const parent = await tmp();
    const target = path.join(parent, 'data');
    await makeData(target);
    // A clean restore swapped in, then stopped before removing the old directory, which holds a mount point.
    const oldDir = `${target}.pre-restore-20260101T000000000Z`;
    const busy = path.join(oldDir, 'cold');
    await fsp.mkdir(busy, { recursive: true });
    const cannot = mountTmpfs(busy);
    if (cannot !== null) return ctx.skip(cannot);
    const journal = path.join(parent, '.data.restore.json');
    try {
      await fsp.writeFile(journal, JSON.stringify({ target, newDir: `${target}.restore-20260101T000000000Z`, oldDir, phase: 'swapping', cleanExisting: true, carryOver: [] }));
      const db = await createDB({ storeConfig: { dataDir: target } });
      expect(await db.get('K0')).toEqual({ i: 0 });
      await db.close();
      expect(fs.existsSync(journal)).toBe(false);
      expect(fs.existsSync(busy)).toBe(true);
    } finally {
      umount(busy);
    }
    expect(fs.readdirSync(parent).sort()).toEqual(['data', path.basename(oldDir)]);
  });
});
