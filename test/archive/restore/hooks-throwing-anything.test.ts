/**
 * A restore hook function that throws null, undefined or a string: beforeRestore's failure was an untyped
 * TypeError (reading 'message'), and afterRestore throwing null failed a restore that was swapped in with
 * "Nothing was swapped in". Each is typed; a failing afterRestore is a hook error of a restore that stands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-hooks-any-');

describe('restore hooks that throw anything', () => {
  it('beforeRestore: RESTORE_ERROR naming what it threw, nothing restored; afterRestore: the restore stands with a hook error', async () => {
    for (const thrown of [null, undefined, 'no']) {
      const r = await tmp();
      const before = await createDB({ storeConfig: { dataDir: path.join(r, 'a'), archive: { restoreHooks: { beforeRestore: () => Promise.reject(thrown) } } } });
      await before.set('A', { v: 1 });
      await before.archive.create();
      await expect(before.restore.clone({ targetDir: path.join(r, 'ca') })).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: `restore failed: ${String(thrown)}`, hint: expect.stringContaining('Nothing was swapped in') });
      expect(fs.existsSync(path.join(r, 'ca', 'snapshot.jss'))).toBe(false);
      await before.close();
      const after = await createDB({ storeConfig: { dataDir: path.join(r, 'b'), archive: { restoreHooks: { afterRestore: () => Promise.reject(thrown) } } } });
      await after.set('A', { v: 1 });
      await after.archive.create();
      const res = await after.restore.clone({ targetDir: path.join(r, 'cb') });
      expect(res.hookErrors).toEqual([`afterRestore: ${String(thrown)}`]);
      expect(fs.existsSync(path.join(r, 'cb', 'snapshot.jss'))).toBe(true);
      await after.close();
    }
  });
});
