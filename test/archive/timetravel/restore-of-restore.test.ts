/**
 * Two bad migrations in a row: a database restored in place to an earlier moment, which writes and
 * archives, then restored in place again. Its history now passes through three instances: the first up to
 * where the second began, the second up to where the third began, then its own. A moment before the first
 * restore was TIMESTAMP_NOT_FOUND for `read`, `diff`, `findForTimestamp` and a restore, naming the second
 * instance (which does not hold it either); a history listed those lines as "in no archive". They are
 * answered from the first instance's archives, and a clone of a clone reaches back the same way. The
 * instance between, named with --instance, answers along its own timeline: the first one's history up to
 * where it began, then its own.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { momentBetweenWrites } from '../../support/moments.js';

const tmp = useTempDirs('bri-tt-restore-of-restore-');
const moment = momentBetweenWrites;
const config = { compression: { level: 1 } };
const open = (dataDir: string) => createDB({ storeConfig: { dataDir, archive: config } });

async function restoreInPlace(dataDir: string, at: number): Promise<void> {
  const back = openRestore({ dataDir });
  await back.toTimestamp(at, { force: true }).finally(() => back.close());
}

/** Three instances, A then B then C, each restored in place from the one before: the moments of each, and the ids. */
async function twoRollbacks(dataDir: string, archiveC: boolean) {
  let db = await open(dataDir);
  await db.set('K', { v: 1 });
  await db.set('J', { j: 1 });
  const t1 = await moment();
  await db.set('K', { v: 11 });
  await db.archive.create();
  const f1 = await moment();
  await db.set('K', { v: 2 }); // cut away by the first restore
  await db.archive.create();
  await db.close();
  const A = (await readArchiveState(dataDir))!.instanceId;
  await restoreInPlace(dataDir, f1);
  db = await open(dataDir);
  await db.set('K', { v: 3 });
  await db.delete('J');
  const t3 = await moment();
  await db.set('K', { v: 33 });
  await db.archive.create();
  const f2 = await moment();
  await db.set('K', { v: 4 }); // cut away by the second restore
  await db.archive.create();
  await db.close();
  const B = (await readArchiveState(dataDir))!.instanceId;
  await restoreInPlace(dataDir, f2);
  db = await open(dataDir);
  await db.set('K', { v: 5 });
  if (archiveC) await db.archive.create();
  return { db, A, B, t1, t3 };
}

async function expectWhole(db: BriDB, t1: number, t3: number): Promise<void> {
  expect((await db.archive.read('K', { at: t1 })).document).toBe('{"v":1}');
  expect((await db.archive.read('J', { at: t1 })).exists).toBe(true);
  expect((await db.archive.read('K', { at: t3 })).document).toBe('{"v":3}');
  expect((await db.archive.read('J', { at: t3 })).exists).toBe(false);
  // Each state read along the directory's own history: never the cut-away K 2 at t3.
  expect(await db.restore.diff({ at: t1, to: t3 })).toMatchObject({ added: [], changed: ['K'], removed: ['J'] });
  expect(await db.restore.diff({ at: t1 })).toMatchObject({ added: [], changed: ['K'], removed: ['J'] });
  const h = await db.archive.history('K');
  expect(h.missing).toEqual([]);
  expect(h.entries.map((e) => [e.line, e.value])).toEqual([
    [1, '{"v":1}'],
    [3, '{"v":11}'],
    [4, '{"v":3}'],
    [6, '{"v":33}'],
    [7, '{"v":5}'],
  ]);
  expect((await db.archive.history('J')).entries.map((e) => [e.line, e.action])).toEqual([
    [2, 'SET'],
    [5, 'DELETE'],
  ]);
}

