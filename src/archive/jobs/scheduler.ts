/**
 * When the archive job runs: a cron schedule (croner computes the next
 * time), an interval, and WAL growth (entries, bytes, segments since the
 * last run, counted from the writer's append events, never by polling the
 * disk). Runs never overlap: a trigger during a run is coalesced into one
 * follow-up run. A failed run gives its counts back, so the next trigger
 * retries it; growth triggers then wait `retryHoldoffMs` so that a remote
 * that is down does not turn every write into a failing archive run.
 *
 * Time comes from a Clock, so tests drive cron and interval triggers with a
 * fake one instead of waiting.
 */
import { Cron } from 'croner';
import { z } from 'zod';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Triggers never keep a process alive on their own; the database's close() stops them.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Whether croner takes `expr`, and whether any time from now on matches it. */
function cronProblem(expr: string): 'invalid' | 'never' | null {
  let job: Cron;
  try {
    job = new Cron(expr, { paused: true });
  } catch {
    return 'invalid';
  }
  // A date that never comes (30 February, a year gone by) parses: its job would simply never run.
  const next = job.nextRun();
  job.stop();
  return next === null ? 'never' : null;
}

/** A cron expression croner accepts (5 or 6 fields, or @daily and the like) that fires at some time to come. */
const cron = z.string().superRefine((expr, ctx) => {
  const problem = cronProblem(expr);
  if (problem === 'invalid') ctx.addIssue({ code: 'custom', message: 'is not a cron expression (e.g. "0 3 * * *", or "@daily")' });
  if (problem === 'never') ctx.addIssue({ code: 'custom', message: 'never fires: no time from now on matches it (a day a month never has, like 30 February, or a year gone by)' });
});

const AUTOMATIC_TRIGGERS = ['schedule', 'intervalMs', 'walSizeMB', 'walSegments', 'walEntries'] as const;

/** When the archive job runs by itself: the `triggers` block of the configuration (validated with it). */
export const triggersSchema = z.strictObject({
  /** Cron (croner): archive at these times. */
  schedule: cron.optional(),
  /** Archive every this many ms. */
  intervalMs: z.number().int().min(1).optional(),
  /** Archive once this many MiB of WAL were written since the last archive. */
  walSizeMB: z.number().positive().optional(),
  /** ... once this many segments were started since the last archive. */
  walSegments: z.number().int().positive().optional(),
  /** ... once this many entries were written since the last archive. */
  walEntries: z.number().int().positive().optional(),
  /** Only by hand (db.archive.create, bri archive create); the default when no trigger is given. */
  manual: z.boolean().optional(),
}).superRefine((t, ctx) => {
  // 'Only by hand' beside a trigger contradicts it: the trigger would archive anyway.
  const automatic = AUTOMATIC_TRIGGERS.filter((k) => t[k] !== undefined);
  if (t.manual === true && automatic.length > 0) ctx.addIssue({ code: 'custom', path: ['manual'], message: `true (only by hand) contradicts ${automatic.join(', ')}, which archive${automatic.length === 1 ? 's' : ''} without being asked: keep one or the other` });
});

export type ArchiveTriggers = z.infer<typeof triggersSchema>;

export type TriggerReason = 'schedule' | 'interval' | 'walSize' | 'walSegments' | 'walEntries';

/** What the scheduler watches to see the WAL grow. */
export interface WalGrowth {
  onAppend(listener: (lines: number, bytes: number) => void): () => void;
  /** The number of the segment being written. */
  segment(): number;
}

/** Longest single wait setTimeout takes (about 24.8 days); longer ones are waited in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MiB = 1024 * 1024;

export interface SchedulerOptions {
  clock?: Clock;
  /** After a failed run, growth triggers wait this long before they fire again (default 5 s). */
  retryHoldoffMs?: number;
}

export class ArchiveScheduler {
  private readonly clock: Clock;
  private readonly holdoffMs: number;
  private running: Promise<void> | null = null;
  private pending: TriggerReason | null = null;
  private stopped = true;
  private timers = new Set<unknown>();
  private unsubscribe: (() => void) | null = null;
  private entries = 0;
  private bytes = 0;
  private segmentAtRun = 0;
  private failedAt = -Infinity;
  /** The cron slot that ran last: no slot runs twice. */
  private lastSlot = -Infinity;
  private readonly cron: Cron | null;

