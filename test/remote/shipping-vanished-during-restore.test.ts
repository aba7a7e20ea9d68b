/**
 * A restore from a remote while the running database makes an archive: the archive's upload absorbs
 * (deletes) the shipments it holds, and a restore planned before cannot read them. It must not stop at
 * the line before them and call that a restore (exit 0, a new instance): it fails, nothing swapped in,
 * and says to run it again, which then restores every line from the new archive.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { useTempDirs } from '../support/temp-dirs.js';

const root = useTempDirs('bri-vanished-');

describe('shipments that vanish while a restore reads them', () => {
  it('fail the restore (RESTORE_ERROR, run again) instead of restoring fewer lines; run again, it restores every line', async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { localDir: path.join(r, 'arch'), remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 60_000 }, compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), archive } });
    try {
      for (let i = 0; i < 20; i++) await db.set(`A_${i}`, { i });
      await db.archive.create();
      for (let i = 0; i < 20; i++) await db.set(`B_${i}`, { i });
      await db.archive.flushShipping();
      const clone = path.join(r, 'clone');
      const during = db.restore.clone({ targetDir: clone, source: 'nas', hooks: { beforeRestore: async () => void (await db.archive.create()) } });
      await expect(during).rejects.toMatchObject({ code: 'RESTORE_ERROR', details: { retry: 'shipment-vanished' }, message: expect.stringMatching(/vanished while this restore read them/) });
      expect(fs.existsSync(clone)).toBe(false);
      const again = await db.restore.clone({ targetDir: clone, source: 'nas' });
      expect(again.shipped?.broken ?? null).toBeNull();
      expect(toPlainState((await recover(clone)).state)).toEqual(toPlainState(db.state));
    } finally {
      await db.close();
    }
  }, 60_000);
});