describe('a restore of a restore', () => {
  it('answers a moment before the first restore from the first instance, through the one between', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const { db, A, B, t1, t3 } = await twoRollbacks(dataDir, true);
    try {
      await expectWhole(db, t1, t3);
      expect((await db.restore.findForTimestamp(t1)).manifest.instanceId).toBe(A);
      expect((await db.restore.findForTimestamp(t3)).manifest.instanceId).toBe(B);
      // Named, the instance between answers along its own timeline: the first one's lines up to where it
      // began, then its own, the K 4 the second restore cut away included.
      expect((await db.archive.read('K', { at: t1, instanceId: B })).document).toBe('{"v":1}');
      const hB = await db.archive.history('K', { instanceId: B });
      expect(hB.missing).toEqual([]);
      expect(hB.entries.map((e) => e.value)).toEqual(['{"v":1}', '{"v":11}', '{"v":3}', '{"v":33}', '{"v":4}']);
      const named = await db.restore.toTimestamp(t1, { instanceId: B, targetDir: path.join(path.dirname(dataDir), 'named'), dryRun: true });
      expect(named.warnings.join('\n')).toContain(`before instance ${B} began: restored from instance ${A}`);
    } finally {
      await db.close();
    }
    const back = openRestore({ dataDir });
    try {
      const dry = await back.toTimestamp(t1, { dryRun: true, force: true });
      expect(dry.warnings.join('\n')).toContain(`restored from instance ${A}, whose history it shares`);
      await back.toTimestamp(t1, { force: true });
    } finally {
      await back.close();
    }
    const after = await open(dataDir);
    try {
      expect([after.get('K'), after.get('J')]).toEqual([{ v: 1 }, { j: 1 }]);
    } finally {
      await after.close();
    }
  }, 120_000);

  it('answers the same before the newest instance archived anything', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const { db, t1, t3 } = await twoRollbacks(dataDir, false);
    try {
      await expectWhole(db, t1, t3);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('keeps the way back through a later restore of the newest state, which rewrites the record of where the instance began', async () => {
    const dataDir = path.join(await tmp(), 'data');
    let db = await open(dataDir);
    await db.set('K', { v: 1 });
    const t1 = await moment();
    await db.set('K', { v: 11 });
    await db.archive.create();
    const f1 = await moment();
    await db.set('K', { v: 2 }); // cut away
    await db.archive.create();
    await db.close();
    const A = (await readArchiveState(dataDir))!.instanceId;
    await restoreInPlace(dataDir, f1);
    db = await open(dataDir);
    await db.set('K', { v: 3 });
    await db.archive.create();
    await db.close();
    // The newest state of the instance, in place: its chain goes on, and its record no longer has its origin.
    const latest = openRestore({ dataDir });
    await latest.fromLatest({ force: true }).finally(() => latest.close());
    expect((await readArchiveState(dataDir))!.origin).toBeUndefined();
    db = await open(dataDir);
    try {
      await db.set('K', { v: 4 });
      await db.archive.create();
      expect((await db.archive.read('K', { at: t1 })).document).toBe('{"v":1}');
      expect((await db.restore.findForTimestamp(t1)).manifest.instanceId).toBe(A);
      const h = await db.archive.history('K');
      expect(h.missing).toEqual([]);
      expect(h.entries.map((e) => e.value)).toEqual(['{"v":1}', '{"v":11}', '{"v":3}', '{"v":4}']);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('a restore to an earlier moment of an archive starting at line 0, written since and not archived, restores a moment up to the one it was asked for from the instance it came from', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    let db = await open(dataDir);
    await db.set('K', { v: 1 });
    const t0 = await moment();
    await db.set('J', { j: 1 });
    const f = await moment();
    await db.set('K', { v: 2 });
    await db.archive.create();
    await db.close();
    const A = (await readArchiveState(dataDir))!.instanceId;
    // Restored from the first archive (line 0 on): the directory records no origin, only the last line it took.
    await restoreInPlace(dataDir, f);
    expect((await readArchiveState(dataDir))!.origin).toBeUndefined();
    db = await open(dataDir);
    await db.set('K', { v: 9 });
    await db.close();
    const back = openRestore({ dataDir });
    try {
      const r = await back.toTimestamp(t0, { targetDir: path.join(root, 'at-t0') });
      expect(r.instanceId).not.toBe(A);
      // The moment that restore was asked for, after the last line it took: no line of either instance is between.
      await back.toTimestamp(f, { targetDir: path.join(root, 'at-f') });
      // Past the lines it took from A, its own lines are in its WAL only: refused, with the way on.
      await expect(back.toTimestamp(Date.now(), { targetDir: path.join(root, 'now') })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
    } finally {
      await back.close();
    }
    const check = await open(path.join(root, 'at-t0'));
    expect([check.get('K'), check.get('J')]).toEqual([{ v: 1 }, undefined]);
    await check.close();
    const atF = await open(path.join(root, 'at-f'));
    expect([atF.get('K'), atF.get('J')]).toEqual([{ v: 1 }, { j: 1 }]);
    await atF.close();
  }, 120_000);

  // (A clone records where its archive's starting state is: a clone of a clone began on the first database's
  // chain, as the first clone did. The whole lifecycle is kept here beside the restores of restores.)
  it('a clone of a clone answers and restores a moment before the first clone began, through the CLI', async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const cfg = path.join(root, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive: { remotes: [remote] } }));
    const withRemote = (dataDir: string) => createDB({ storeConfig: { dataDir, archive: { remotes: [remote], compression: { level: 1 } } } });
    const p = path.join(root, 'p');
    let db = await withRemote(p);
    await db.set('K', { v: 1 });
    const t1 = await moment();
    await db.archive.create();
    await db.set('K', { v: 2 });
    await db.archive.create();
    await db.set('K', { v: 22 });
    await db.archive.create();
    await db.close();
    const pId = (await readArchiveState(p))!.instanceId;
    // Each clone starts from the newest archive (lines 2..), after t1, and archives its own line.
    const c1 = path.join(root, 'c1');
    expect((await runCli(['restore', 'clone', '-d', p, '-c', cfg, '--target', c1])).code).toBe(0);
    db = await withRemote(c1);
    await db.set('K', { v: 3 });
    await db.archive.create();
    await db.close();
    const c2 = path.join(root, 'c2');
    expect((await runCli(['restore', 'clone', '-d', c1, '-c', cfg, '--target', c2])).code).toBe(0);
    db = await withRemote(c2);
    await db.set('K', { v: 4 });
    await db.archive.create();
    await db.close();

    const show = await runCli(['archive', 'show', 'K', '--at', String(t1), '-d', c2, '-c', cfg, '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ exists: true, document: '{"v":1}' });
    const history = await runCli(['archive', 'history', 'K', '-d', c2, '-c', cfg, '--json']);
    expect(history.code, history.stderr).toBe(0);
    const h = JSON.parse(history.stdout) as { entries: Array<{ line: number; value: unknown }>; missing?: unknown[] };
    expect(h.missing).toBeUndefined();
    expect(h.entries.map((e) => [e.line, e.value])).toEqual([1, 2, 22, 3, 4].map((v, i) => [i + 1, `{"v":${v}}`]));
    const x = path.join(root, 'x');
    const r = await runCli(['restore', 'to-timestamp', String(t1), '-d', c2, '-c', cfg, '--target', x, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { warnings: string[] }).warnings.join('\n')).toContain(`restored from instance ${pId}, whose history it shares`);
    const check = await createDB({ storeConfig: { dataDir: x } });
    expect(check.get('K')).toEqual({ v: 1 });
    await check.close();
  }, 120_000);
});
