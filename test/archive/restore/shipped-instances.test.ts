/**
 * Which instance and which lines a restore takes when shipped WAL is involved. An instance with shipped
 * WAL and no archive yet (a restore in place to an earlier point, a clone) is a candidate for `latest` as
 * much as an archived one: a newer one that began after the older's last line replaced it, two writing
 * side by side are refused (USAGE). A first-day database answers a time past its last shipped line as an
 * archived one does, and a time before its first line with the empty state. A restore that passed over a
 * source holding more shipped lines starts a new instance, so that its new lines never fork the old chain.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-shipped-instances-');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const docs = async (dir: string) => toPlainState((await recover(dir)).state).documents;
const shipping = (remotes: RemoteConfig[]) => ({ remotes, continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 } });

type LocalRemote = RemoteConfig & { provider: 'local'; path: string };

async function nas(root: string, name = 'nas'): Promise<LocalRemote> {
  const p = path.join(root, name);
  await fsp.mkdir(p);
  return { provider: 'local', name, path: p };
}

/** Opens `dataDir` shipping to `remotes`, writes `keys` one by one (each shipped), closes. */
async function writeShipped(dataDir: string, remotes: RemoteConfig[], keys: string[], archiveFirst = 0): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, archive: shipping(remotes) } });
  try {
    for (const [i, k] of keys.entries()) {
      await db.set(k, { k });
      if (i + 1 === archiveFirst) await db.archive.create();
      await db.archive.flushShipping();
      await pause(5);
    }
  } finally {
    await db.close();
  }
}

describe('restore latest with an instance that has shipped WAL and no archive yet', () => {
  it('a rollback in place then a lost machine: latest is the new instance (its writes kept, the rolled-back lines gone)', async () => {
    const root = await tmp();
    const remote = await nas(root);
    const dataDir = path.join(root, 'data');
    await writeShipped(dataDir, [remote], ['K0', 'K1', 'K2', 'K3', 'K4'], 5);
    await writeShipped(dataDir, [remote], ['K5', 'K6', 'K7']);
    await pause(10);
    const rollbackTo = Date.now();
    await pause(10);
    await writeShipped(dataDir, [remote], ['K8', 'K9']);
    await openRestore({ dataDir, config: { remotes: [remote] } }).toTimestamp(rollbackTo, { force: true, cleanExisting: true });
    await writeShipped(dataDir, [remote], ['NEW1']);
    const newInstance = (await readArchiveState(dataDir))!.instanceId;
    await fsp.rm(dataDir, { recursive: true });

    const r = await openRestore({ dataDir, config: { remotes: [remote] } }).fromLatest();
    expect(r.instanceId).toBe(newInstance);
    const d = await docs(dataDir);
    expect(d['NEW1']).toBeDefined();
    expect(d['K7']).toBeDefined();
    expect(d['K8']).toBeUndefined();
    expect(d['K9']).toBeUndefined();
  }, 60_000);

  it('a clone that ships beside an origin still writing is refused (USAGE naming both), and --instance restores the clone', async () => {
    const root = await tmp();
    const remote = await nas(root);
    const origin = path.join(root, 'origin');
    await writeShipped(origin, [remote], ['A0', 'A1', 'A2'], 3);
    await writeShipped(origin, [remote], ['B0']);
    const clone = path.join(root, 'clone');
    const cloned = await openRestore({ dataDir: origin, config: { remotes: [remote] } }).clone({ targetDir: clone });
    await writeShipped(clone, [remote], ['CLONE_ONLY']);
    await writeShipped(origin, [remote], ['ORIGIN_ONLY']);
    const originId = (await readArchiveState(origin))!.instanceId;
    await fsp.rm(clone, { recursive: true });

    const config = path.join(root, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
    const cli = await runCli(['restore', 'latest', '-d', clone, '-c', config]);
    expect(cli.stderr).toContain('[USAGE]');
    expect(cli.stderr).toContain(cloned.instanceId);
    expect(cli.stderr).toContain(originId);
    expect(cli.stderr).toContain('--instance');
    expect(cli.code, cli.stderr).toBe(2);
    expect(fs.existsSync(clone)).toBe(false);
    await expect(openRestore({ dataDir: clone, config: { remotes: [remote] } }).toTimestamp(Date.now() - 1)).rejects.toMatchObject({ code: 'USAGE' });

    const ok = await runCli(['restore', 'latest', '-d', clone, '-c', config, '--instance', cloned.instanceId!]);
    expect(ok.code, ok.stderr).toBe(0);
    const d = await docs(clone);
    expect(d['CLONE_ONLY']).toBeDefined();
    expect(d['ORIGIN_ONLY']).toBeUndefined();
  }, 60_000);
});

describe('a first-day database (shipped WAL, no archive) at a time', () => {
  it('past its last line: the end state with the data directory here and quiet; lost, TIMESTAMP_NOT_FOUND naming the shipped range and restore latest; before its first line: the empty state', async () => {
    const root = await tmp();
    const remote = await nas(root);
    const dataDir = path.join(root, 'data');
    const before = Date.now() - 1000;
    await writeShipped(dataDir, [remote], ['K0', 'K1', 'K2', 'K3']);
    await pause(20);
    const now = Date.now();
    const config = path.join(root, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));

    const show = await runCli(['archive', 'show', 'K1', '--at', String(now), '-d', dataDir, '-c', config]);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual({ k: 'K1' });
    const here = await runCli(['restore', 'to-timestamp', String(now), '-d', dataDir, '-c', config, '--target', path.join(root, 'r1')]);
    expect(here.code, here.stderr).toBe(0);
    expect(Object.keys(await docs(path.join(root, 'r1'))).sort()).toEqual(['K0', 'K1', 'K2', 'K3']);

    await fsp.rename(dataDir, path.join(root, 'lost'));
    const lost = await runCli(['restore', 'to-timestamp', String(now), '-d', dataDir, '-c', config]);
    expect(lost.stderr).toContain('[TIMESTAMP_NOT_FOUND]');
    expect(lost.stderr).toContain('shipped WAL on nas holds');
    expect(lost.stderr).toContain('lines 1..4');
    expect(lost.stderr).toContain('bri restore latest');
    expect(lost.code, lost.stderr).toBe(31);

    const empty = await openRestore({ dataDir, config: { remotes: [remote] } }).toTimestamp(before);
    expect(empty.linesRestored).toBe(0);
    expect(await docs(dataDir)).toEqual({});
  }, 60_000);
});

