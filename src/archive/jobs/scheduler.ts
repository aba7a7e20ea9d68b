/**
 * When the archive job runs: a cron schedule (croner computes the next
 * time), an interval, and WAL growth (entries, bytes, segments since the
 * last archive's seal, whatever made it, counted from the writer's append
 * events, never by polling the disk). Runs never overlap: a trigger during a
 * run is coalesced into one follow-up run. A failed run gives its counts
 * back; growth triggers then wait `retryHoldoffMs` (so that a remote that is
 * down does not turn every write into a failing archive run) and try again
 * once it has passed, written to or not.
 *
 * Time comes from a Clock, so tests drive cron and interval triggers with a
 * fake one instead of waiting.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { BriError, ErrorCodes } from '../../errors.js';
import { isNothingToArchive } from './archive-job.js';
import { outsideHooks } from './function-hook.js';

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
  /**
   * Whether archives may also be made by hand (db.archive.create, bri archive create), as the design note's
   * `manual: true // Allow manual triggering` says: true (the default) beside the triggers or alone; false
   * leaves the archives to the triggers, and a create by hand is refused (USAGE) naming this setting.
   */
  manual: z.boolean().optional(),
}).superRefine((t, ctx) => {
  // Nothing by hand and nothing automatic: no archive would ever be made (refused rather than silently never archiving).
  const automatic = AUTOMATIC_TRIGGERS.filter((k) => t[k] !== undefined);
  if (t.manual === false && automatic.length === 0) ctx.addIssue({ code: 'custom', path: ['manual'], message: `false leaves the archives to the triggers, and none is set (${AUTOMATIC_TRIGGERS.join(', ')}): no archive would ever be made. Set a trigger, or leave manual out` });
});

export type ArchiveTriggers = z.infer<typeof triggersSchema>;

/** A create by hand, refused (USAGE) when `manual: false` leaves the archives to the triggers. */
export function assertManualAllowed(triggers: ArchiveTriggers): void {
  if (triggers.manual !== false) return;
  throw new BriError(ErrorCodes.USAGE, 'create: archive.triggers.manual is false, so archives are made by the triggers only, not by hand', {
    hint: 'Set archive.triggers.manual to true (or leave it out) to make archives by hand as well; the triggers configured make them meanwhile.',
    details: { setting: 'archive.triggers.manual' },
  });
}

export type TriggerReason = 'schedule' | 'interval' | 'walSize' | 'walSegments' | 'walEntries';

/** What the scheduler watches to see the WAL grow. */
export interface WalGrowth {
  onAppend(listener: (lines: number, bytes: number) => void): () => void;
  /** The number of the segment being written. */
  segment(): number;
}

/** Longest single wait setTimeout takes (about 24.8 days); longer ones are waited in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A wall clock this far behind where the timer's own wait should have brought it was stepped back. */
const CLOCK_STEP_MS = 60_000;
const MiB = 1024 * 1024;

/** Where growth is counted from: the append counts at an archive's seal, and the segment the first line after it went to. */
interface Mark {
  lines: number;
  bytes: number;
  segment: number | null;
}

