/**
 * A copy on a remote is repaired like a local one (issue 13, item 5): with
 * 12 bytes flipped in one spot of its manifest, the listing (which reads a
 * remote copy's manifest from a ranged GET) lists it as damaged instead of
 * "damaged beyond repair", and restore and download fetch it and repair it
 * with its own PAR2 data. A directory remote (`provider: 'local'`) and S3
 * (s3rver on 127.0.0.1, started here).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import { createRemote, type RemoteConfig } from '../../../src/remote/registry.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../../support/servers/s3rver.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { flipByte } from '../../support/tools.js';

const BUCKET = 'bri-damaged-copy';
const tempDir = useTempDirs('bri-remote-damaged-');
let s3: S3rverServer;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
}, 60_000);
afterAll(async () => {
  await s3?.dispose();
});

interface OnRemote {
  root: string;
  dataDir: string;
  config: string;
  remote: RemoteConfig;
  id: string;
  original: Buffer;
  expected: PlainState;
}

/** An archive made with `remote` configured, whose only copy is then the remote's (the local one removed). */
async function archivedOnRemoteOnly(remote: RemoteConfig): Promise<OnRemote> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 16 * 1024, archive: { remotes: [remote] } } });
  let created;
  let expected: PlainState;
  try {
    await Promise.all(Array.from({ length: 1200 }, (_, i) => db.set(`D_${i}`, { i, text: 'abc '.repeat(1 + (i % 9)) })));
    created = await db.archive.create({ level: 3 });
    expected = toPlainState(db.state);
  } finally {
    await db.close();
  }
  expect(created.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
  const original = await fsp.readFile(created.file);
  await fsp.rm(path.join(dataDir, 'archives'), { recursive: true });
  const config = path.join(root, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
  return { root, dataDir, config, remote, id: created.archiveId, original, expected };
}

/** Replaces the remote object with one whose manifest has 12 bytes flipped (one spot). */
async function hurtManifestOnRemote(h: OnRemote): Promise<void> {
  const bytes = Buffer.from(h.original);
  for (let i = 0; i < 12; i++) flipByte(bytes, 700 + i, 0x5a);
  const file = path.join(h.root, 'hurt.bri');
  await fsp.writeFile(file, bytes);
  const store = createRemote(h.remote);
  try {
    await store.put(`archives/${h.id}.bri`, { path: file }, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  } finally {
    await store.close();
  }
  await fsp.rm(file);
}

async function expectRepairedLikeALocalCopy(h: OnRemote, source: string): Promise<void> {
  const list = await runCli(['restore', 'list', '-d', h.dataDir, '--config', h.config, '--json']);
  expect(list.code, list.stderr).toBe(0);
  const listing = JSON.parse(list.stdout);
  expect(listing.archives.map((a: { manifest: { archiveId: string } }) => a.manifest.archiveId)).toEqual([h.id]);
  expect(listing.archives[0].copies).toEqual([expect.objectContaining({ source, damaged: true })]);

  const target = path.join(h.root, 'restored');
  const restore = await runCli(['restore', 'latest', '-d', h.dataDir, '--config', h.config, '--target', target]);
  expect(restore.code, restore.stderr).toBe(0);
  expect(restore.stdout).toContain(`copy on ${source}`);
  expect(restore.stdout).toMatch(/repaired +\d+ of \d+ damaged blocks with PAR2/);
  expect(toPlainState((await recover(target)).state)).toEqual(h.expected);

  const copy = path.join(h.root, 'downloaded.bri');
  const download = await runCli(['archive', 'download', h.id, copy, '-d', h.dataDir, '--config', h.config, '--json']);
  expect(download.code, download.stderr).toBe(0);
  expect(JSON.parse(download.stdout)).toMatchObject({ source, repaired: { repairedBlocks: 1 } });
  expect((await fsp.readFile(copy)).equals(h.original), 'the downloaded copy is the original byte for byte').toBe(true);
  // Nothing left behind by the fetches and repairs: beside the target, the download, the archive directory.
  expect((await fsp.readdir(h.root)).filter((n) => n.includes('scratch')), 'scratch files left').toEqual([]);
}

describe('a remote copy whose manifest is damaged', () => {
  it('on a directory remote: listed as damaged, restored and downloaded after a PAR2 repair', async () => {
    const root = await tempDir();
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const h = await archivedOnRemoteOnly({ provider: 'local', name: 'nas', path: nas, prefix: 'p' });
    await hurtManifestOnRemote(h);
    await expectRepairedLikeALocalCopy(h, 'nas');
  }, 60_000);

  it('a remote copy cut where recovery.par2 begins: restored with a warning that names the copy, downloaded whole', async () => {
    const root = await tempDir();
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const h = await archivedOnRemoteOnly({ provider: 'local', name: 'nas', path: nas });
    const object = path.join(nas, 'archives', `${h.id}.bri`);
    await fsp.truncate(object, h.original.indexOf(Buffer.from('recovery.par2\0')));
    const target = path.join(h.root, 'restored');
    const restore = await runCli(['restore', 'latest', '-d', h.dataDir, '--config', h.config, '--target', target]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/WARNING +the recovery data of the copy on nas is damaged/);
    expect(toPlainState((await recover(target)).state)).toEqual(h.expected);
    const copy = path.join(h.root, 'downloaded.bri');
    const download = await runCli(['archive', 'download', h.id, copy, '-d', h.dataDir, '--config', h.config, '--json']);
    expect(download.code, download.stderr).toBe(0);
    expect(JSON.parse(download.stdout).recoveryDamaged).toMatchObject({ source: 'nas' });
    expect((await fsp.readFile(copy)).equals(h.original), 'the download has its recovery data written again').toBe(true);
  }, 60_000);

  it('on S3: listed as damaged, restored and downloaded after a PAR2 repair', async () => {
    const h = await archivedOnRemoteOnly({
      provider: 's3',
      name: 's3',
      bucket: BUCKET,
      prefix: `dmg-${Date.now()}`,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { ...S3RVER_CREDENTIALS },
      sdkMaxAttempts: 1,
      retry: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 100 },
    });
    await hurtManifestOnRemote(h);
    await expectRepairedLikeALocalCopy(h, 's3');
  }, 60_000);
});
