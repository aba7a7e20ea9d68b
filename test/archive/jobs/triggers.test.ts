/**
 * Triggers: each fires under its condition and not otherwise. Cron and
 * interval run on a fake clock; WAL entries, size and segments on real writes
 * to a real database. Runs never overlap (coalesced into one follow-up), a
 * failed run is retried by the next trigger with nothing lost, and close()
 * waits for a run in progress.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveScheduler, type TriggerReason, type WalGrowth } from '../../../src/archive/jobs/scheduler.js';
import { createDB, type BriDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { replayArchive } from '../../../src/archive/package/replay.js';
import { FakeClock } from '../../support/fake-clock.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-triggers-');
const dataDir = async () => path.join(await tempDir(), 'data');

const START = Date.UTC(2026, 11, 1, 0, 0, 0);
const flush = () => new Promise((r) => setImmediate(r));

function recorder() {
  const runs: TriggerReason[] = [];
  return { runs, job: async (r: TriggerReason) => void runs.push(r) };
}

/** A hand-driven WAL: appends and rotations as the scheduler sees them. */
function fakeGrowth() {
  const listeners = new Set<(lines: number, bytes: number) => void>();
  let segment = 0;
  const growth: WalGrowth = { onAppend: (l) => (listeners.add(l), () => listeners.delete(l)), segment: () => segment };
  return { growth, append: (lines: number, bytes = lines * 100) => listeners.forEach((l) => l(lines, bytes)), rotate: () => void segment++ };
}

describe('cron and interval triggers (fake clock)', () => {
  it('a cron schedule fires at its times and not in between', async () => {
    const clock = new FakeClock(START);
    const { runs, job } = recorder();
    const s = new ArchiveScheduler({ schedule: '*/15 * * * *' }, job, undefined, { clock });
    s.start();
    clock.advance(14 * 60_000 + 59_000);
    await flush();
    expect(runs).toEqual([]);
    clock.advance(1000);
    await flush();
    expect(runs).toEqual(['schedule']);
    for (let i = 0; i < 3; i++) {
      clock.advance(15 * 60_000);
      await flush();
    }
    expect(runs).toEqual(['schedule', 'schedule', 'schedule', 'schedule']);
    await s.stop();
    clock.advance(3600_000);
    await flush();
    expect(runs).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });

  it('an interval fires every intervalMs and not before', async () => {
    const clock = new FakeClock(START);
    const { runs, job } = recorder();
    const s = new ArchiveScheduler({ intervalMs: 60_000 }, job, undefined, { clock });
    s.start();
    clock.advance(59_999);
    await flush();
    expect(runs).toEqual([]);
    clock.advance(1);
    await flush();
    expect(runs).toEqual(['interval']);
    for (let i = 0; i < 2; i++) {
      clock.advance(60_000);
      await flush();
    }
    expect(runs).toEqual(['interval', 'interval', 'interval']);
    await s.stop();
  });

  it('a yearly schedule waits in steps longer than setTimeout allows', async () => {
    const clock = new FakeClock(START);
    const { runs, job } = recorder();
    const s = new ArchiveScheduler({ schedule: '0 0 1 6 *' }, job, undefined, { clock });
    s.start();
    clock.advance(150 * 86_400_000);
    await flush();
    expect(runs).toEqual([]);
    clock.advance(60 * 86_400_000);
    await flush();
    expect(runs).toEqual(['schedule']);
    await s.stop();
  });

  it('no trigger configured: nothing is armed', () => {
    const clock = new FakeClock(START);
    const s = new ArchiveScheduler({ manual: true }, async () => undefined, fakeGrowth().growth, { clock });
    expect(s.hasTriggers).toBe(false);
  });
});

