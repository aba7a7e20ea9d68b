/**
 * A restore that nobody told which instance to take (no --instance, the data directory lost) takes the
 * newest archive's only when the sources hold one database: two databases sharing a remote (README: a
 * bucket and prefix may be shared) are refused with USAGE naming each instance and --instance, never the
 * other database's newest state restored with exit 0. An instance a restore in place started continues
 * its database: it stays automatic. A clone archiving beside its origin is two branches: refused too.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { toPlainState } from '../../../src/format/state.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-instances-');
const pause = () => new Promise((res) => setTimeout(res, 15));

/** A database archiving to `remote` (its own archive directory inside it), `keys` written, then archived. */
async function archived(dataDir: string, remote: RemoteConfig, keys: string[]): Promise<string> {
  const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [remote], compression: { level: 1 } } } });
  try {
    for (const k of keys) await db.set(k, { k });
    await db.archive.create();
  } finally {
    await db.close();
  }
  await pause();
  return (await readArchiveState(dataDir))!.instanceId;
}

const keysOf = async (dir: string) => Object.keys(toPlainState((await recover(dir)).state).documents).sort();

describe('restore with no instance named', () => {
  it('refuses (USAGE, exit 2) when the remote holds two databases\' archives, naming each instance; --instance restores the one named', async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const a = path.join(root, 'A');
    const idA = await archived(a, remote, ['A1', 'A2', 'A3']);
    const idB = await archived(path.join(root, 'B'), remote, ['B1', 'B2']);
    await fsp.rm(a, { recursive: true });
    const config = path.join(root, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
    const cli = await runCli(['restore', 'latest', '-d', a, '-c', config]);
    expect(cli.stderr).toContain('[USAGE]');
    expect(cli.stderr).toContain(idA);
    expect(cli.stderr).toContain(idB);
    expect(cli.stderr).toContain('--instance');
    expect(cli.code, cli.stderr).toBe(2);
    expect(fs.existsSync(a)).toBe(false);
    const api = openRestore({ dataDir: a, config: { remotes: [remote] } });
    try {
      await expect(api.plan({ kind: 'latest' })).rejects.toMatchObject({ code: 'USAGE', details: { instances: [{ instanceId: idB }, { instanceId: idA }] } });
      await expect(api.findForTimestamp(Date.now())).rejects.toMatchObject({ code: 'USAGE' });
      const named = await runCli(['restore', 'latest', '-d', a, '-c', config, '--instance', idA]);
      expect(named.code, named.stderr).toBe(0);
      expect(await keysOf(a)).toEqual(['A1', 'A2', 'A3']);
    } finally {
      await api.close();
    }
  }, 120_000);

  for (const [cut, kept] of [['before the second archive\'s first line', ['K1', 'K2']], ['inside the second archive', ['K1', 'K2', 'K3']]] as const) {
    it(`takes the newest instance of one database: one a restore in place started continues it (restored to ${cut})`, async () => {
      const root = await tmp();
      const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
      await fsp.mkdir(remote.path);
      const dir = path.join(root, 'data');
      const first = await archived(dir, remote, ['K1', 'K2']);
      const before = Date.now();
      await pause();
      const db = await createDB({ storeConfig: { dataDir: dir, archive: { remotes: [remote], compression: { level: 1 } } } });
      await db.set('K3', {});
      await pause();
      const inside = Date.now();
      await pause();
      await db.set('K4', {});
      await db.archive.create();
      await db.close();
      // Back in place: a new instance, whose first archive starts where the restore did.
      const back = openRestore({ dataDir: dir, config: { remotes: [remote] } });
      await back.toTimestamp(kept.length === 2 ? before : inside, { force: true, cleanExisting: true });
      await back.close();
      const second = await archived(dir, remote, ['K5']);
      expect(second).not.toBe(first);
      await fsp.rm(dir, { recursive: true });
      const api = openRestore({ dataDir: dir, config: { remotes: [remote] } });
      try {
        const done = await api.fromLatest();
        expect(done.plan.instanceId).toBe(second);
        expect(await keysOf(dir)).toEqual([...kept, 'K5']);
      } finally {
        await api.close();
      }
    }, 120_000);
  }

  it('refuses a clone that archives beside its origin, both going on', async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const prod = path.join(root, 'prod');
    await archived(prod, remote, ['P1', 'P2']);
    const cloner = openRestore({ dataDir: prod, config: { remotes: [remote] } });
    const staging = path.join(root, 'staging');
    await cloner.clone({ targetDir: staging });
    await cloner.close();
    await archived(staging, remote, ['S1']);
    await archived(prod, remote, ['P3']);
    const lost = path.join(root, 'lost');
    const api = openRestore({ dataDir: lost, config: { remotes: [remote] } });
    try {
      await expect(api.fromLatest()).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('branches of one database') });
      expect(fs.existsSync(lost)).toBe(false);
    } finally {
      await api.close();
    }
  }, 120_000);
});
