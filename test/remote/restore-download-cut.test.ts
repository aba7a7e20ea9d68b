/**
 * A copy that cannot be downloaded (the connection cut on every attempt) is not a damaged copy:
 * the restore fails with REMOTE_ERROR and "try again", once, not ARCHIVE_CORRUPTED ("restore an
 * earlier archive") after running the download a second time to verify it. Real s3rver behind the
 * fault proxy.
 */
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { startFaultProxy, type FaultProxy } from '../support/servers/fault-proxy.js';
import { useS3rver } from '../support/servers/s3rver.js';

const server = useS3rver('bri-cut');
const tempDir = useTempDirs('bri-cut-');
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startFaultProxy(server.s3().port);
});

afterAll(async () => {
  await proxy?.close();
});

/** The archive's body read whole (the download; the listing reads its manifest with a ranged GET). */
const isArchiveDownload = (r: { method: string; url: string; headers: Record<string, unknown> }) => r.method === 'GET' && r.headers.range === undefined && /archives(%2F|\/)[^?]*\.bri/.test(r.url);

describe('a download cut on every attempt', () => {
  it('restore latest fails with REMOTE_ERROR and a hint to try again, after one download sequence, not ARCHIVE_CORRUPTED', async () => {
    const root = await tempDir();
    const remote = server.config();
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { remotes: [remote] } } });
    try {
      for (let i = 0; i < 300; i++) await db.set(`U_${i}`, { i, pad: 'x'.repeat(100) });
      expect((await db.archive.create({ level: 1 })).uploads.map((u) => u.outcome)).toEqual(['uploaded']);
    } finally {
      await db.close();
    }
    const proxied = { ...remote, endpoint: proxy.endpoint } as RemoteConfig;
    proxy.setPlan((r) => (isArchiveDownload(r) ? { kind: 'cut-response', afterBytes: 3000 } : { kind: 'pass' }));
    proxy.log.length = 0;
    const problems: Array<{ source: string; code?: string }> = [];
    const err = await openRestore({ dataDir: path.join(root, 'dr'), config: { remotes: [proxied] } })
      .fromLatest({ onSourceProblem: (p) => problems.push(p) })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'REMOTE_ERROR', hint: expect.stringContaining('Try again') });
    expect((err as Error).message).toContain('no good copy');
    // One download sequence: the source was passed over once (a second, verifying pass skipped it again).
    expect(problems.filter((p) => p.source === 's3')).toEqual([expect.objectContaining({ code: 'REMOTE_ERROR' })]);
    const downloads = proxy.log.filter(isArchiveDownload).length;
    expect(downloads).toBeGreaterThan(0);
    // The CLI exits with the remote's code.
    const config = path.join(root, 'proxied.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [proxied] }));
    proxy.log.length = 0;
    const cli = await runCli(['restore', 'latest', '-d', path.join(root, 'dr-cli'), '-c', config]);
    expect(cli.stderr).toContain('[REMOTE_ERROR]');
    expect(cli.stderr).not.toContain('restore an earlier archive');
    expect(cli.code, cli.stderr).toBe(41);
    expect(proxy.log.filter(isArchiveDownload).length).toBe(downloads);
  }, 60_000);
});
