/**
 * A copy record says what a remote confirmed once, not what it holds now: a copy removed or
 * replaced behind our back (a lifecycle rule, a person) is uploaded again by `bri archive upload`,
 * and WAL cleanup asks the remote before it lets lines go. Real s3rver, real CLI.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { useS3rver } from '../support/servers/s3rver.js';

const server = useS3rver('bri-records');
const tempDir = useTempDirs('bri-records-');

/** A data directory archived once to `remote` (WAL kept); the database is closed. */
async function archivedOnce(remote: RemoteConfig): Promise<{ root: string; dataDir: string; config: string; archiveId: string }> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote] } } });
  let archiveId: string;
  try {
    for (let i = 0; i < 40; i++) await db.set(`U_${i}`, { i });
    const created = await db.archive.create({ level: 1 });
    expect(created.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
    archiveId = created.archiveId;
  } finally {
    await db.close();
  }
  const config = path.join(root, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
  return { root, dataDir, config, archiveId };
}

async function objectExists(remote: RemoteConfig, key: string): Promise<boolean> {
  const store = createRemote(remote);
  try {
    return await store.head(key).then(
      () => true,
      () => false,
    );
  } finally {
    await store.close();
  }
}

async function deleteObject(remote: RemoteConfig, key: string): Promise<void> {
  const store = createRemote(remote);
  await store.delete(key);
  await store.close();
}

/** Other bytes under the archive's key, written by another client (no metadata of ours). */
async function putForeign(remote: RemoteConfig, key: string, body: string): Promise<void> {
  const c = remote as Extract<RemoteConfig, { provider: 's3' }>;
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint: c.endpoint!, region: 'us-east-1', forcePathStyle: true, credentials: { ...c.credentials! } });
  await client.send(new PutObjectCommand({ Bucket: c.bucket, Key: `${c.prefix}/${key}`, Body: body }));
  client.destroy();
}

describe('copy records against what the remote holds', () => {
  it('bri archive upload uploads again an archive whose S3 copy was deleted behind our back, and says so', async () => {
    const remote = server.config();
    const { dataDir, config, archiveId } = await archivedOnce(remote);
    const key = `archives/${archiveId}.bri`;
    await deleteObject(remote, key);
    const up = await runCli(['archive', 'upload', '-d', dataDir, '--config', config]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).not.toContain('every archive is confirmed');
    expect(up.stderr).toMatch(new RegExp(`uploaded again to s3: ${archiveId} \\(.*; the copy recorded at \\S+ is gone\\)`));
    expect(await objectExists(remote, key)).toBe(true);
    // Confirmed now, by asking: nothing to do.
    const again = await runCli(['archive', 'upload', '-d', dataDir, '--config', config]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('every archive is confirmed on every remote');
    // One archive, one source: the same check.
    await deleteObject(remote, key);
    const one = await runCli(['archive', 'upload', archiveId, '-s', 's3', '-d', dataDir, '--config', config, '--json']);
    expect(one.code, one.stderr).toBe(0);
    const parsed = JSON.parse(one.stdout) as { uploads: Array<{ source: string; outcome: string; lost?: string }> };
    expect(parsed.uploads.map((u) => [u.source, u.outcome])).toEqual([['s3', 'uploaded']]);
    expect(parsed.uploads[0]!.lost).toMatch(/is gone/);
    expect(await objectExists(remote, key)).toBe(true);
  }, 60_000);

  it('the API upload replaces a recorded copy that is another file now, and its status says what was found', async () => {
    const remote = server.config();
    const { dataDir, archiveId } = await archivedOnce(remote);
    const key = `archives/${archiveId}.bri`;
    await putForeign(remote, key, 'not the archive');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote] } } });
    try {
      const uploads = await db.archive.upload();
      expect(uploads).toHaveLength(1);
      expect(uploads[0]).toMatchObject({ archiveId, source: 's3', outcome: 'uploaded' });
      expect(uploads[0]!.lost).toMatch(/holds 15 bytes/);
      expect(await db.archive.isStoredEverywhere(archiveId)).toBe(true);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('WAL cleanup asks the remote: a copy deleted behind our back keeps its WAL, and the next create uploads it again', async () => {
    const remote = server.config();
    const { dataDir, archiveId } = await archivedOnce(remote);
    await deleteObject(remote, `archives/${archiveId}.bri`);
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote], cleanupWal: true } } });
    try {
      expect(await db.archive.isStoredEverywhere(archiveId)).toBe(false);
      const cleanup = await db.archive.cleanupWal();
      expect(cleanup).toMatchObject({ segments: [], safeLine: 0 });
      // The false record is gone: the pass after the next create sends the archive again.
      expect(await db.archive.copies(archiveId)).toEqual([]);
      await db.set('AFTER', { v: 1 });
      const next = await db.archive.create({ level: 1 });
      expect(next.uploads.map((u) => [u.archiveId, u.outcome])).toEqual([
        [archiveId, 'uploaded'],
        [next.archiveId, 'uploaded'],
      ]);
      expect(next.cleanup).toMatchObject({ safeLine: next.manifest.timeRange.walLines.end });
    } finally {
      await db.close();
    }
  }, 60_000);

  it('a remote re-pointed under the same name (another prefix) holds none of the old place\'s copies: the next create uploads the old archive there', async () => {
    const before = server.config();
    const { root, dataDir, archiveId } = await archivedOnce(before);
    const after: RemoteConfig = { ...server.config(), name: 's3' };
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [after] } } });
    try {
      await db.set('AFTER', { v: 1 });
      // The pass after a create asks no remote about its records: the record's place decides.
      const next = await db.archive.create({ level: 1 });
      expect(next.uploads.map((u) => [u.archiveId, u.outcome])).toEqual([
        [archiveId, 'uploaded'],
        [next.archiveId, 'uploaded'],
      ]);
      expect((await db.archive.copies(archiveId)).map((c) => c.location)).toEqual([expect.stringContaining((after as { prefix: string }).prefix)]);
    } finally {
      await db.close();
    }
    expect(await objectExists(after, `archives/${archiveId}.bri`)).toBe(true);
    const config = path.join(root, 'moved.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [after] }));
    const up = await runCli(['archive', 'upload', '-d', dataDir, '--config', config]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('every archive is confirmed on every remote');
  }, 60_000);

  it('the same place spelled another way (localhost for 127.0.0.1) keeps its records: nothing is uploaded', async () => {
    const remote = server.config();
    const { root, dataDir } = await archivedOnce(remote);
    const respelled = { ...remote, endpoint: (remote as { endpoint: string }).endpoint.replace('127.0.0.1', 'localhost') };
    const config = path.join(root, 'respelled.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [respelled] }));
    const up = await runCli(['archive', 'upload', '-d', dataDir, '--config', config]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('every archive is confirmed on every remote');
  }, 60_000);
});
