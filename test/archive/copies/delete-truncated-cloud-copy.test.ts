/**
 * A copy on S3 cut short (an object replaced by a truncated one, a broken lifecycle copy) still carries the
 * SHA-256 metadata the upload wrote: that metadata is no proof the copy is whole. Deleting another copy of
 * lines no longer in wal/ on its word would lose them: the delete is refused, as WAL cleanup and prune refuse.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { runCli } from '../../support/cli.js';
import { useS3rver } from '../../support/servers/s3rver.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const BUCKET = 'bri-truncated-copy';
const server = useS3rver(BUCKET);
const tempDir = useTempDirs('bri-truncated-cloud-');

interface Setup {
  dataDir: string;
  config: string;
  nas: string;
  id: string;
  s3Object: string;
}

/** Three archives on local + nas + s3, the first one's lines cleaned out of wal/ (its copies are all there is of them). */
async function cleanedArchives(): Promise<Setup> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const nas = path.join(root, 'nas');
  await fsp.mkdir(nas);
  const s3 = server.config('s3') as RemoteConfig & { prefix: string };
  const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }, s3];
  const config = path.join(root, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ remotes }));
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { compression: { level: 1 }, remotes } } });
  const ids: string[] = [];
  try {
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < 40; i++) await db.set(`K${a}_${i}`, { a, i, pad: 'x'.repeat(200 + i) });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  const cleaned = await runCli(['archive', 'cleanup-wal', '-d', dataDir, '-c', config]);
  expect(cleaned.code, cleaned.stderr).toBe(0);
  const s3Object = path.join(server.s3().dir, BUCKET, s3.prefix, 'archives', `${ids[0]}.bri._S3rver_object`);
  return { dataDir, config, nas, id: ids[0]!, s3Object };
}

/** Cuts the S3 object short, in place: its metadata (the SHA-256 the upload stored) stays. */
async function truncateOnS3(s: Setup): Promise<void> {
  await fsp.truncate(s.s3Object, 5000);
}

describe('delete with a truncated cloud copy', () => {
  it('refuses `archive delete -s nas` when the only other copy left is a truncated S3 object', async () => {
    const s = await cleanedArchives();
    await fsp.rm(path.join(s.dataDir, 'archives', `${s.id}.bri`)); // as keepLocal leaves it: nas and s3 hold it
    await truncateOnS3(s);
    const del = await runCli(['archive', 'delete', s.id, '-s', 'nas', '-d', s.dataDir, '-c', s.config]);
    expect(del.code, del.stdout + del.stderr).toBe(2);
    expect(del.stderr).toMatch(/no other copy of archive .* is whole \(s3/);
    await fsp.access(path.join(s.nas, 'archives', `${s.id}.bri`)); // still there
  }, 60_000);

  it('refuses `archive delete -s local` when nas has no copy and the S3 object is truncated', async () => {
    const s = await cleanedArchives();
    await fsp.rm(path.join(s.nas, 'archives', `${s.id}.bri`));
    await truncateOnS3(s);
    const del = await runCli(['archive', 'delete', s.id, '-s', 'local', '-d', s.dataDir, '-c', s.config]);
    expect(del.code, del.stdout + del.stderr).toBe(2);
    await fsp.access(path.join(s.dataDir, 'archives', `${s.id}.bri`));
  }, 60_000);

  it('still deletes the nas copy when the S3 copy is whole', async () => {
    const s = await cleanedArchives();
    await fsp.rm(path.join(s.dataDir, 'archives', `${s.id}.bri`));
    const del = await runCli(['archive', 'delete', s.id, '-s', 'nas', '-d', s.dataDir, '-c', s.config]);
    expect(del.code, del.stderr).toBe(0);
    await expect(fsp.access(path.join(s.nas, 'archives', `${s.id}.bri`))).rejects.toThrow();
  }, 60_000);
});
