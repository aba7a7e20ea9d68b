/**
 * Shipped WAL on a remote is removed there (absorbed) only when an archive holding its lines is on that remote as
 * its upload confirmed it: the record's word alone is not enough. An archive copy deleted or rewritten there since
 * (same size, other bytes) holds none of the lines, and the shipments are then the remote's only copy of them:
 * they stay, and the shipping base does not start after that archive. Once `archive upload` has sent the archive
 * again, the next run absorbs them. Real files, a real local remote, createDB; no mocks.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-ship-vouch-');

function shipments(nas: string, instanceId: string): string[] {
  const dir = path.join(nas, 'shipped', instanceId);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^\d+-\d+\.wal\.zst$/.test(n)).sort() : [];
}

async function spoil(copy: string, how: 'deleted' | 'rewritten'): Promise<void> {
  if (how === 'deleted') return fsp.rm(copy);
  await sleep(20);
  const size = (await fsp.stat(copy)).size;
  const h = await fsp.open(copy, 'r+');
  await h.write(Buffer.alloc(500, 0x5a), 0, 500, Math.floor(size / 2));
  await h.close();
  expect((await fsp.stat(copy)).size).toBe(size);
}

describe('shipments are absorbed only by an archive copy its record still vouches for', () => {
  it.each(['rewritten', 'deleted'] as const)('the archive holding the shipped lines was %s on the remote after its upload: the shipments stay until it is uploaded again', async (how) => {
    const root = await tmp();
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
    const open = (continuous: boolean) =>
      createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { remotes, compression: { level: 1 }, continuous: { enabled: continuous, intervalMs: 20 } } } });

    // Lines 1..5 archived; 6..25 shipped.
    let db = await open(true);
    let instanceId: string;
    try {
      for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { i });
      instanceId = (await db.archive.create()).manifest.instanceId;
      for (let i = 0; i < 20; i++) await db.set(`B_${i}`, { i, text: 'b'.repeat(100) });
      await db.archive.flushShipping();
    } finally {
      await db.close();
    }
    const shipped = shipments(nas, instanceId);
    expect(shipped.length).toBeGreaterThan(0);

    // An archive of lines 6..25 made with shipping off (nothing absorbed), then its copy on nas spoiled.
    db = await open(false);
    let second: string;
    try {
      const made = await db.archive.create();
      expect(made.manifest.timeRange.walLines).toEqual({ start: 5, end: 25 });
      expect(made.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
      second = made.archiveId;
    } finally {
      await db.close();
    }
    await spoil(path.join(nas, 'archives', `${second}.bri`), how);
    expect(shipments(nas, instanceId)).toEqual(shipped);
    // No local copy either (set aside): the pass after the next create cannot send it again.
    const local = path.join(root, 'data', 'archives', `${second}.bri`);
    await fsp.rename(local, `${local}.aside`);

    db = await open(true);
    try {
      // The next run (its own archive uploaded, then shipments absorbed) keeps them: nas holds lines 6..25 only there.
      await db.set('C', { v: 1 });
      const third = await db.archive.create();
      expect(third.uploads.map((u) => [u.archiveId, u.outcome]).sort()).toEqual([
        [second, 'failed'],
        [third.archiveId, 'uploaded'],
      ]);
      expect(shipments(nas, instanceId)).toEqual(shipped);
      // Once the archive is on nas again, as confirmed, the next run absorbs them.
      await fsp.rename(`${local}.aside`, local);
      const sent = await db.archive.upload();
      expect(sent.filter((s) => s.archiveId === second).map((s) => s.outcome)).toEqual(['uploaded']);
      await db.set('D', { v: 1 });
      await db.archive.create();
      expect(shipments(nas, instanceId)).toEqual([]);
    } finally {
      await db.close();
    }
  }, 120_000);
});
