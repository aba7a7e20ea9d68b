/**
 * Two processes shipping one instance to one remote (a copy of the data directory started beside the
 * original) fork its shipped WAL there; a restore from the remote would stop at the fork. The second
 * shipper finds the first one's shipment where its own starts: it says so, removes its own, ships nothing
 * more, and the remote keeps one chain that restores.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { useTempDirs } from '../support/temp-dirs.js';

const root = useTempDirs('bri-two-shippers-');

describe('two shippers of one instance', () => {
  it.each([
    ['the same lines (the same object name: not put over)', 1],
    ['more lines (another object from the same line: removed again)', 3],
  ])('the second one, shipping %s, is refused (flushShipping rejects; the status names the other shipment) and ships nothing more; the remote restores the first one', async (_what, lines) => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
    const archive = (dir: string) => ({ localDir: path.join(dir, 'archives'), remotes, continuous: { enabled: true, intervalMs: 60_000 }, compression: { level: 1 } });
    const one = path.join(r, 'one');
    const seed = await createDB({ storeConfig: { dataDir: one, archive: archive(one) } });
    for (let i = 0; i < 10; i++) await seed.set(`A_${i}`, { i });
    await seed.archive.create();
    await seed.close();
    const two = path.join(r, 'two');
    await fsp.cp(one, two, { recursive: true });
    // The copy's archive directory is its own copy too (as `cp -a` of a directory with archives/ inside gives).
    const db1 = await createDB({ storeConfig: { dataDir: one, archive: archive(one) } });
    const db2 = await createDB({ storeConfig: { dataDir: two, archive: archive(two) } });
    try {
      await db1.set('X', { from: 'one' });
      for (let i = 0; i < lines; i++) await db2.set(`Y_${i}`, { from: 'two' });
      await db1.archive.flushShipping();
      await expect(db2.archive.flushShipping()).rejects.toMatchObject({ code: 'REMOTE_ERROR', message: expect.stringMatching(/another process ships this instance to nas/) });
      expect(db2.archive.shippingStatus()[0]!.lastError).toMatch(/another process ships this instance to nas: \S+ holds other lines from line 11/);
      // Said again, without shipping, at every later run.
      await db2.set('Y2', { from: 'two' });
      await expect(db2.archive.flushShipping()).rejects.toMatchObject({ message: expect.stringMatching(/another process ships this instance/) });
      const expected = toPlainState(db1.state);
      const target = path.join(r, 'restored');
      await openRestore({ dataDir: target, config: { remotes } }).fromLatest();
      expect(toPlainState((await recover(target)).state)).toEqual(expected);
    } finally {
      await db1.close();
      // The second shipper never shipped its own lines: its close says so (REMOTE_ERROR), as its flushes did.
      await expect(db2.close()).rejects.toMatchObject({ code: 'REMOTE_ERROR', message: expect.stringMatching(/^stopShipping: .*another process ships this instance/) });
    }
  }, 60_000);
});