describe('growth triggers, runs that overlap, runs that fail (hand-driven WAL)', () => {
  it('walEntries, walSize and walSegments fire at their thresholds, counted from the last run', async () => {
    const clock = new FakeClock(START);
    const { runs, job } = recorder();
    const g = fakeGrowth();
    const s = new ArchiveScheduler({ walEntries: 100, walSizeMB: 1, walSegments: 3 }, job, g.growth, { clock });
    s.start();
    g.append(99, 99);
    await flush();
    expect(runs).toEqual([]);
    g.append(1, 1);
    await flush();
    expect(runs).toEqual(['walEntries']);
    g.append(10, 1024 * 1024);
    await flush();
    expect(runs).toEqual(['walEntries', 'walSize']);
    // Segments count from the one the first line after the archive went to.
    g.append(1, 1);
    g.rotate();
    g.rotate();
    g.append(1, 1);
    await flush();
    expect(runs).toHaveLength(2);
    g.rotate();
    g.append(1, 1);
    await flush();
    expect(runs).toEqual(['walEntries', 'walSize', 'walSegments']);
    await s.stop();
  });

  it('triggers during a run are coalesced into exactly one follow-up run', async () => {
    let release!: () => void;
    let active = 0;
    let maxActive = 0;
    const runs: TriggerReason[] = [];
    const s = new ArchiveScheduler(
      { walEntries: 1 },
      async (r) => {
        runs.push(r);
        active++;
        maxActive = Math.max(maxActive, active);
        if (runs.length === 1) await new Promise<void>((res) => (release = res));
        active--;
      },
      undefined,
    );
    s.start();
    s.fire('walEntries');
    for (let i = 0; i < 10; i++) s.fire('walEntries');
    await flush();
    expect(runs).toHaveLength(1);
    release();
    await flush();
    await flush();
    expect(runs).toHaveLength(2);
    expect(maxActive).toBe(1);
    await s.stop();
  });

  it('a failed run gives its counts back: the next trigger retries it, after the holdoff', async () => {
    const clock = new FakeClock(START);
    const g = fakeGrowth();
    let fail = true;
    const runs: string[] = [];
    const s = new ArchiveScheduler(
      { walEntries: 10 },
      async () => {
        runs.push(fail ? 'failed' : 'ok');
        if (fail) throw new Error('remote down');
      },
      g.growth,
      { clock, retryHoldoffMs: 5000 },
    );
    s.start();
    g.append(10);
    await flush();
    expect(runs).toEqual(['failed']);
    fail = false;
    g.append(1); // within the holdoff: no new attempt yet
    await flush();
    expect(runs).toEqual(['failed']);
    clock.advance(5000); // the holdoff has passed: tried again, nothing more written
    await flush();
    expect(runs).toEqual(['failed', 'ok']);
    g.append(9); // counted from the successful run: below 10
    await flush();
    expect(runs).toEqual(['failed', 'ok']);
    await s.stop();
  });
});

function waitFor<T>(db: BriDB, event: 'finished' | 'failed'): Promise<T> {
  return new Promise((resolve) => db.archive.once(event, (r: unknown) => resolve(r as T)));
}

