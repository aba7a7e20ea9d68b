/**
 * The upload pass after each create took its upload records as the truth: a bucket deleted and made again, or an
 * archive object removed by a person or an expiry rule, stayed "stored" on the record's word, and only a
 * `bri archive upload` asked for by hand sent it again. The remote held the newest archives only, while every
 * listing of this machine said it held them all. Each create's pass now lists every remote once and sends again
 * what a record claims and the listing lacks (or shows rewritten), saying what it found. A local remote whose disk
 * is not mounted is not taken for one whose copies were deleted. Real S3-compatible server, real files.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { S3RVER_CREDENTIALS, useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const BUCKET = 'bri-after-create';
const server = useS3rver(BUCKET);
const tmp = useTempDirs('bri-after-create-');

type Db = Awaited<ReturnType<typeof createDB>>;

async function twoArchives(db: Db): Promise<string[]> {
  const ids: string[] = [];
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 20; i++) await db.set(`K${round}_${i}`, { round, i });
    const made = await db.archive.create({ level: 1 });
    expect(made.uploads.every((u) => u.outcome === 'uploaded')).toBe(true);
    ids.push(made.archiveId);
  }
  return ids;
}

/** Another S3 client than the tool's, as a person or an expiry rule acts on the bucket. */
function rawS3(): S3Client {
  return new S3Client({ endpoint: server.s3().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
}

/** Deletes every object of the bucket (under `prefix`, if given), behind the tool's back. */
async function deleteObjects(raw: S3Client, prefix?: string): Promise<void> {
  const listed = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, ...(prefix !== undefined ? { Prefix: prefix } : {}) }));
  for (const o of listed.Contents ?? []) await raw.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: o.Key! }));
}

