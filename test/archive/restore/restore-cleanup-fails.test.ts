/**
 * A restore that fails, and whose cleanup then fails too (its half-built <target>.restore-<time> cannot be
 * removed: here a mount point inside it, EBUSY; in the field the same EMFILE that stopped the restore):
 * the cleanup's error replaced the restore's own. The restore's error is now the answer, its hint naming
 * what was left, and the next restore into the target removes it. Needs root to mount a tmpfs; skipped otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { mountTmpfs, umount } from '../../support/tmpfs.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-cleanup-');

describe('restore whose cleanup fails', () => {
  it('answers the restore\'s own error, names the directory left in its hint, and the next restore into the target removes it', async (ctx) => {
    const root = await tmp();
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data') } });
    const target = path.join(root, 'clone');
    let mounted: string | null = null;
    try {
      for (let i = 0; i < 20; i++) await db.set(`K${i}`, { i });
      await db.archive.create();
      let refused: string | null = null;
      const err = await db.restore
        .clone({
          targetDir: target,
          hooks: {
            // The directory being built holds a mount point: its removal after the failure is refused (EBUSY).
            afterSnapshotRestore: (info) => {
              const stuck = path.join(path.dirname(info.path), 'stuck');
              fs.mkdirSync(stuck);
              refused = mountTmpfs(stuck, 'size=64k');
              if (refused === null) mounted = stuck;
              throw new Error('the restore stops here');
            },
          },
        })
        .catch((e: unknown) => e);
      if (refused !== null) ctx.skip();
      const left = path.dirname(mounted!);
      expect(isBriError(err), String(err)).toBe(true);
      if (!isBriError(err)) return;
      expect(err.message).toMatch(/the restore stops here/);
      expect(err.message).not.toMatch(/EBUSY/);
      expect(err.hint).toContain(left);
      expect(err.hint).toMatch(/the next restore into .* removes it/);
      expect(fs.existsSync(left)).toBe(true);
      umount(mounted!);
      mounted = null;
      await db.restore.clone({ targetDir: target });
      expect(fs.existsSync(left)).toBe(false);
      expect(fs.readdirSync(root).filter((n) => n.includes('.restore'))).toEqual([]);
    } finally {
      if (mounted) umount(mounted);
      await db.close();
    }
  }, 60_000);
});
