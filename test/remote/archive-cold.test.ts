/**
 * Archives a lifecycle rule moved to S3 Glacier: s3rver behind the fault
 * proxy, which answers what S3 answers for an object in Glacier (GET: 403
 * InvalidObjectState; POST ?restore: 202 Accepted, then 409
 * RestoreAlreadyInProgress). s3rver has no storage class transitions, so the
 * proxy stands in for that one part of S3; everything else is s3rver's.
 */
import * as fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { isBriError } from '../../src/errors.js';
import { toPlainState } from '../../src/format/state.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { isColdObject } from '../../src/remote/remote-errors.js';
import { recover } from '../../src/store/recovery.js';
import { runCli } from '../support/cli.js';
import { s3ErrorBody, startFaultProxy, type FaultProxy, type ProxiedRequest, type FaultAction } from '../support/servers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const BUCKET = 'bri-cold';
let s3: S3rverServer;
let proxy: FaultProxy;
const tempDir = useTempDirs('bri-cold-');

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  proxy = await startFaultProxy(s3.port);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await s3?.dispose();
});

const s3Config = (prefix: string): RemoteConfig => ({
  provider: 's3',
  name: 's3',
  bucket: BUCKET,
  prefix,
  endpoint: proxy.endpoint,
  region: 'us-east-1',
  credentials: { ...S3RVER_CREDENTIALS },
  sdkMaxAttempts: 1,
  retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
});

/** S3 for objects in Glacier under `prefix/archives/`: unreadable; the first restore request accepted, later ones in progress. */
function glacier(prefix: string): { plan: (r: ProxiedRequest) => FaultAction; restores: () => number } {
  let restores = 0;
  return {
    restores: () => restores,
    plan: (r) => {
      if (!r.url.includes(`/${prefix}/archives/`)) return { kind: 'pass' };
      if (r.method === 'GET') return { kind: 'status', status: 403, body: s3ErrorBody('InvalidObjectState', 'The operation is not valid for the object\'s storage class') };
      if (r.method === 'POST' && /[?&]restore/.test(r.url)) {
        return restores++ === 0 ? { kind: 'status', status: 202 } : { kind: 'status', status: 409, body: s3ErrorBody('RestoreAlreadyInProgress', 'Object restore is already in progress') };
      }
      return { kind: 'pass' };
    },
  };
}

describe('archives in S3 Glacier', () => {
  it('are reported as frozen (not damaged), passed over for a readable source, thawed on request, and restore once readable', async () => {
    const root = await tempDir();
    const prefix = `cold-${randomBytes(3).toString('hex')}`;
    const dataDir = path.join(root, 'data');
    const nasDir = path.join(root, 'nas');
    fs.mkdirSync(nasDir);
    const remotes: RemoteConfig[] = [s3Config(prefix), { provider: 'local', name: 'nas', path: nasDir }];
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes, compression: { level: 1 } } } });
    let archiveId: string;
    try {
      for (let i = 0; i < 200; i++) await db.set(`K${i}`, { i });
      archiveId = (await db.archive.create()).archiveId;
    } finally {
      await db.close();
    }
    const expected = toPlainState((await recover(dataDir)).state);
    fs.rmSync(dataDir, { recursive: true });

    const g = glacier(prefix);
    proxy.setPlan(g.plan);
    try {
      // S3 alone: the copy is listed as unreadable for being frozen, and the restore says how to get it back.
      const s3Only = openRestore({ dataDir: path.join(root, 'a'), config: { remotes: [remotes[0]!] } });
      const listing = await s3Only.list();
      expect(listing.archives, JSON.stringify({ un: listing.unreachable.map((u) => u.error.message), log: proxy.log.slice(-5) })).toEqual([]);
      expect(listing.unreachable).toEqual([]);
      expect(listing.unreadable.map((u) => [u.source, isColdObject(u.error)])).toEqual([['s3', true]]);
      const err = await s3Only.fromLatest().catch((e: unknown) => e);
      expect(isBriError(err, 'REMOTE_ERROR'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/archive tier \(InvalidObjectState\)/);
      expect((err as { hint: string }).hint).toMatch(/bri archive thaw --all/);

      // S3 first, the NAS second: S3's copy is passed over with the reason, the NAS's is used.
      const both = openRestore({ dataDir: path.join(root, 'b'), config: { remotes, restoreSources: ['s3', 'nas'] } });
      const r = await both.fromLatest();
      expect(r.source).toBe('nas');
      expect(r.skipped).toEqual([
        { source: 's3', reason: expect.stringMatching(new RegExp(`archive tier.*\`bri archive thaw ${archiveId} --source s3\``)), code: 'REMOTE_ERROR', hint: expect.stringContaining('bri archive thaw') },
      ]);
      expect(toPlainState((await recover(path.join(root, 'b'))).state)).toEqual(expected);

      // Thawing: the first request is accepted, the next one finds it under way; the NAS is always readable.
      const config = path.join(root, 'bri.json');
      fs.writeFileSync(config, JSON.stringify({ archive: { remotes } }));
      const cli = await runCli(['archive', 'thaw', archiveId, '-d', path.join(root, 'c'), '--config', config, '--days', '3', '--tier', 'bulk', '--json']);
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout).thaw).toEqual([
        { archiveId, source: 's3', outcome: 'requested' },
        { archiveId, source: 'nas', outcome: 'readable' },
      ]);
      const all = await runCli(['archive', 'thaw', '--all', '-s', 's3', '-d', path.join(root, 'c'), '--config', config]);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toMatch(new RegExp(`${archiveId}\\s+s3\\s+restore in progress`));
      expect(g.restores()).toBe(2);
      const usage = await runCli(['archive', 'thaw', '-d', path.join(root, 'c'), '--config', config]);
      expect(usage.code).toBe(2);
    } finally {
      proxy.setPlan(() => ({ kind: 'pass' }));
    }
    // Once S3 has restored it, S3 alone restores the data.
    const thawed = await openRestore({ dataDir: path.join(root, 'd'), config: { remotes: [remotes[0]!] } }).fromLatest();
    expect(thawed.source).toBe('s3');
    expect(toPlainState((await recover(path.join(root, 'd'))).state)).toEqual(expected);
  }, 120_000);

  it('thaw of an object S3 holds in a readable class (RestoreObject refused with InvalidObjectState) or already restored (200) is readable', async () => {
    const prefix = `warm-${randomBytes(3).toString('hex')}`;
    const store = createRemote(s3Config(prefix), { retry: false });
    const root = await tempDir();
    const file = path.join(root, 'x.bin');
    fs.writeFileSync(file, 'not in glacier');
    await store.put('archives/x.bin', { path: file }, { size: 14, sha256: createHash('sha256').update('not in glacier').digest('hex') });
    let answer = 403;
    proxy.setPlan((r) =>
      r.method === 'POST' && /[?&]restore/.test(r.url)
        ? answer === 403
          ? { kind: 'status', status: 403, body: s3ErrorBody('InvalidObjectState', 'Restore is not allowed for the object\'s current storage class') }
          : { kind: 'status', status: 200 }
        : { kind: 'pass' },
    );
    try {
      expect(await store.thaw('archives/x.bin')).toBe('readable');
      await expect(store.thaw('archives/none.bin')).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
      answer = 200;
      expect(await store.thaw('archives/x.bin')).toBe('readable');
    } finally {
      proxy.setPlan(() => ({ kind: 'pass' }));
      await store.close();
    }
  });
});
