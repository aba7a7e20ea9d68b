/**
 * A cron slot runs once, however the timer meets it: Node's timers fire a
 * millisecond early now and then (about 1 in 300), and a wall clock can be
 * stepped back during the wait. Either used to make the scheduler find the
 * same slot again and run the archive job twice for it.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveScheduler, type Clock } from '../../../src/archive/jobs/scheduler.js';
import { createDB } from '../../../src/db.js';
import { FakeClock } from '../../support/fake-clock.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-cron-slots-');
const START = Date.parse('2026-03-01T02:00:00Z');
const flush = () => new Promise((r) => setImmediate(r));

/** A fake clock whose timers fire `earlyMs` before they are due, as real ones sometimes do. */
class EarlyClock extends FakeClock {
  constructor(start: number, private readonly earlyMs: number) {
    super(start);
  }

  override setTimeout(fn: () => void, ms: number): unknown {
    return super.setTimeout(fn, ms > this.earlyMs ? ms - this.earlyMs : ms);
  }
}

/** A clock whose time the test can also set back. */
function steppableClock(start: number) {
  const fake = new FakeClock(start);
  let offset = 0;
  const clock: Clock = {
    now: () => fake.now() + offset,
    setTimeout: (fn, ms) => fake.setTimeout(fn, ms),
    clearTimeout: (h) => fake.clearTimeout(h),
  };
  return { clock, advance: (ms: number) => fake.advance(ms), stepBack: (ms: number) => void (offset -= ms) };
}

/** The times (ISO) at which the job ran, by the scheduler's clock. */
function timedRecorder(clock: Clock) {
  const at: string[] = [];
  return { at, job: async () => void at.push(new Date(clock.now()).toISOString()) };
}

describe('each cron slot runs once', () => {
  it('a timer that fires 1 ms early runs its slot once, at the slot', async () => {
    const clock = new EarlyClock(START, 1);
    const { at, job } = timedRecorder(clock);
    const s = new ArchiveScheduler({ schedule: '0 * * * *' }, job, undefined, { clock });
    s.start();
    for (let i = 0; i < 3 * 60; i++) {
      clock.advance(60_000);
      await flush();
    }
    expect(at).toEqual(['2026-03-01T03:00:00.000Z', '2026-03-01T04:00:00.000Z', '2026-03-01T05:00:00.000Z']);
    await s.stop();
  });

  it('a wall clock stepped back after a slot ran does not run that slot again', async () => {
    const { clock, advance, stepBack } = steppableClock(START);
    const { at, job } = timedRecorder(clock);
    const s = new ArchiveScheduler({ schedule: '0 3 * * *' }, job, undefined, { clock });
    s.start();
    advance(3600_000);
    await flush();
    expect(at).toEqual(['2026-03-01T03:00:00.000Z']);
    // NTP sets the clock back 10 minutes just after 03:00: 03:00 comes round again by the clock.
    stepBack(600_000);
    advance(25 * 3600_000);
    await flush();
    expect(at).toEqual(['2026-03-01T03:00:00.000Z', '2026-03-02T03:00:00.000Z']);
    await s.stop();
  });

  it.each([
    ['while running', false],
    ['before the scheduler started', true],
  ])('a wall clock that ran years ahead and is corrected (%s) runs the schedule again from the corrected time', async (_when, fromStart) => {
    const { clock, advance, stepBack } = steppableClock(START);
    const ahead = Date.parse('2031-01-01T00:00:00Z') - START;
    const { at, job } = timedRecorder(clock);
    const s = new ArchiveScheduler({ schedule: '0 * * * *' }, job, undefined, { clock });
    stepBack(-ahead);
    if (!fromStart) {
      stepBack(ahead);
      s.start();
      advance(2 * 3600_000);
      await flush();
      expect(at).toHaveLength(2);
      stepBack(-ahead); // the clock jumps to 2031 for a while
    } else s.start();
    // Long enough by the wrong clock for the next slot to be one of 2031's.
    advance(2 * 3600_000 + 600_000);
    await flush();
    stepBack(ahead); // NTP puts it right
    const before = at.length;
    for (let h = 0; h < 6; h++) {
      advance(3600_000);
      await flush();
    }
    const after = at.slice(before);
    expect(after.length, JSON.stringify(at)).toBeGreaterThanOrEqual(5);
    expect(after.every((t) => t < '2027')).toBe(true);
    await s.stop();
  });

  it('a database whose cron timer fires early calls beforeArchive once and archives once for the slot', async () => {
    const dir = path.join(await tempDir(), 'data');
    const clock = new EarlyClock(START, 1);
    const calls: string[] = [];
    const db = await createDB({
      storeConfig: { dataDir: dir, snapshotOnClose: false, archive: { triggers: { schedule: '0 3 * * *' }, compression: { level: 1 }, hooks: { beforeArchive: (e) => void calls.push(`beforeArchive ${e.reason}`) } } },
      scheduler: { clock },
    });
    db.archive.on('finished', () => calls.push('finished'));
    db.archive.on('skipped', () => calls.push('skipped'));
    db.archive.on('failed', () => calls.push('failed'));
    try {
      await db.set('A', { v: 1 });
      for (let i = 0; i < 120; i++) {
        clock.advance(60_000);
        for (let j = 0; j < 10; j++) await new Promise((r) => setTimeout(r, 2));
      }
      expect(calls).toEqual(['beforeArchive schedule', 'finished']);
      expect(await db.archive.list()).toHaveLength(1);
    } finally {
      await db.close();
    }
  });
});
