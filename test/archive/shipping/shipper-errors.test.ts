/**
 * What a shipper says when something under it fails: a file system failure is an IO_ERROR that
 * names its path (not a REMOTE_ERROR blaming the remote).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shippingTmpDir } from '../../../src/archive/shipping/shipping.js';
import type { ShippingEvent } from '../../../src/archive/shipping/shipper.js';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-shipper-errors-');

describe('RemoteShipper failures', () => {
  it('says a local file system failure as IO_ERROR naming the path, not as the remote failing', async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    const localDir = path.join(r, 'archives');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], localDir, continuous: { enabled: true, intervalMs: 3_600_000 }, compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), snapshotOnClose: false, archive } });
    const failed: ShippingEvent[] = [];
    db.archive.on('shipping', (e: ShippingEvent) => {
      if (e.kind === 'ship-failed') failed.push(e);
    });
    try {
      await db.set('a', { v: 1 });
      await db.archive.flushShipping();
      const instanceId = (JSON.parse(await fsp.readFile(path.join(r, 'data', 'bri-archive.json'), 'utf8')) as { instanceId: string }).instanceId;
      // A file where the shipments are compressed: making that folder fails with an errno.
      const tmp = shippingTmpDir(localDir, instanceId);
      await fsp.rm(tmp, { recursive: true, force: true });
      await fsp.writeFile(tmp, 'not a folder');
      await db.set('b', { v: 2 });
      await expect(db.archive.flushShipping()).rejects.toMatchObject({ code: 'REMOTE_ERROR', message: expect.stringMatching(/nas .*shipping to nas/) });
      expect(failed.length).toBeGreaterThan(0);
      const error = (failed[0] as Extract<ShippingEvent, { kind: 'ship-failed' }>).error;
      expect(error.code).toBe('IO_ERROR');
      expect(error.details).toMatchObject({ path: tmp });
    } finally {
      await fsp.rm(path.join(localDir, '.tmp'), { recursive: true, force: true });
      await db.close().catch(() => undefined);
    }
  }, 60_000);
});
