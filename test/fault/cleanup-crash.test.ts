/**
 * Archive, upload and WAL cleanup SIGKILLed at random points, 32 runs over one
 * data directory that keeps growing (CLEANUP_CRASH_SEED replays a run). Half
 * the kills land exactly at a step (the child blocks there: after the seal,
 * during the upload, after the cleanup journal, between the snapshot commit
 * and the segment removal, between removals...), half at a random moment of
 * the job. After each kill the database reopens to exactly the state its
 * acknowledged writes gave; at the end every stamped instant from the first
 * archive's start to the last archive's end restores to the state it had,
 * the archives chain with no gap, and wal/ holds only what is not archived.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { collectLines, prng, spawnTs, waitExit } from '../support/child.js';
import { makeTempDir, normalizeState } from '../support/fixtures.js';
import type { ChildProcess } from 'node:child_process';

const RUNS = 32;
const OPS = 60;
const STEPS = [
  'prepare',
  'wal',
  'package',
  'recovery',
  'done',
  'upload-start',
  'upload-done',
  'cleanup-journal-written',
  'cleanup-snapshot-committed',
  'cleanup-offset-raised',
  'cleanup-segment-removed',
];
const SEED = Number(process.env.CLEANUP_CRASH_SEED ?? Date.now() % 100_000);
const CHILD = path.join(import.meta.dirname, 'children', 'cleaner.ts');

const made: string[] = [];
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

const digestOf = (state: ReturnType<typeof toPlainState>) => createHash('sha256').update(JSON.stringify(normalizeState(state))).digest('hex');

interface RunOutcome {
  stamp: { t: number; digest: string } | null;
  steps: string[];
  killed: boolean;
}

async function runChild(dataDir: string, nas: string, run: number, rand: () => number, pauseAt: string | null): Promise<RunOutcome> {
  const child = spawnTs(CHILD, [dataDir, nas, String(run), String(OPS), String(SEED)], pauseAt ? { PAUSE_AT: pauseAt } : {});
  children.add(child);
  const out: RunOutcome = { stamp: null, steps: [], killed: false };
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const randomDelay = 5 + rand() * 250;
  collectLines(child, (line) => {
    const [word, a, b] = line.split(' ');
    if (word === 'stamp') {
      out.stamp = { t: Number(a), digest: b! };
      // The random kill: some time into the archive job.
      if (!pauseAt) setTimeout(() => child.kill('SIGKILL'), randomDelay);
    } else if (word === 'step') out.steps.push(a!);
    else if (word === 'paused') child.kill('SIGKILL');
  });
  const exit = await waitExit(child);
  children.delete(child);
  out.killed = exit.signal === 'SIGKILL';
  if (!out.killed && exit.code !== 0) throw new Error(`run ${run} (pause at ${pauseAt ?? 'random'}) failed (${exit.code}) after steps ${out.steps.join(',')}: ${stderr}`);
  if (!out.stamp) throw new Error(`child died before its writes were done: ${stderr}`);
  return out;
}

describe(`archive + cleanup killed at random points (seed ${SEED})`, () => {
  it(`after each of ${RUNS} kills the database reopens to its acknowledged writes; every archived instant still restores`, async () => {
    const root = await makeTempDir('bri-cleanup-crash-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const rand = prng(SEED);
    const stamps: Array<{ t: number; digest: string }> = [];
    const killedAt = new Map<string, number>();
    let kills = 0;
    for (let run = 0; run < RUNS; run++) {
      // Every other run stops at a chosen step; the step list is walked so that each gets kills.
      const pauseAt = run % 2 === 0 ? STEPS[(run / 2) % STEPS.length]! : null;
      const o = await runChild(dataDir, nas, run, rand, pauseAt);
      stamps.push(o.stamp!);
      if (o.killed) {
        kills++;
        const where = pauseAt ?? `random after ${o.steps.at(-1) ?? 'stamp'}`;
        killedAt.set(where, (killedAt.get(where) ?? 0) + 1);
      }
      // Exactly the acknowledged writes, whatever the kill interrupted.
      const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
      try {
        expect(digestOf(toPlainState(db.state)), `run ${run}, killed at ${pauseAt ?? 'random'} after steps ${o.steps.join(',')}`).toBe(o.stamp!.digest);
      } finally {
        await db.close();
      }
    }
    expect(kills).toBeGreaterThanOrEqual(RUNS / 2 + 4);
    for (const s of STEPS) expect(killedAt.get(s) ?? 0, `kills at ${s}`).toBeGreaterThan(0);

    // A last run that is not killed archives what is left.
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1536, snapshotOnClose: false, archive: { cleanupWal: true, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    let archives;
    try {
      const last = await db.archive.create().catch((e: { code?: string }) => (e.code === 'NOTHING_TO_ARCHIVE' ? null : Promise.reject(e)));
      if (last?.cleanup && 'error' in last.cleanup) throw last.cleanup.error;
      expect((await db.archive.stats()).gaps).toEqual([]);
      archives = await db.archive.list();
      for (const a of archives) expect(await db.archive.isStoredEverywhere(a.manifest.archiveId)).toBe(true);
      // Everything is archived and stored everywhere: wal/ keeps only the segment being written.
      expect((await fsp.readdir(path.join(dataDir, 'wal'))).length).toBeLessThanOrEqual(2);
      expect(archives[0]!.manifest.timeRange.walLines.start).toBe(0);
    } finally {
      await db.close();
    }

    // Every stamped instant restores to the state it had, from the local archives and from the NAS alone.
    const end = archives.at(-1)!.manifest.timeRange.sealedAt.getTime();
    let checked = 0;
    for (const [i, s] of stamps.entries()) {
      if (s.t > end) continue;
      const target = path.join(root, `pitr-${i}`);
      const source = i % 2 === 0 ? {} : { config: { remotes: [{ provider: 'local', name: 'nas', path: nas }], restoreSources: ['nas'] } };
      await openRestore({ dataDir, ...source }).toTimestamp(s.t, { targetDir: target });
      expect(digestOf(toPlainState((await recover(target)).state)), `instant ${i} (${new Date(s.t).toISOString()})`).toBe(s.digest);
      await fsp.rm(target, { recursive: true, force: true });
      checked++;
    }
    expect(checked).toBe(RUNS);
  }, 600_000);
});
