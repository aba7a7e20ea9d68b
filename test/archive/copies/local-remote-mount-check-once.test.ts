/**
 * Whether a local remote's disk is mounted is asked once per upload run and remote: the check lists the store
 * and reads every upload record, and an upload run of a backlog asked it again for each archive (N x N reads).
 * A refusal is never kept: an unmounted store is refused for every archive of the run.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertLocalRemoteMounted } from '../../../src/archive/copies/catalog.js';
import { writeCopyRecord } from '../../../src/archive/copies/records.js';
import { createLocalRemote } from '../../../src/remote/local.js';
import type { RemoteStore } from '../../../src/remote/remote.js';
import type { RemoteSource } from '../../../src/archive/copies/sources.js';
import { remotePlace } from '../../../src/archive/copies/locations.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-mount-check-');

function countingLists(store: RemoteStore): { store: RemoteStore; lists: () => number } {
  let lists = 0;
  const counted = Object.create(store) as RemoteStore;
  counted.list = (...args: Parameters<RemoteStore['list']>) => {
    lists++;
    return store.list(...args);
  };
  return { store: counted, lists: () => lists };
}

async function nas(): Promise<{ remote: RemoteSource; lists: () => number; archiveDir: string }> {
  const dir = await tmp();
  const { store, lists } = countingLists(createLocalRemote({ path: dir }));
  return { remote: { name: 'nas', store, config: { provider: 'local', name: 'nas', path: dir } as RemoteSource['config'] }, lists, archiveDir: await tmp() };
}

describe('assertLocalRemoteMounted', () => {
  it('lists a mounted store once per run, whatever the number of archives the run uploads; each call without a run asks again', async () => {
    const { remote, lists, archiveDir } = await nas();
    const run = {};
    for (let i = 0; i < 5; i++) await assertLocalRemoteMounted(remote, archiveDir, run);
    expect(lists()).toBe(1);
    await assertLocalRemoteMounted(remote, archiveDir, {});
    expect(lists()).toBe(2);
    await assertLocalRemoteMounted(remote, archiveDir);
    await assertLocalRemoteMounted(remote, archiveDir);
    expect(lists()).toBe(4);
  });

  it('an unmounted store (a confirmed copy missing, no marker) is refused for every archive of the run, never remembered as mounted', async () => {
    const { remote, archiveDir } = await nas();
    const id = '20261206T120000000Z-aaaaaaaa';
    await writeCopyRecord(archiveDir, {
      version: 1,
      archiveId: id,
      source: 'nas',
      provider: 'local',
      location: 'x',
      place: remotePlace(remote.store.describe()),
      key: `archives/${id}.bri`,
      size: 10,
      sha256: '0'.repeat(64),
      checksum: { algorithm: 'sha256', value: '0'.repeat(64) },
      confirmedAt: new Date(Date.now() - 60_000).toISOString(),
    });
    const run = {};
    for (let i = 0; i < 3; i++) await expect(assertLocalRemoteMounted(remote, archiveDir, run)).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND', details: { notMounted: true } });
    await fsp.rm(path.join(archiveDir, '.copies'), { recursive: true });
    await assertLocalRemoteMounted(remote, archiveDir, run);
  });
});
