/**
 * A database whose WAL does not start at line 1 (a clone, a restore in place to an archive's edge) ships
 * nothing until its first archive, which is made at once when shipping starts. A flushShipping() called
 * right after the first writes, while that archive is still being made, failed with REMOTE_ERROR "no
 * archive there to continue yet", though the archive under way was about to put the lines there. The
 * flush waits for it, resolves, and the lines are then on the remote: a restore from the remote alone
 * (the machine lost) gives every write acknowledged before the flush.
 *
 * And with the remote down when the database opened, that first archive was made locally, its upload
 * failed, and shipping then waited for the next archive (with no schedule, forever), showing the remote's
 * old error after it was back. Now the local archive is uploaded as soon as the remote answers, and
 * shipping goes on by itself. A remote added to the configuration of a database whose WAL was cleaned
 * (so it needs an archive to continue) is the same: the flush waits for the archive it is sent.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-flush-first-archive-');

/** A database with two archives (no remote); the moment between them, where the second one starts. */
async function twoArchives(dataDir: string): Promise<{ second: string; between: number }> {
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  try {
    for (let i = 0; i < 10; i++) await db.set(`A_${i}`, { i });
    await db.archive.create();
    await new Promise((r) => setTimeout(r, 5));
    const between = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 10; i++) await db.set(`B_${i}`, { i });
    const second = await db.archive.create();
    return { second: second.archiveId, between };
  } finally {
    await db.close();
  }
}

/** A clone (in `root`/clone) of the second of two archives: its WAL starts past line 1. */
async function cloneOfSecond(root: string): Promise<string> {
  const dataDir = path.join(root, 'data');
  const { second } = await twoArchives(dataDir);
  const clone = path.join(root, 'clone');
  await openRestore({ dataDir }).clone({ archiveId: second, targetDir: clone });
  return clone;
}

/**
 * Opens `dataDir` with shipping to a local remote, writes, flushes at once; then loses it and restores from
 * the remote alone. `down`: the remote's folder is missing at the open, and made before the flush.
 */
async function flushAtOnceThenLose(root: string, dataDir: string, down = false): Promise<void> {
  const nas = path.join(root, 'nas');
  if (!down) await fsp.mkdir(nas);
  const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
  const db = await createDB({ storeConfig: { dataDir, archive: { remotes, continuous: { enabled: true, intervalMs: 50 }, compression: { level: 1 } } } });
  let expected;
  try {
    for (let i = 0; i < 10; i++) await db.set(`C_${i}`, { i });
    if (down) {
      await db.archive.idle();
      expect(db.archive.shippingStatus()[0]).toMatchObject({ shippedThrough: null, state: 'waiting-for-archive' });
      await fsp.mkdir(nas);
      // Shipping goes on by itself once the remote answers: the local first archive is uploaded, then the lines after it ship.
      const deadline = Date.now() + 20_000;
      while (db.archive.shippingStatus()[0]!.lagLines > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(db.archive.shippingStatus()[0]).toMatchObject({ lagLines: 0, lastError: null, state: 'idle' });
      for (let i = 0; i < 10; i++) await db.set(`D_${i}`, { i });
    }
    await db.archive.flushShipping();
    expect(db.archive.shippingStatus()[0]).toMatchObject({ lagLines: 0, lastError: null });
    expected = toPlainState(db.state);
  } finally {
    await db.close();
  }
  await fsp.rm(dataDir, { recursive: true, force: true });
  const target = path.join(root, 'restored');
  await openRestore({ dataDir: target, config: { remotes } }).fromLatest();
  expect(toPlainState((await recover(target)).state)).toEqual(expected);
}

describe('flushShipping before the first archive of a database whose WAL does not start at line 1', () => {
  it('a clone: the flush waits for the first archive and the writes are on the remote', async () => {
    const root = await tmp();
    await flushAtOnceThenLose(root, await cloneOfSecond(root));
  }, 60_000);

  it('a restore in place to the edge of an archive: the same', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const { between } = await twoArchives(dataDir);
    const back = openRestore({ dataDir });
    await back.toTimestamp(between, { force: true }).finally(() => back.close());
    await flushAtOnceThenLose(root, dataDir);
  }, 60_000);

  it('a clone whose remote is down at the open: its first archive is uploaded once the remote is back, and shipping goes on', async () => {
    const root = await tmp();
    await flushAtOnceThenLose(root, await cloneOfSecond(root), true);
  }, 60_000);

  it('a remote added to a database whose WAL was cleaned: the flush waits for the archive it is sent, and a restore from it alone is whole', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const [first, added] = [path.join(root, 'first'), path.join(root, 'added')];
    await Promise.all([fsp.mkdir(first), fsp.mkdir(added)]);
    const archive = (remotes: Array<{ provider: 'local'; name: string; path: string }>) => ({ remotes, continuous: { enabled: true, intervalMs: 50 }, cleanupWal: true, keepLocal: 1, compression: { level: 1 } });
    const one = { provider: 'local' as const, name: 'first', path: first };
    const two = { provider: 'local' as const, name: 'added', path: added };
    let db = await createDB({ storeConfig: { dataDir, archive: archive([one]) } });
    for (let i = 0; i < 3; i++) {
      await db.set(`A_${i}`, { i });
      await db.archive.create();
    }
    await db.close();
    db = await createDB({ storeConfig: { dataDir, archive: archive([one, two]) } });
    let expected;
    try {
      await db.set('N', { n: 1 });
      await db.archive.flushShipping();
      expect(db.archive.shippingStatus().map((s) => [s.source, s.lagLines, s.lastError])).toEqual([
        ['first', 0, null],
        ['added', 0, null],
      ]);
      expected = toPlainState(db.state);
    } finally {
      await db.close();
    }
    const target = path.join(root, 'restored');
    await openRestore({ dataDir: target, config: { remotes: [two] } }).fromLatest();
    expect(toPlainState((await recover(target)).state)).toEqual(expected);
  }, 60_000);

  it('a new database (its WAL from line 1 needs no archive to ship) whose remote is down: the flush fails and makes no archive', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const remotes = [{ provider: 'local' as const, name: 'nas', path: path.join(root, 'nas') }];
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes, continuous: { enabled: true, intervalMs: 50 }, compression: { level: 1 } } } });
    const runs: string[] = [];
    db.archive.on('started', (r) => runs.push(r.reason));
    try {
      await db.set('A', { a: 1 });
      await expect(db.archive.flushShipping()).rejects.toMatchObject({ code: 'REMOTE_ERROR' });
      await db.archive.idle();
      expect(runs).toEqual([]);
      expect(await db.archive.list()).toEqual([]);
    } finally {
      await db.close().catch(() => undefined);
    }
  }, 60_000);
});