  constructor(
    private readonly triggers: ArchiveTriggers,
    private readonly job: (reason: TriggerReason) => Promise<void>,
    private readonly growth?: WalGrowth,
    opts: SchedulerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.holdoffMs = opts.retryHoldoffMs ?? 5000;
    this.cron = triggers.schedule !== undefined ? new Cron(triggers.schedule, { paused: true }) : null;
  }

  /** True when some trigger would ever fire. */
  get hasTriggers(): boolean {
    const t = this.triggers;
    return t.schedule !== undefined || t.intervalMs !== undefined || this.watchesGrowth;
  }

  private get watchesGrowth(): boolean {
    const t = this.triggers;
    return t.walEntries !== undefined || t.walSizeMB !== undefined || t.walSegments !== undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.cron) this.armCron();
    if (this.triggers.intervalMs !== undefined) this.armInterval();
    if (this.growth && this.watchesGrowth) {
      this.segmentAtRun = this.growth.segment();
      this.unsubscribe = this.growth.onAppend((lines, bytes) => this.grew(lines, bytes));
    }
  }

  private after(ms: number, fn: () => void): void {
    const h = this.clock.setTimeout(() => {
      this.timers.delete(h);
      if (!this.stopped) fn();
    }, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    this.timers.add(h);
  }

  private armCron(): void {
    // Counted from the slot that last fired too: a timer that fires a little early (Node's do, about
    // 1 in 300) or a wall clock stepped back would otherwise find that very slot again and run it twice.
    const next = this.cron!.nextRun(new Date(Math.max(this.clock.now(), this.lastSlot)));
    if (next) this.awaitSlot(next.getTime());
  }

  /** Runs the schedule at `slot`, once, then arms the next slot; a timer that fires before `slot` waits the rest. */
  private awaitSlot(slot: number): void {
    const wait = slot - this.clock.now();
    if (wait > 0) return this.after(wait, () => this.awaitSlot(slot));
    this.lastSlot = slot;
    this.fire('schedule');
    this.armCron();
  }

  private armInterval(): void {
    this.after(this.triggers.intervalMs!, () => {
      this.fire('interval');
      this.armInterval();
    });
  }

  private grew(lines: number, bytes: number): void {
    this.entries += lines;
    this.bytes += bytes;
    if (this.clock.now() - this.failedAt < this.holdoffMs) return;
    const reason = this.growthReason();
    if (reason) this.fire(reason);
  }

  private growthReason(): TriggerReason | null {
    const t = this.triggers;
    if (t.walEntries !== undefined && this.entries >= t.walEntries) return 'walEntries';
    if (t.walSizeMB !== undefined && this.bytes >= t.walSizeMB * MiB) return 'walSize';
    if (t.walSegments !== undefined && this.growth && this.growth.segment() - this.segmentAtRun >= t.walSegments) return 'walSegments';
    return null;
  }

  /** Starts a run now, or coalesces into the one follow-up run when one is going. */
  fire(reason: TriggerReason): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending ??= reason;
      return;
    }
    this.running = this.runOnce(reason);
  }

  private async runOnce(reason: TriggerReason): Promise<void> {
    // What this run archives: the counts start again from here.
    const taken = { entries: this.entries, bytes: this.bytes, segment: this.segmentAtRun };
    this.entries = 0;
    this.bytes = 0;
    this.segmentAtRun = this.growth?.segment() ?? 0;
    try {
      await this.job(reason);
      this.failedAt = -Infinity;
      // The archive's own seal rotates the WAL: segments count from the end of the run.
      if (this.growth) this.segmentAtRun = this.growth.segment();
    } catch {
      // Nothing was archived: the growth counts are owed to the next run.
      this.entries += taken.entries;
      this.bytes += taken.bytes;
      this.segmentAtRun = taken.segment;
      this.failedAt = this.clock.now();
    } finally {
      this.running = null;
      const next = this.pending;
      this.pending = null;
      if (next && !this.stopped) this.fire(next);
      // Growth may have passed a threshold during the run without a follow-up queued (a holdoff).
      else if (!this.stopped && this.clock.now() - this.failedAt >= this.holdoffMs && this.growthReason()) this.fire(this.growthReason()!);
    }
  }

  get isRunning(): boolean {
    return this.running !== null;
  }

  /** Stops every trigger and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = null;
    for (const h of this.timers) this.clock.clearTimeout(h);
    this.timers.clear();
    this.unsubscribe?.();
    this.unsubscribe = null;
    while (this.running) await this.running;
  }
}
