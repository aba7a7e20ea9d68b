/**
 * Uploads that go wrong, end to end through db.archive.create: the S3 server
 * SIGKILLed in the middle of a multipart upload (the archive is not recorded
 * as stored there, and the next run uploads it), remotes answering 503 a few
 * times (retried, confirmed), and the CLI's exit code and `bri archive upload`.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import type { ReplicationEvent } from '../../src/archive/copies/upload.js';
import { createDB, type BriDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { recover } from '../../src/store/recovery.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../support/servers/azurite.js';
import { startFaultProxy, type FaultProxy } from '../support/servers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../support/servers/s3rver.js';

const MiB = 1024 * 1024;
const BUCKET = 'bri-faults';
let azure: AzuriteServer;

beforeAll(async () => {
  azure = await startAzurite();
  const { BlobServiceClient } = await import('@azure/storage-blob');
  await BlobServiceClient.fromConnectionString(azure.connectionString).getContainerClient(BUCKET).createIfNotExists();
}, 90_000);

afterAll(async () => {
  await azure?.dispose();
});

const tempDir = useTempDirs('bri-upfault-');

function s3Config(endpoint: string, prefix: string): RemoteConfig {
  return {
    provider: 's3',
    name: 's3',
    bucket: BUCKET,
    prefix,
    endpoint,
    region: 'us-east-1',
    credentials: { ...S3RVER_CREDENTIALS },
    sdkMaxAttempts: 1,
    partSizeBytes: 5 * MiB,
    multipartThresholdBytes: 5 * MiB,
    retry: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 100 },
  };
}

function azureConfig(endpoint: string, prefix: string): RemoteConfig {
  return { provider: 'azure', name: 'azure', container: BUCKET, prefix, accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint, sdkMaxTries: 1, blockSizeBytes: 1 * MiB, retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 50 } };
}

/** About `mib` MiB of incompressible documents, written in batches (group commit). */
async function writeBulk(db: BriDB, tag: string, mib: number): Promise<void> {
  const docs = Math.ceil((mib * MiB) / 4096);
  for (let i = 0; i < docs; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, docs - i) }, (_, j) => db.set(`${tag}_${i + j}`, { blob: randomBytes(3000).toString('base64') })));
  }
}

