/**
 * A restore in place to a moment between the newest archive's last line and its seal, while lines of the
 * instance were shipped past that archive: the restore stops at the archive's end and leaves those lines out,
 * but it kept the instance's id (continuing its chain), so the next line written was numbered like the first
 * one shipped. Shipping then refused it ("its history left what was shipped") and stopped, the flush failed,
 * and the remote held two different lines under one number. As for an archive named (`restore from`), such a
 * restore starts a new instance and says why; the rolled-back instance's newest state stays restorable.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { recover } from '../../../src/store/recovery.js';
import { momentBetweenWrites } from '../../support/moments.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-before-shipped-');

describe('a restore in place to the newest archive\'s end, with lines shipped past it', () => {
  it('starts a new instance: shipping goes on, and both timelines restore from the remote alone', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
    const archive = { remotes, continuous: { enabled: true, intervalMs: 30 }, compression: { level: 1 } };
    let db = await createDB({ storeConfig: { dataDir, archive } });
    await db.set('K', { v: 1 });
    const atEnd = await momentBetweenWrites();
    await db.archive.create();
    await db.set('K', { v: 2 }); // shipped, cut away by the restore
    await db.archive.flushShipping();
    await db.close();
    const old = (await readArchiveState(dataDir))!.instanceId;
    const back = openRestore({ dataDir, config: { remotes } });
    const r = await back.toTimestamp(atEnd, { force: true }).finally(() => back.close());
    const now = (await readArchiveState(dataDir))!.instanceId;
    expect(now).not.toBe(old);
    expect(r.warnings.join('\n')).toContain(`instance ${old} shipped lines past line 1`);
    db = await createDB({ storeConfig: { dataDir, archive } });
    try {
      expect(await db.get('K')).toEqual({ v: 1 });
      await db.set('K', { v: 3 });
      await db.archive.flushShipping();
      expect(db.archive.shippingStatus()[0]).toMatchObject({ lagLines: 0, lastError: null });
    } finally {
      await db.close();
    }
    const restored = async (instanceId: string) => {
      const target = path.join(root, `from-nas-${instanceId}`);
      await openRestore({ dataDir: target, config: { remotes } }).fromLatest({ instanceId });
      return toPlainState((await recover(target)).state).documents;
    };
    expect(await restored(now)).toEqual({ K: '{"v":3}' });
    expect(await restored(old)).toEqual({ K: '{"v":2}' });
  }, 60_000);
});
