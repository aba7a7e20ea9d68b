/**
 * A restore of the newest state to another directory (a restore drill, a staging copy) while the data
 * directory still holds that instance kept the instance id: two directories then wrote one chain. Once
 * the copy archived to the shared remote, the original's next create was refused ("another directory
 * archives this instance"), its hint to restore it from the remotes would have put the copy's lines over
 * its own, and its newest lines could not be archived. The copy is now a new instance, said among the
 * warnings; both go on archiving, and each restores to its own state. With the original gone (a lost
 * disk), the restore still carries the chain on.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-copy-beside-');

async function writeAndArchive(dataDir: string, remote: RemoteConfig, key: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [remote], compression: { level: 1 } } } });
  try {
    await db.set(key, { v: 1 });
    const made = await db.archive.create();
    expect(made.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
  } finally {
    await db.close();
  }
}

describe('a restore elsewhere beside its original', () => {
  it('is a new instance, said; the original and the copy both archive to one remote and each restores to its own state', async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const config = path.join(root, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
    const prod = path.join(root, 'prod');
    await writeAndArchive(prod, remote, 'A');
    const id = (await readArchiveState(prod))!.instanceId;

    const drill = path.join(root, 'drill');
    const dry = await runCli(['restore', 'latest', '-d', prod, '-c', config, '--target', drill, '--dry-run']);
    expect(dry.stdout).toContain('forks: the result gets a new instance id');
    const r = await runCli(['restore', 'latest', '-d', prod, '-c', config, '--target', drill, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { instanceId: string; newInstance: boolean; warnings: string[] };
    expect(result.newInstance).toBe(true);
    expect(result.instanceId).not.toBe(id);
    expect(result.warnings.join('\n')).toContain(`${prod} still holds instance ${id}`);

    // The copy writes and archives first, then the original: neither is refused.
    await writeAndArchive(drill, remote, 'X');
    await writeAndArchive(prod, remote, 'P');
    for (const [dir, keys] of [[prod, ['A', 'P']], [drill, ['A', 'X']]] as const) {
      const back = path.join(root, `${path.basename(dir)}-back`);
      const again = await runCli(['restore', 'latest', '-d', dir, '-c', config, '--target', back]);
      expect(again.code, again.stderr).toBe(0);
      const dump = JSON.parse((await runCli(['data', 'dump', '-d', back])).stdout) as { documents: object };
      expect(Object.keys(dump.documents).sort()).toEqual(keys);
    }
  }, 120_000);

  it('carries the chain on when the original is gone (a lost disk), and in place', async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const prod = path.join(root, 'prod');
    await writeAndArchive(prod, remote, 'A');
    const id = (await readArchiveState(prod))!.instanceId;
    fs.rmSync(prod, { recursive: true });
    const api = openRestore({ dataDir: prod, config: { remotes: [remote] } });
    try {
      const moved = await api.fromLatest({ targetDir: path.join(root, 'new-disk') });
      expect([moved.instanceId, moved.newInstance, moved.warnings]).toEqual([id, false, []]);
      const inPlace = await api.fromLatest();
      expect([inPlace.instanceId, inPlace.newInstance]).toEqual([id, false]);
    } finally {
      await api.close();
    }
    // The machine restored in place goes on with the chain.
    await writeAndArchive(prod, remote, 'B');
    expect((await readArchiveState(prod))!.instanceId).toBe(id);
  }, 120_000);
});
