import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { makeTempDir } from '../../support/fixtures.js';
import { treeDigest } from '../../support/tree.js';
import { runCli } from '../../support/cli.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

async function setup(): Promise<{ root: string; dataDir: string; db: BriDB; archives: string[] }> {
  const root = await makeTempDir('bri-restore-');
  made.push(root);
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 4096 } });
  const archives: string[] = [];
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 50; i++) await db.set(`U_${round}_${i}`, { round, i });
    await db.sAdd('R', String(round));
    archives.push((await db.archive.create({ level: 1 })).archiveId);
  }
  return { root, dataDir, db, archives };
}

describe('restore', () => {
  it('refuses the open database directory, and restores there once it is closed (old data kept aside)', async () => {
    const { dataDir, db } = await setup();
    await expect(db.restore.fromLatest()).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: expect.stringContaining('open database') });
    const expected = toPlainState(db.state);
    await db.set('AFTER', { lost: true }); // not archived: the restore goes back to the archive
    await db.close();
    await expect(openRestore({ dataDir }).fromLatest()).rejects.toMatchObject({ code: 'RESTORE_ERROR', hint: expect.stringContaining('--force') });
    const result = await openRestore({ dataDir }).fromLatest({ force: true });
    expect(result.movedAside).toMatch(/data\.pre-restore-/);
    expect(fs.existsSync(path.join(result.movedAside!, 'wal'))).toBe(true);
    const reopened = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    expect(toPlainState(reopened.state)).toEqual(expected);
    // The chain goes on: the same instance, and the next archive follows the restored one.
    await reopened.set('NEXT', { n: 1 });
    const next = await reopened.archive.create({ level: 1 });
    const all = await reopened.archive.list();
    expect(next.manifest.timeRange.walLines.start).toBe(all[all.length - 2]!.manifest.timeRange.walLines.end);
    expect((await reopened.archive.stats()).gaps).toEqual([]);
    await reopened.close();
  });

  it('a dry run prints the plan and changes nothing', async () => {
    const { root, dataDir, db, archives } = await setup();
    await db.close();
    const target = path.join(root, 'target');
    await fsp.mkdir(target);
    await fsp.writeFile(path.join(target, 'keep.txt'), 'old');
    const before = await treeDigest(root);
    // A dry run answers what the real run would do: without force, a non-empty target is refused by both.
    await expect(openRestore({ dataDir }).fromLatest({ targetDir: target, dryRun: true })).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: expect.stringContaining('not empty') });
    const refused = await runCli(['restore', 'latest', '-d', dataDir, '--target', target, '--dry-run']);
    expect(refused.code).toBe(30);
    expect(refused.stderr).toContain('not empty');
    const result = await openRestore({ dataDir }).fromLatest({ targetDir: target, dryRun: true, force: true });
    expect(result.dryRun).toBe(true);
    expect(result.plan.archive!.manifest.archiveId).toBe(archives[1]);
    expect(result.plan.linesToReplay).toBe(51);
    expect(result.movedAside).toContain('target.pre-restore-');
    expect(await treeDigest(root)).toEqual(before);
    const cli = await runCli(['restore', 'latest', '-d', dataDir, '--target', target, '--dry-run', '--force', '--json']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).plan.archive.manifest.archiveId).toBe(archives[1]);
    expect(await treeDigest(root)).toEqual(before);
  });

  it('hooks fire in order with their arguments; a throwing hook aborts cleanly', async () => {
    const { root, db, archives } = await setup();
    const calls: string[] = [];
    const target = path.join(root, 'hooked');
    const result = await db.restore.from(archives[1]!, {
      targetDir: target,
      hooks: {
        beforeRestore: (plan) => void calls.push(`before:${plan.archive!.manifest.archiveId}`),
        afterSnapshotRestore: (info) => void calls.push(`snapshot:${info.walLine}:${info.documents}`),
        afterWalSegmentRestore: (info) => void calls.push(`segment:${info.segmentsDone}/${info.segmentsTotal}`),
        afterRestore: (r) => void calls.push(`after:${r.linesRestored}`),
        onError: () => void calls.push('error'),
      },
    });
    expect(calls[0]).toBe(`before:${archives[1]}`);
    expect(calls[1]).toBe('snapshot:51:50');
    expect(calls.filter((c) => c.startsWith('segment:')).length).toBeGreaterThan(0);
    expect(calls[calls.length - 1]).toBe(`after:${result.linesRestored}`);
    expect(calls).not.toContain('error');

    const target2 = path.join(root, 'aborted');
    await fsp.mkdir(target2);
    await fsp.writeFile(path.join(target2, 'keep.txt'), 'old');
    const before = await treeDigest(root);
    const errors: unknown[] = [];
    await expect(
      db.restore.fromLatest({
        targetDir: target2,
        force: true,
        hooks: {
          afterWalSegmentRestore: () => {
            throw new Error('no thanks');
          },
          onError: (e) => void errors.push(e),
        },
      }),
    ).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: expect.stringContaining('no thanks') });
    expect(errors).toHaveLength(1);
    expect(await treeDigest(root)).toEqual(before);
    // A hook that throws after the swap is reported, the restore stands.
    const done = await db.restore.fromLatest({ targetDir: path.join(root, 'late'), hooks: { afterRestore: () => { throw new Error('late hook'); } } });
    expect(done.hookErrors).toEqual(['afterRestore: late hook']);
    await db.close();
  });

  it('clone: another directory, a new instance id, the source untouched', async () => {
    const { root, dataDir, db, archives } = await setup();
    const sourceBefore = await treeDigest(path.join(dataDir, 'wal'));
    const target = path.join(root, 'clone');
    // The dry run says what the clone will be: a new instance, the chain forked (for the latest state too).
    for (const latest of [false, true]) {
      const dry = await db.restore.clone({ ...(latest ? {} : { archiveId: archives[0]! }), targetDir: target, dryRun: true, newInstanceId: 'staging' });
      expect([dry.instanceId, dry.plan.continuesChain]).toEqual(['staging', false]);
    }
    const result = await db.restore.clone({ archiveId: archives[0]!, targetDir: target });
    expect(result.instanceId).not.toBe(result.plan.instanceId);
    expect((await readArchiveState(target))!.instanceId).toBe(result.instanceId);
    const rec = await recover(target);
    expect(rec.state.documents.size).toBe(50);
    expect(await treeDigest(path.join(dataDir, 'wal'))).toEqual(sourceBefore);
    await expect(db.restore.clone({ targetDir: dataDir })).rejects.toMatchObject({ code: 'USAGE' });
    // The clone archives on its own chain.
    const clone = await createDB({ storeConfig: { dataDir: target, snapshotOnClose: false } });
    await clone.set('C', { c: 1 });
    const a = await clone.archive.create({ level: 1 });
    expect(a.manifest.instanceId).toBe(result.instanceId);
    // The clone holds every line from line 1, so its own chain starts from the empty state.
    expect(a.manifest.timeRange.walLines).toEqual({ start: 0, end: 52 });
    expect((await clone.archive.verify(a.archiveId)).ok).toBe(true);
    await clone.close();
    await db.close();
  });

  it('bri restore end to end: list, info, to-timestamp, verify with --json', async () => {
    const { root, dataDir, db, archives } = await setup();
    const mid = (await db.archive.get(archives[1]!)).manifest.timeRange.start.getTime();
    await db.close();
    const list = await runCli(['restore', 'list', '-d', dataDir, '--json']);
    expect(list.code).toBe(0);
    const parsed = JSON.parse(list.stdout);
    expect(parsed.archives).toHaveLength(2);
    expect(parsed.ranges).toHaveLength(1);
    const human = await runCli(['restore', 'list', '-d', dataDir]);
    expect(human.stdout).toMatch(/restorable:\n\s+local: .*archives .* \.\. .*\(lines 1\.\.102, 2 archives\)/);
    const info = await runCli(['restore', 'info', archives[0]!, '-d', dataDir, '--json']);
    expect(JSON.parse(info.stdout).linesToReplay).toBe(51);
    const target = path.join(root, 'pitr');
    const res = await runCli(['restore', 'to-timestamp', new Date(mid).toISOString(), '-d', dataDir, '--target', target, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).documents).toBe(50);
    const missing = await runCli(['restore', 'to-timestamp', '2001-01-01T00:00:00Z', '-d', dataDir, '--target', path.join(root, 'x'), '--json']);
    expect(missing.code).toBe(31);
    expect(JSON.parse(missing.stderr).error.code).toBe('TIMESTAMP_NOT_FOUND');
    const verify = await runCli(['restore', 'verify', archives[0]!, '-d', dataDir, '--json']);
    expect(JSON.parse(verify.stdout).ok).toBe(true);
  });
});