describe('restore latest in place while a remote holding more shipped lines is down', () => {
  it('starts a new instance (said in the plan), so that later writes and a later restore latest keep the new lines', async () => {
    const root = await tmp();
    const nas1 = await nas(root, 'nas1');
    const nas2 = await nas(root, 'nas2');
    const remotes = [nas1, nas2];
    const dataDir = path.join(root, 'data');
    await writeShipped(dataDir, remotes, ['A0', 'A1', 'A2', 'A3'], 4);
    await writeShipped(dataDir, remotes, ['B0', 'B1']);
    const oldId = (await readArchiveState(dataDir))!.instanceId;
    await fsp.rename(nas2.path, `${nas2.path}.off`);
    const db = await createDB({ storeConfig: { dataDir, archive: shipping(remotes) } });
    for (let i = 0; i < 4; i++) await db.set(`OLD${i}`, { i });
    await pause(200);
    // nas2 is down: its close says the lines did not reach it.
    await expect(db.close()).rejects.toMatchObject({ code: 'REMOTE_ERROR', details: { sources: ['nas2'] } });
    await fsp.rename(`${nas2.path}.off`, nas2.path);
    await fsp.rename(nas1.path, `${nas1.path}.off`);

    const r = await openRestore({ dataDir, config: { remotes } }).fromLatest({ force: true, cleanExisting: true });
    expect(r.instanceId).not.toBe(oldId);
    expect(r.plan.continuesChain).toBe(false);
    expect(r.plan.newInstanceBecause).toContain('nas1');
    expect(r.warnings).toContain(r.plan.newInstanceBecause);

    await fsp.rename(`${nas1.path}.off`, nas1.path);
    await writeShipped(dataDir, remotes, ['NEW0']);
    await fsp.rm(dataDir, { recursive: true });
    const again = await openRestore({ dataDir, config: { remotes } }).fromLatest();
    expect(again.instanceId).toBe(r.instanceId);
    const d = await docs(dataDir);
    expect(d['NEW0']).toBeDefined();
    expect(d['OLD0']).toBeUndefined();
  }, 60_000);
});
