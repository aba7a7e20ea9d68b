/**
 * A local copy past keepLocal goes only once every remote it belongs on holds a copy its upload record still
 * vouches for (same size and SHA-256, not written since it was confirmed), as `archive list` and `archive upload`
 * decide. A record plus a copy of the right size was enough before: with one remote's copy rewritten in place
 * (same size, other bytes) and another remote's whole, prune removed the local copy, and the rewritten remote was
 * left with no copy of the archive and nothing to upload it from. Real files, real local remotes, createDB; no mocks.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-prune-vouch-');

/** Other bytes in the middle of the copy, its size unchanged, written after its upload was confirmed. */
async function rewriteInPlace(copy: string): Promise<void> {
  await sleep(20);
  const size = (await fsp.stat(copy)).size;
  const h = await fsp.open(copy, 'r+');
  await h.write(Buffer.alloc(2000, 0x5a), 0, 2000, Math.floor(size / 2));
  await h.close();
  expect((await fsp.stat(copy)).size).toBe(size);
}

describe('prune keeps a local copy past keepLocal while a remote copy is no longer the one its record confirmed', () => {
  it('one remote rewritten, the other whole: the local copy stays (not-on-every-remote, naming it); after upload re-sends it, it goes', async () => {
    const root = await tmp();
    const nas1 = path.join(root, 'nas1');
    const nas2 = path.join(root, 'nas2');
    await fsp.mkdir(nas1);
    await fsp.mkdir(nas2);
    const remotes = [
      { provider: 'local' as const, name: 'nas1', path: nas1 },
      { provider: 'local' as const, name: 'nas2', path: nas2 },
    ];
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { keepLocal: 1, compression: { level: 1 }, remotes } } });
    try {
      for (let i = 0; i < 60; i++) await db.set(`A_${i}`, { i, text: 'a'.repeat(200) });
      const first = await db.archive.create();
      await rewriteInPlace(path.join(nas1, 'archives', `${first.archiveId}.bri`));
      expect((await db.archive.get(first.archiveId)).copies.map((c) => [c.source, c.recorded])).toEqual([['local', true], ['nas1', false], ['nas2', true]]);
      // The next archive's run prunes past keepLocal: the first archive's local copy is the one nas1 needs.
      for (let i = 0; i < 60; i++) await db.set(`B_${i}`, { i, text: 'b'.repeat(200) });
      const second = await db.archive.create();
      const report = second.prune && 'removed' in second.prune ? second.prune : null;
      expect(report?.removed).toEqual([]);
      expect(report?.kept).toContainEqual({ archiveId: first.archiveId, source: 'local', reason: 'not-on-every-remote', lacking: ['nas1'] });
      expect(fs.existsSync(first.file)).toBe(true);
      const pruned = await db.archive.prune({ dryRun: true });
      expect(pruned.removed).toEqual([]);
      expect(pruned.kept).toContainEqual({ archiveId: first.archiveId, source: 'local', reason: 'not-on-every-remote', lacking: ['nas1'] });
      // What the local copy was kept for: the upload sends it to nas1 again, and then it may go.
      const sent = await db.archive.upload();
      expect(sent.filter((s) => s.archiveId === first.archiveId).map((s) => [s.source, s.outcome])).toEqual([['nas1', 'uploaded']]);
      expect((await db.archive.verify(first.archiveId, { source: 'nas1' })).ok).toBe(true);
      const again = await db.archive.prune();
      expect(again.removed.map((d) => [d.archiveId, d.source])).toEqual([[first.archiveId, 'local']]);
      expect(fs.existsSync(first.file)).toBe(false);
    } finally {
      await db.close();
    }
  }, 120_000);
});
