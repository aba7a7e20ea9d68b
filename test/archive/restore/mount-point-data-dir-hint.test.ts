/**
 * A data directory that is a mount point (its own disk) cannot be restored in place: the hint's first way out
 * was "give a directory inside it as the target", which is then refused as inside the data directory. Only the
 * ways that work are given for a data directory; an empty mount point still gets a directory inside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { mountTmpfs, umount } from '../../support/tmpfs.js';

const tmp = useTempDirs('bri-mount-data-dir-');

describe('a data directory that is a mount point, restored in place', () => {
  it('is refused with a hint that never gives a directory inside it (refused itself), only restoring elsewhere', async (ctx) => {
    const root = await tmp();
    const d = path.join(root, 'D');
    fs.mkdirSync(d);
    const cannot = mountTmpfs(d);
    if (cannot !== null) return ctx.skip(cannot);
    try {
      const db = await createDB({ storeConfig: { dataDir: d, archive: { localDir: path.join(root, 'arch') } } });
      await db.set('K', { v: 1 });
      await db.archive.create();
      await db.close();
      const r = await runCli(['restore', 'latest', '-d', d, '-a', path.join(root, 'arch'), '--force']);
      expect(r.code, r.stderr).toBe(30);
      expect(r.stderr).toContain(`cannot restore into ${d}: it is a mount point`);
      expect(r.stderr).toMatch(/hint: Restore into another directory \(--target, targetDir\), stop the database, then move the restored directory's files into/);
      expect(r.stderr).not.toContain(path.join(d, 'data'));
    } finally {
      umount(d);
    }
  });
});
