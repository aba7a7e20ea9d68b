/**
 * A shipment the remote fails to serve (HTTP 500 on every attempt) is not a damaged or missing one: the
 * remote is down, the lines are there. The restore fails with the remote's error (REMOTE_ERROR, exit 41,
 * try again), nothing swapped in, as for an archive copy it cannot download; it does not stop at the line
 * before it and start a new instance (exit 0, a warning). Real s3rver behind the fault proxy.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { recover } from '../../src/store/recovery.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { s3ErrorBody, startFaultProxy, type FaultProxy, type ProxiedRequest } from '../support/servers/fault-proxy.js';
import { useS3rver } from '../support/servers/s3rver.js';

const server = useS3rver('bri-unfetched');
const tempDir = useTempDirs('bri-unfetched-');
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startFaultProxy(server.s3().port);
});

afterAll(async () => {
  await proxy?.close();
});

/** A GET of a shipment whose first line is after line 10 (the second flush on). */
const isLaterShipment = (r: ProxiedRequest) => {
  const m = /shipped.*?(\d+)-\d+\.wal\.zst/.exec(decodeURIComponent(r.url));
  return r.method === 'GET' && m !== null && Number(m[1]) > 10;
};

describe('a shipment the remote does not serve', () => {
  it('fails the restore with REMOTE_ERROR (exit 41, try again), nothing swapped in, instead of restoring the lines before it', async () => {
    const root = await tempDir();
    const remote = server.config();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote], continuous: { enabled: true, intervalMs: 60_000 } } } });
    let state;
    try {
      for (let i = 0; i < 40; i++) {
        await db.set(`K${i}`, { i });
        if (i === 9) await db.archive.flushShipping();
      }
      await db.archive.flushShipping();
      state = toPlainState(db.state);
    } finally {
      await db.close();
    }
    const proxied = { ...remote, endpoint: proxy.endpoint } as RemoteConfig;
    proxy.setPlan((r) => (isLaterShipment(r) ? { kind: 'status', status: 500, body: s3ErrorBody('InternalError'), contentType: 'application/xml' } : { kind: 'pass' }));
    const target = path.join(root, 'dr');
    const api = openRestore({ dataDir: target, config: { remotes: [proxied] } });
    const err = await api.fromLatest().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'REMOTE_ERROR', message: expect.stringMatching(/^shipped WAL lines 11\.\.\d+ could not be fetched from s3: .*nothing was swapped in/), hint: expect.stringContaining('Try again') });
    expect(fs.existsSync(target)).toBe(false);
    expect(proxy.injected()).toBeGreaterThan(0);

    // The CLI exits with the remote's code and restores nothing.
    const config = path.join(root, 'proxied.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [proxied] }));
    const cli = await runCli(['restore', 'latest', '-d', path.join(root, 'dr-cli'), '-a', path.join(root, 'no-archives'), '-c', config]);
    expect(cli.stderr).toContain('[REMOTE_ERROR]');
    expect(cli.code, cli.stderr).toBe(41);
    expect(fs.existsSync(path.join(root, 'dr-cli'))).toBe(false);

    // Once the remote serves it again, every line comes back under the same instance.
    proxy.setPlan(() => ({ kind: 'pass' }));
    const done = await api.fromLatest();
    expect(done.shipped).toMatchObject({ lines: 40, broken: null });
    expect(toPlainState((await recover(target)).state)).toEqual(state);
    await api.close();
  }, 120_000);
});