export interface SchedulerOptions {
  clock?: Clock;
  /** After a failed run, growth triggers wait this long, then try again while their threshold is met (default 5 s). */
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
  /** Every line and byte the writer reported since start(). */
  private seen = { lines: 0, bytes: 0 };
  /** The last archive's seal (or start()): growth is what was reported after it. */
  private base: Mark = { lines: 0, bytes: 0, segment: null };
  /** The seal of the run in progress, which becomes `base` if that run makes its archive. */
  private mark: Mark | null = null;
  /** Archive runs queued or going, this scheduler's or by hand: growth waits for them to end. */
  private inFlight = 0;
  /** A seal under way: its rotation may not be written yet. */
  private sealing = false;
  private retryArmed = false;
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
      this.base = this.here();
      this.unsubscribe = this.growth.onAppend((lines, bytes) => this.grew(lines, bytes));
    }
  }

  private after(ms: number, fn: () => void): void {
    // Armed by a write a hook made, the timer would otherwise run as that hook's code (see fire).
    const h = outsideHooks(() => this.clock.setTimeout(() => {
      this.timers.delete(h);
      if (!this.stopped) fn();
    }, Math.min(Math.max(0, ms), MAX_TIMER_MS)));
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
    const armedAt = this.clock.now();
    const wait = slot - armedAt;
    if (wait > 0) {
      const delay = Math.min(wait, MAX_TIMER_MS);
      return this.after(delay, () => {
        // The wall clock went back while the timer ran (NTP correcting a clock that ran ahead, a VM resumed): the
        // slot is now as far away as the step, maybe years, and the schedule would stop till then. Count it again
        // from the corrected time (its slots may repeat ones that ran by the wrong clock: an extra archive, not none).
        if (this.clock.now() < armedAt + delay - CLOCK_STEP_MS) {
          this.lastSlot = -Infinity;
          return this.armCron();
        }
        this.awaitSlot(slot);
      });
    }
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

  private here(): Mark {
    return { lines: this.seen.lines, bytes: this.seen.bytes, segment: null };
  }

  private grew(lines: number, bytes: number): void {
    this.seen.lines += lines;
    this.seen.bytes += bytes;
    // Segments count from the one the first line after the seal went to: a rotation with no line
    // written since the archive (a snapshot's, right after it) is no growth.
    const segment = this.growth!.segment();
    this.base.segment ??= segment;
    // Until the seal has rotated the WAL, a line reported may be one before it, in the segment it closes.
    if (this.mark && !this.sealing) this.mark.segment ??= segment;
    this.recheckGrowth();
  }

  private growthReason(): TriggerReason | null {
    const t = this.triggers;
    const { base, seen } = this;
    if (t.walEntries !== undefined && seen.lines - base.lines >= t.walEntries) return 'walEntries';
    if (t.walSizeMB !== undefined && seen.bytes - base.bytes >= t.walSizeMB * MiB) return 'walSize';
    if (t.walSegments !== undefined && this.growth && base.segment !== null && this.growth.segment() - base.segment >= t.walSegments) return 'walSegments';
    return null;
  }

  /**
   * Runs a growth trigger whose threshold is met, unless a run will archive that growth anyway; within the
   * holdoff after a failed run, once it has passed (a timer: the application may write nothing more).
   */
  private recheckGrowth(): void {
    if (this.stopped || this.running || this.inFlight > 0) return;
    const reason = this.growthReason();
    if (!reason) return;
    const wait = this.failedAt + this.holdoffMs - this.clock.now();
    if (wait <= 0) return this.fire(reason);
    if (this.retryArmed) return;
    this.retryArmed = true;
    this.after(wait, () => {
      this.retryArmed = false;
      this.recheckGrowth();
    });
  }

  /**
   * `seal` (the host's) telling this scheduler where the archive it seals ends: growth counts from the moment
   * the seal takes its line. Lines appended just before whose write is still under way are reported after it
   * and count once more (a batch at most); counting from the seal's end would miss every line written while
   * it encodes the state.
   */
  watchSeal<A extends unknown[], R>(seal: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args) => {
      this.mark = this.here();
      this.sealing = true;
      try {
        return await seal(...args);
      } finally {
        this.sealing = false;
      }
    };
  }

  /** An archive run (db.archive.create, by hand or by this scheduler): growth counts from its seal once it made its archive. */
  follow(run: Promise<unknown>): void {
    this.inFlight++;
    run.then(
      () => this.settled(true),
      (err: unknown) => this.settled(isNothingToArchive(err)),
    );
  }

  /** Nothing new to archive also counts as archived: every line up to the seal is in an archive. */
  private settled(archived: boolean): void {
    this.inFlight--;
    if (archived && this.mark) this.base = this.mark;
    this.mark = null;
    this.recheckGrowth();
  }

  /** Starts a run now, or coalesces into the one follow-up run when one is going. */
  fire(reason: TriggerReason): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending ??= reason;
      return;
    }
    // A write made by a hook's code reports growth in that hook's context: the run is the scheduler's, not the
    // hook's, and must not be refused as a call from inside it (archiving would stop with no word).
    this.running = outsideHooks(() => this.runOnce(reason));
  }

  private async runOnce(reason: TriggerReason): Promise<void> {
    // A job that does not tell its seal (watchSeal) archives what was written when it starts.
    this.mark ??= this.here();
    const job = this.job(reason);
    this.follow(job);
    try {
      await job;
      this.failedAt = -Infinity;
    } catch {
      // Nothing was archived: the growth since the last archive is still owed, after the holdoff.
      this.failedAt = this.clock.now();
    } finally {
      this.running = null;
      const next = this.pending;
      this.pending = null;
      if (next && !this.stopped) this.fire(next);
      else this.recheckGrowth();
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
    this.retryArmed = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    while (this.running) await this.running;
  }
}
