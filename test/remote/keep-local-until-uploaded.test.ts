/**
 * keepLocal takes a local copy away only once every remote it belongs on holds it, confirmed. Found with an S3
 * whose PUTs failed for a while (RETAIN 1): the create after the failed upload pruned the local copy (nas held
 * one), the archive never reached S3, and `bri archive upload` said every archive was confirmed everywhere.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { runCli } from '../support/cli.js';
import { s3ErrorBody, startFaultProxy, type FaultProxy } from '../support/servers/fault-proxy.js';
import { useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { damageWalMember } from '../support/damage-member.js';
import type { Manifest } from '../../src/format/manifest.js';

const BUCKET = 'bri-keep-local';
const server = useS3rver(BUCKET);
const tmp = useTempDirs('bri-keep-local-');
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** nas (a local remote) and S3 behind a proxy that answers 500 to every upload while `failing.on`. */
async function setup(): Promise<{ root: string; dataDir: string; remotes: RemoteConfig[]; failing: { on: boolean } }> {
  const root = await tmp();
  const failing = { on: false };
  await fsp.mkdir(path.join(root, 'nas'));
  proxy = await startFaultProxy(server.s3().port, (r) => (failing.on && (r.method === 'PUT' || r.method === 'POST') ? { kind: 'status', status: 500, body: s3ErrorBody('InternalError') } : { kind: 'pass' }));
  const s3 = { ...server.config('s3'), endpoint: proxy.endpoint } as RemoteConfig;
  return { root, dataDir: path.join(root, 'data'), remotes: [{ provider: 'local', name: 'nas', path: path.join(root, 'nas') }, s3], failing };
}

async function s3Keys(remote: RemoteConfig): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of createRemote(remote).list('archives/')) keys.push(o.key);
  return keys;
}

describe('keepLocal with an upload that failed', () => {
  it('keeps the local copy of an archive S3 has no confirmed copy of (not-on-every-remote), and the next upload sends it', async () => {
    const { root, dataDir, remotes, failing } = await setup();
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes, keepLocal: 1 } } });
    const ids: string[] = [];
    let lastPrune;
    try {
      for (let round = 0; round < 3; round++) {
        failing.on = round === 1 || round === 2;
        await db.set(`K${round}`, { round });
        const made = await db.archive.create();
        ids.push(made.archiveId);
        lastPrune = made.prune;
      }
    } finally {
      await db.close();
    }
    // ids[1] and ids[2] failed to reach S3: both keep their local copy although only one may be kept.
    expect(fs.existsSync(path.join(dataDir, 'archives', `${ids[1]}.bri`))).toBe(true);
    expect(lastPrune && 'kept' in lastPrune ? lastPrune.kept : []).toContainEqual({ archiveId: ids[1], source: 'local', reason: 'not-on-every-remote', lacking: ['s3'] });
    failing.on = false;
    const cfg = path.join(root, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ remotes, keepLocal: 1 }));
    const up = await runCli(['archive', 'upload', '-d', dataDir, '-c', cfg]);
    expect(up.code).toBe(0);
    expect(up.stderr).toContain(`uploaded s3: ${ids[1]}`);
    const s3 = remotes[1]!;
    expect(await s3Keys(s3)).toEqual(ids.map((id) => `archives/${id}.bri`));
    // Now every remote holds it: the next prune may take the local copy.
    const pruned = await runCli(['archive', 'prune', '-d', dataDir, '-c', cfg, '--json']);
    expect(JSON.parse(pruned.stdout).removed).toContainEqual(expect.objectContaining({ archiveId: ids[1], source: 'local', reason: 'beyond-keep-local' }));
  }, 60_000);

  it('`archive upload` copies an archive with no local copy across to the remote that lacks it, from the remote that has it', async () => {
    const { root, dataDir, remotes, failing } = await setup();
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes } } });
    const ids: string[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        failing.on = round >= 1;
        await db.set(`K${round}`, { round });
        ids.push((await db.archive.create()).archiveId);
      }
    } finally {
      await db.close();
    }
    failing.on = false;
    // What the earlier prune left: the local copy gone, nas holding the only one.
    await fsp.rm(path.join(dataDir, 'archives', `${ids[1]}.bri`));
    const cfg = path.join(root, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ remotes }));
    const up = await runCli(['archive', 'upload', '-d', dataDir, '-c', cfg, '--json']);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).uploads).toContainEqual(expect.objectContaining({ archiveId: ids[1], source: 's3', outcome: 'uploaded', from: 'nas' }));
    expect(await s3Keys(remotes[1]!)).toContain(`archives/${ids[1]}.bri`);
    expect(fs.existsSync(path.join(dataDir, 'archives', `${ids[1]}.bri`))).toBe(false);
    const again = await runCli(['archive', 'upload', '-d', dataDir, '-c', cfg]);
    expect(again.stdout).toContain('every archive is confirmed on every remote');
  }, 60_000);

  it('`archive upload` names an archive with no local copy that a remote lacks and no source can give (REMOTE_ERROR)', async () => {
    const { root, dataDir, remotes, failing } = await setup();
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes, errorCorrection: { enabled: false } } } });
    const ids: string[] = [];
    const manifests: Manifest[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        failing.on = round >= 1;
        await db.set(`K${round}`, { round });
        const made = await db.archive.create();
        ids.push(made.archiveId);
        manifests.push(made.manifest);
      }
    } finally {
      await db.close();
    }
    failing.on = false;
    await fsp.rm(path.join(dataDir, 'archives', `${ids[1]}.bri`));
    const nasCopy = path.join(root, 'nas', 'archives', `${ids[1]}.bri`);
    // Its WAL rotted beyond repair (no recovery data): the manifest still reads, the copy cannot be fetched whole.
    await damageWalMember(nasCopy, manifests[1]!, 64, 0);
    const cfg = path.join(root, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ remotes }));
    const up = await runCli(['archive', 'upload', '-d', dataDir, '-c', cfg]);
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain(`upload of ${ids[1]} to s3 FAILED`);
    expect(up.stderr).toContain('has no local copy');
    expect(up.stdout).not.toContain('every archive is confirmed');
  }, 60_000);
});