describe('an upload that fails', () => {
  it('S3 killed in the middle of a multipart upload: not recorded there, not stored everywhere, uploaded by the next run', async () => {
    const root = await tempDir();
    const s3dir = path.join(root, 's3rver');
    await fsp.mkdir(s3dir);
    let s3: S3rverServer = await startS3rver([BUCKET], undefined, s3dir);
    const port = s3.port;
    const prefix = `kill-${randomBytes(3).toString('hex')}`;
    const dataDir = path.join(root, 'data');
    const remotes = [s3Config(s3.endpoint, prefix), azureConfig(azure.blobEndpoint, prefix)];
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes, errorCorrection: { enabled: false } } } });
    try {
      await writeBulk(db, 'A', 14);
      let killing: Promise<void> | null = null;
      const onUpload = (e: ReplicationEvent) => {
        if (e.kind !== 'upload-start' || e.source !== 's3' || killing) return;
        // Kill it once the first part has started to arrive (s3rver writes parts under its uploads directory).
        killing = (async () => {
          const deadline = Date.now() + 20_000;
          for (;;) {
            const names = await fsp.readdir(path.join(s3dir, BUCKET), { recursive: true }).catch(() => [] as string[]);
            if (names.some((n) => String(n).includes('uploads') && /\/\d+$/.test(String(n)))) break;
            if (Date.now() > deadline) throw new Error('the upload never started');
            await new Promise((r) => setTimeout(r, 5));
          }
          await s3.kill();
        })();
      };
      const first = await db.archive.create({ level: 1, onUpload });
      await killing;
      const id = first.archiveId;
      expect(first.uploads.map((u) => [u.source, u.outcome]).sort()).toEqual([
        ['azure', 'uploaded'],
        ['s3', 'failed'],
      ]);
      expect(first.uploads.find((u) => u.source === 's3')!.error).toMatchObject({ code: 'REMOTE_ERROR' });
      expect((await db.archive.copies(id)).map((c) => c.source)).toEqual(['azure']);
      // What WAL cleanup asks before it removes a line: not yet.
      expect(await db.archive.isStoredEverywhere(id)).toBe(false);

      // Back on the same port and directory: no whole object for the archive is visible.
      s3 = await startS3rver([BUCKET], port, s3dir);
      const check = createRemote(remotes[0], { retry: false });
      const sizes: number[] = [];
      for await (const o of check.list('archives/')) sizes.push(o.size);
      expect(sizes.filter((s) => s === first.bytes)).toEqual([]);
      await check.close();

      // The next run uploads the earlier archive too, and then both are stored everywhere.
      await writeBulk(db, 'B', 1);
      const second = await db.archive.create({ level: 1 });
      expect(second.uploads.map((u) => [u.archiveId === id ? 'first' : 'second', u.source, u.outcome]).sort()).toEqual([
        ['first', 's3', 'uploaded'],
        ['second', 'azure', 'uploaded'],
        ['second', 's3', 'uploaded'],
      ]);
      expect(await db.archive.isStoredEverywhere(id)).toBe(true);
      expect(await db.archive.isStoredEverywhere(second.archiveId)).toBe(true);
      const expected = toPlainState(db.state);
      await db.close();
      // And S3 alone restores it all.
      const target = path.join(root, 'from-s3');
      const r = await openRestore({ dataDir: target, config: { remotes: [remotes[0]] } }).fromLatest();
      expect(r.source).toBe('s3');
      expect(toPlainState((await recover(target, {})).state)).toEqual(expected);
    } finally {
      if (!db.isClosed) await db.close();
      await s3.dispose();
    }
  }, 120_000);

  it('a remote answering 503 a few times is retried, and the copy is confirmed', async () => {
    const root = await tempDir();
    const proxy: FaultProxy = await startFaultProxy(azure.port);
    let failures = 0;
    proxy.setPlan((r) => (r.method === 'PUT' && failures++ < 3 ? { kind: 'status', status: 503, body: '' } : { kind: 'pass' }));
    const prefix = `busy-${randomBytes(3).toString('hex')}`;
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { remotes: [azureConfig(`http://127.0.0.1:${proxy.port}/${AZURITE_ACCOUNT}`, prefix)] } } });
    try {
      await writeBulk(db, 'A', 3);
      const created = await db.archive.create({ level: 1 });
      expect(created.uploads.map((u) => [u.source, u.outcome])).toEqual([['azure', 'uploaded']]);
      expect(proxy.injected()).toBe(3);
      expect(await db.archive.isStoredEverywhere(created.archiveId)).toBe(true);
    } finally {
      await db.close();
      await proxy.close();
    }
  }, 60_000);

  it('bri archive create exits with the remote error and keeps the archive; bri archive upload stores it later', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const prefix = `cli-${randomBytes(3).toString('hex')}`;
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    for (let i = 0; i < 50; i++) await db.set(`U_${i}`, { i });
    await db.close();
    const down = path.join(root, 'down.json');
    await fsp.writeFile(down, JSON.stringify({ remotes: [azureConfig('http://127.0.0.1:9/devstoreaccount1', prefix)] }));
    const create = await runCli(['archive', 'create', '-d', dataDir, '--config', down, '--level', '1']);
    expect(create.code).toBe(41);
    expect(create.stdout).toContain('created ');
    expect(create.stderr).toMatch(/upload of \S+ to azure FAILED: \[REMOTE_ERROR\]/);
    expect(create.stderr).toContain('the next create or `bri archive upload` tries again');
    expect(create.stderr).not.toContain(AZURITE_KEY.slice(0, 12));
    const up = path.join(root, 'up.json');
    await fsp.writeFile(up, JSON.stringify({ remotes: [azureConfig(azure.blobEndpoint, prefix)] }));
    const upload = await runCli(['archive', 'upload', '-d', dataDir, '--config', up, '--json']);
    expect(upload.code, upload.stderr).toBe(0);
    const parsed = JSON.parse(upload.stdout) as { uploads: Array<{ source: string; outcome: string }> };
    expect(parsed.uploads.map((u) => [u.source, u.outcome])).toEqual([['azure', 'uploaded']]);
    const again = await runCli(['archive', 'upload', '-d', dataDir, '--config', up]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('every archive is confirmed on every remote');
  }, 60_000);
});