describe('the upload pass after a create checks its records with one listing of each remote', () => {
  it('a bucket deleted and made again gets every archive back at the next create, each saying what was found', async () => {
    const root = await tmp();
    const remote = server.config('s3');
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { remotes: [remote] } } });
    const raw = rawS3();
    try {
      const ids = await twoArchives(db);
      await deleteObjects(raw);
      await raw.send(new DeleteBucketCommand({ Bucket: BUCKET }));
      await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));

      await db.set('AFTER', { x: 1 });
      const third = await db.archive.create({ level: 1 });
      const byId = new Map(third.uploads.map((u) => [u.archiveId, u]));
      expect([...byId.keys()].sort()).toEqual([...ids, third.archiveId].sort());
      for (const id of ids) {
        expect(byId.get(id)!.outcome).toBe('uploaded');
        expect(byId.get(id)!.lost).toMatch(/is gone/);
      }
      expect(byId.get(third.archiveId)!.lost).toBeUndefined();
      for (const id of [...ids, third.archiveId]) expect((await db.archive.verify(id, { source: 's3' })).ok).toBe(true);
      for (const id of ids) expect(await db.archive.isStoredEverywhere(id)).toBe(true);

      // Nothing lost any more: the next create sends only its own archive.
      await db.set('AFTER2', { x: 2 });
      const fourth = await db.archive.create({ level: 1 });
      expect(fourth.uploads.map((u) => [u.archiveId, u.outcome])).toEqual([[fourth.archiveId, 'uploaded']]);
    } finally {
      raw.destroy();
      await db.close();
    }
  }, 180_000);

  it('one archive removed from a local remote is sent again by the next create; an unmounted disk is not taken for deleted copies', async () => {
    const root = await tmp();
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    try {
      const ids = await twoArchives(db);
      const copy = path.join(nas, 'archives', `${ids[0]}.bri`);
      await fsp.rm(copy);
      await db.set('AFTER', { x: 1 });
      const third = await db.archive.create({ level: 1 });
      const again = third.uploads.find((u) => u.archiveId === ids[0]);
      expect(again?.outcome).toBe('uploaded');
      expect(again?.lost).toMatch(/is gone/);
      expect(third.uploads.some((u) => u.archiveId === ids[1])).toBe(false);
      expect((await db.archive.verify(ids[0]!, { source: 'nas' })).ok).toBe(true);

      // The share not mounted (its mount point empty): one refusal for the new archive, no record dropped for the others.
      await fsp.rename(nas, `${nas}.away`);
      await fsp.mkdir(nas);
      await db.set('AFTER2', { x: 2 });
      const fourth = await db.archive.create({ level: 1 });
      expect(fourth.uploads.map((u) => [u.archiveId, u.outcome])).toEqual([[fourth.archiveId, 'failed']]);
      expect(fourth.uploads[0]!.error?.details?.notMounted).toBe(true);
      await fsp.rm(nas, { recursive: true });
      await fsp.rename(`${nas}.away`, nas);
      for (const id of [...ids, third.archiveId]) expect(await db.archive.isStoredEverywhere(id)).toBe(true);
    } finally {
      await db.close();
    }
  }, 180_000);

  it('with keepLocal 0, an archive whose bucket was deleted is copied across from the other remote by the next create', async () => {
    const root = await tmp();
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const dataDir = path.join(root, 'data');
    const remotes = [server.config('s3'), { provider: 'local' as const, name: 'nas', path: nas }];
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { keepLocal: 0, remotes } } });
    const raw = rawS3();
    try {
      const ids = await twoArchives(db);
      const localFiles = async () => (await fsp.readdir(path.join(dataDir, 'archives'))).filter((f) => f.endsWith('.bri'));
      expect(await localFiles()).not.toContain(`${ids[0]}.bri`);
      await deleteObjects(raw, remotes[0]!.prefix);

      await db.set('AFTER', { x: 1 });
      const third = await db.archive.create({ level: 1 });
      for (const id of ids) {
        const status = third.uploads.find((u) => u.archiveId === id && u.source === 's3');
        expect(status?.outcome).toBe('uploaded');
        if (id === ids[0]) expect(status?.from).toBe('nas');
        expect(status?.lost).toMatch(/is gone/);
        expect(third.uploads.some((u) => u.archiveId === id && u.source === 'nas')).toBe(false);
        expect((await db.archive.verify(id, { source: 's3' })).ok).toBe(true);
        expect(await db.archive.isStoredEverywhere(id)).toBe(true);
      }
      // The copies fetched to send across are gone again.
      expect((await fsp.readdir(path.join(dataDir, 'archives'), { recursive: true })).filter((f) => String(f).includes('across-'))).toEqual([]);
    } finally {
      raw.destroy();
      await db.close();
    }
  }, 180_000);

  it('an archive gone from its only remote, with no local copy left, is a failure of every pass after a create, not "stored"', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const remote = server.config('s3');
    const failures: unknown[] = [];
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { keepLocal: 0, remotes: [remote], hooks: { onError: (e) => void failures.push(e) } } } });
    const raw = rawS3();
    try {
      const ids = await twoArchives(db);
      expect(await fsp.readdir(path.join(dataDir, 'archives'))).not.toContain(`${ids[0]}.bri`);
      await raw.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${remote.prefix}/archives/${ids[0]}.bri` }));
      for (let round = 0; round < 2; round++) {
        await db.set(`AFTER${round}`, { round });
        const made = await db.archive.create({ level: 1 });
        const gone = made.uploads.filter((u) => u.archiveId === ids[0]);
        expect(gone.map((u) => [u.source, u.outcome, u.error?.code])).toEqual([['s3', 'failed', 'ARCHIVE_NOT_FOUND']]);
        expect(gone[0]!.error!.message).toMatch(/is gone, and no source holds another copy/);
        // A pattern a shell expands when pasted: the directory quoted, the glob not.
        expect(gone[0]!.error!.hint).toContain(`.copies/${ids[0]}.*.json`);
        expect(made.uploads.find((u) => u.archiveId === made.archiveId)?.outcome).toBe('uploaded');
      }
      expect(failures.length).toBeGreaterThanOrEqual(2);
    } finally {
      raw.destroy();
      await db.close();
    }
  }, 180_000);
});