describe('triggers on a real database', () => {
  it('walEntries: no archive before the Nth write, one right after it, with every line', async () => {
    const dir = await dataDir();
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false, archive: { triggers: { walEntries: 50 }, compression: { level: 1 } } } });
    try {
      for (let i = 0; i < 49; i++) await db.set(`A_${i}`, { i });
      await new Promise((r) => setTimeout(r, 50));
      expect(await db.archive.list()).toEqual([]);
      const finished = waitFor<{ manifest: { timeRange: { walLines: { start: number; end: number } } } }>(db, 'finished');
      await db.set('A_49', { i: 49 });
      const r = await finished;
      expect(r.manifest.timeRange.walLines).toEqual({ start: 0, end: 50 });
      for (let i = 0; i < 30; i++) await db.set(`B_${i}`, { i });
      await new Promise((r) => setTimeout(r, 50));
      expect(await db.archive.list()).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it('walSizeMB and walSegments on real writes', async () => {
    const dir = await dataDir();
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false, walSegmentSize: 4096, archive: { triggers: { walSizeMB: 0.02 }, compression: { level: 1 } } } });
    try {
      const finished = waitFor(db, 'finished');
      let written = 0;
      // ~1 KiB per line: the 20.5 KiB threshold is crossed on about the 20th write.
      while (written < 15) await db.set(`S_${written++}`, { pad: 'x'.repeat(1000) });
      expect(await db.archive.list()).toEqual([]);
      while (written < 40) await db.set(`S_${written++}`, { pad: 'x'.repeat(1000) });
      await finished;
      expect(await db.archive.list()).toHaveLength(1);
    } finally {
      await db.close();
    }
    const dir2 = await dataDir();
    const db2 = await createDB({ storeConfig: { dataDir: dir2, snapshotOnClose: false, walSegmentSize: 2048, archive: { triggers: { walSegments: 3 }, compression: { level: 1 } } } });
    try {
      const finished = waitFor(db2, 'finished');
      const start = db2.info().segment;
      let i = 0;
      while (db2.info().segment < start + 2) await db2.set(`G_${i++}`, { pad: 'y'.repeat(300) });
      await new Promise((r) => setTimeout(r, 50));
      expect(await db2.archive.list()).toEqual([]);
      while (db2.info().segment < start + 3) await db2.set(`G_${i++}`, { pad: 'y'.repeat(300) });
      await finished;
      expect(await db2.archive.list()).toHaveLength(1);
    } finally {
      await db2.close();
    }
  });

  it('an interval trigger with a fake clock, and events in order', async () => {
    const dir = await dataDir();
    const clock = new FakeClock(Date.now());
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false, archive: { triggers: { intervalMs: 3600_000 }, compression: { level: 1 } } }, scheduler: { clock } });
    const events: string[] = [];
    for (const e of ['started', 'finished', 'failed', 'skipped'] as const) db.archive.on(e, () => events.push(e));
    db.archive.once('progress', () => events.push('progress'));
    try {
      await db.set('X', { x: 1 });
      clock.advance(3599_000);
      await new Promise((r) => setTimeout(r, 30));
      expect(events).toEqual([]);
      const finished = waitFor(db, 'finished');
      clock.advance(1000);
      await finished;
      expect(events).toEqual(['started', 'progress', 'finished']);
      // Nothing new: the next tick is skipped, not failed.
      const skipped = new Promise((r) => db.archive.once('skipped', r));
      clock.advance(3600_000);
      await skipped;
      expect(events).toEqual(['started', 'progress', 'finished', 'started', 'skipped']);
    } finally {
      await db.close();
    }
  });

  it('a failed run is retried by the next trigger and loses nothing', async () => {
    const dir = await dataDir();
    let calls = 0;
    const clock = new FakeClock(Date.now());
    const db = await createDB({
      storeConfig: {
        dataDir: dir,
        snapshotOnClose: false,
        archive: { triggers: { intervalMs: 1000 }, compression: { level: 1 }, hooks: { beforeArchive: () => void (calls++ === 0 && (() => { throw new Error('not now'); })()) } },
      },
      scheduler: { clock },
    });
    try {
      for (let i = 0; i < 20; i++) await db.set(`F_${i}`, { i });
      const failed = waitFor<{ error: Error }>(db, 'failed');
      clock.advance(1000);
      expect((await failed).error).toMatchObject({ code: 'HOOK_FAILED', message: 'hook beforeArchive failed: not now' });
      expect(await db.archive.list()).toEqual([]);
      for (let i = 20; i < 30; i++) await db.set(`F_${i}`, { i });
      const finished = waitFor<{ file: string }>(db, 'finished');
      clock.advance(1000);
      const r = await finished;
      const replayed = await replayArchive(r.file);
      expect(toPlainState(replayed.state)).toEqual(toPlainState(db.state));
    } finally {
      await db.close();
    }
  });

  it('close() waits for a running archive, which completes', async () => {
    const dir = await dataDir();
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false, archive: { triggers: { walEntries: 200 }, compression: { level: 19 } } } });
    await Promise.all(Array.from({ length: 200 }, (_, i) => db.set(`C_${i}`, { pad: 'z'.repeat(500), i })));
    let finished = false;
    db.archive.once('finished', () => void (finished = true));
    // The 200th write fired the trigger: close while that run is going.
    if (!finished) await new Promise((r) => db.archive.once('progress', r));
    expect(finished).toBe(false);
    await db.close();
    expect(finished).toBe(true);
    const again = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false } });
    try {
      const [a] = await again.archive.list();
      expect(a?.manifest.timeRange.walLines.end).toBe(200);
    } finally {
      await again.close();
    }
  });

  it('enabled: false starts no trigger', async () => {
    const dir = await dataDir();
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false, archive: { enabled: false, triggers: { walEntries: 5 } } } });
    try {
      for (let i = 0; i < 20; i++) await db.set(`E_${i}`, { i });
      await new Promise((r) => setTimeout(r, 50));
      expect(await db.archive.list()).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
