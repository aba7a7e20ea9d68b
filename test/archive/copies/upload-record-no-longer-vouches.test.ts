/**
 * An upload record vouches for the object it confirmed, not for one written there since. A local remote's copy
 * rewritten in place (same size: bit rot, a bad rewrite on the NAS) keeps the SHA-256 its sidecar saved at
 * upload, so a HEAD still said "same": `archive upload` answered recorded-before and uploaded nothing, and
 * isStoredEverywhere was true (WAL cleanup trusted it), while the listing said the copy was not recorded. One
 * check (size, SHA-256, not written after it was confirmed) now answers for all three, and such a copy is
 * uploaded again, never counted. Real files, a real local remote, createDB; no mocks.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-vouch-');

async function setUp() {
  const root = await tmp();
  const nas = path.join(root, 'nas');
  await fsp.mkdir(nas);
  const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
  for (let i = 0; i < 60; i++) await db.set(`K_${i}`, { i, text: 'y'.repeat(300) });
  const made = await db.archive.create({ level: 1 });
  expect(made.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
  const copy = path.join(nas, 'archives', `${made.archiveId}.bri`);
  return { db, id: made.archiveId, copy };
}

/** Other bytes in the middle of the remote copy, its size unchanged, written after the upload was confirmed. */
async function rot(copy: string): Promise<void> {
  await sleep(20);
  const size = (await fsp.stat(copy)).size;
  const h = await fsp.open(copy, 'r+');
  await h.write(Buffer.alloc(2000, 0x5a), 0, 2000, Math.floor(size / 3));
  await h.close();
  expect((await fsp.stat(copy)).size).toBe(size);
}

async function nasRecorded(db: Awaited<ReturnType<typeof createDB>>, id: string): Promise<boolean | undefined> {
  return (await db.archive.get(id)).copies.find((c) => c.source === 'nas')?.recorded;
}

describe('a copy rewritten after its upload was confirmed is not counted by anyone', () => {
  it('upload sends it again (saying what it found), and then every answer agrees it is stored', async () => {
    const { db, id, copy } = await setUp();
    try {
      await rot(copy);
      expect(await nasRecorded(db, id)).toBe(false);
      const statuses = await db.archive.upload();
      expect(statuses.map((s) => [s.source, s.outcome])).toEqual([['nas', 'uploaded']]);
      expect(statuses[0]!.lost).toMatch(/written again/);
      expect((await db.archive.verify(id, { source: 'nas' })).ok).toBe(true);
      expect(await nasRecorded(db, id)).toBe(true);
      expect(await db.archive.isStoredEverywhere(id)).toBe(true);
      const again = await db.archive.upload({ archiveId: id });
      expect(again.map((s) => s.outcome)).toEqual(['recorded-before']);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('isStoredEverywhere is false and names the remote; the upload after it sends the copy again instead of taking it as already there', async () => {
    const { db, id, copy } = await setUp();
    try {
      expect(await db.archive.isStoredEverywhere(id)).toBe(true);
      await rot(copy);
      expect(await db.archive.notStoredEverywhere(id)).toMatch(/nas/);
      expect(await db.archive.isStoredEverywhere(id)).toBe(false);
      const statuses = await db.archive.upload({ archiveId: id, source: 'nas' });
      expect(statuses.map((s) => s.outcome)).toEqual(['uploaded']);
      expect((await db.archive.verify(id, { source: 'nas' })).ok).toBe(true);
      expect(await db.archive.isStoredEverywhere(id)).toBe(true);
    } finally {
      await db.close();
    }
  }, 120_000);
});
