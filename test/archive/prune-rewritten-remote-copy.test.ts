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
    const archive = { keepLocal: 1, compression: { level: 1 }, remotes };
    // Two archives made with no retention (nothing pruned by their runs), then nas1's copy of the first rewritten.
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { ...archive, keepLocal: undefined } } });
    let first: Awaited<ReturnType<typeof db.archive.create>>;
    try {
      for (let i = 0; i < 60; i++) await db.set(`A_${i}`, { i, text: 'a'.repeat(200) });
      first = await db.archive.create();
      for (let i = 0; i < 60; i++) await db.set(`B_${i}`, { i, text: 'b'.repeat(200) });
      await db.archive.create();
      await rewriteInPlace(path.join(nas1, 'archives', `${first.archiveId}.bri`));
      expect((await db.archive.get(first.archiveId)).copies.map((c) => [c.source, c.recorded])).toEqual([['local', true], ['nas1', false], ['nas2', true]]);
    } finally {
      await db.close();
    }
    // Prune past keepLocal 1 (by itself: a create's upload pass would send the copy again first).
    const { ArchiveApi, offlineHost } = await import('../../src/archive/archive-api.js');
    const api = () => new ArchiveApi(offlineHost(path.join(root, 'data'), undefined), archive);
    const pruned = await api().prune({ dryRun: true });
    expect(pruned.removed).toEqual([]);
    expect(pruned.kept).toContainEqual({ archiveId: first.archiveId, source: 'local', reason: 'not-on-every-remote', lacking: ['nas1'] });
    const report = await api().prune();
    expect(report.removed).toEqual([]);
    expect(report.kept).toContainEqual({ archiveId: first.archiveId, source: 'local', reason: 'not-on-every-remote', lacking: ['nas1'] });
    expect(fs.existsSync(first.file)).toBe(true);
    // What the local copy was kept for: the upload sends it to nas1 again, and then it may go.
    const sent = await api().upload();
    expect(sent.filter((s) => s.archiveId === first.archiveId).map((s) => [s.source, s.outcome])).toEqual([['nas1', 'uploaded']]);
    expect((await api().verify(first.archiveId, { source: 'nas1' })).ok).toBe(true);
    const again = await api().prune();
    expect(again.removed.map((d) => [d.archiveId, d.source])).toEqual([[first.archiveId, 'local']]);
    expect(fs.existsSync(first.file)).toBe(false);
  }, 120_000);
});
