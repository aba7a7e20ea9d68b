/**
 * Shipped WAL that no longer continues the newest archive (the archive it continued was deleted, its
 * shipments absorbed): a restore of the latest state stops at the archive's end and says which line
 * is missing, never restores the older state as if nothing had been shipped after it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-ship-gap-');

describe('shipped WAL past a deleted archive', () => {
  it('restore latest stops at the remaining archive\'s end and reports the missing lines as a broken shipment', async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const remote = { provider: 'local' as const, name: 'nas', path: nas };
    const archive = { remotes: [remote], continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 } };
    const dataDir = path.join(r, 'data');
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify(archive));
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive } });
    let a2: string;
    let instanceId: string;
    try {
      for (let i = 0; i < 3; i++) await db.set(`K${i}`, { v: 'a' });
      await db.archive.create();
      for (let i = 0; i < 3; i++) await db.set(`K${i}`, { v: 'b' });
      await db.archive.flushShipping();
      const second = await db.archive.create();
      a2 = second.archiveId;
      instanceId = second.manifest.instanceId;
      for (let i = 0; i < 3; i++) await db.set(`K${i}`, { v: 'c' });
      await db.archive.flushShipping();
    } finally {
      await db.close();
    }
    const del = await runCli(['archive', 'delete', a2, '-d', dataDir, '-c', cfg]);
    expect(del.code, del.stderr).toBe(0);

    const restored = await openRestore({ dataDir: path.join(r, 'api'), config: { remotes: [remote] } }).fromLatest();
    expect(restored.shipped).toMatchObject({ throughLine: 3, broken: { fromLine: 4 } });
    // Lines 7.. stay shipped under the old instance: the restored directory numbers its new lines as another.
    expect(restored.instanceId).not.toBe(instanceId);

    const cli = await runCli(['restore', 'latest', '-s', 'nas', '--target', path.join(r, 'cli'), '-d', dataDir, '-c', cfg]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout + cli.stderr).toMatch(/shipped WAL lines 4\.\.4 are unusable \(missing[^)]*\); restored up to line 3/);
  }, 60_000);
});
