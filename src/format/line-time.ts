/**
 * The time of a WAL line as every reader takes it. BRI stamps a line with its host's clock, which
 * can step back (NTP, a resumed VM): a line may carry an earlier time than one before it. A line's
 * effective time is the largest of its own time and every earlier line's (the running maximum), so
 * that the order of lines is the order of time and the lines at or before a moment T are a prefix of
 * the log: the one cut that a point in time restore, `show --at`, `history` and `diff` all make.
 */
import type { Manifest, ManifestSegment } from './manifest.js';

/** Where the times first went back: the line and by how much. */
export interface StepBack {
  line: number;
  byMs: number;
}

export class LineClock {
  private latest: number | null;
  /** Lines stamped before a line before them (their effective time is not their own). */
  linesBack = 0;
  first: StepBack | null = null;
  largest: StepBack | null = null;

  /** `after`: the effective time of the line before the first one fed (null: none). */
  constructor(after: number | null = null) {
    this.latest = after;
  }

  /** The effective time of the next line, stamped `raw` (`line`: its number, to say where times went back). */
  time(raw: number, line = 0): number {
    if (this.latest === null || raw >= this.latest) return (this.latest = raw);
    const step = { line, byMs: this.latest - raw };
    this.linesBack++;
    this.first ??= step;
    if (this.largest === null || step.byMs > this.largest.byMs) this.largest = step;
    return this.latest;
  }

  /** The effective time of the last line fed (or the one given before it), null when there is none. */
  get now(): number | null {
    return this.latest;
  }
}

/** The effective time of a member's last line: its own, unless the clock had been later (manifest `timesBack`). */
export function memberEndTime(seg: Pick<ManifestSegment, 'lastTimestamp' | 'timesBack'>): number | null {
  return seg.timesBack?.latestTimestamp ?? seg.lastTimestamp;
}

/**
 * Archives made before `timesBack` existed (da6346a and earlier) recorded each time as the line was
 * stamped: a range could end before it starts, and the next archive start at a time earlier than the
 * last one's lines. Such a manifest (no member says `timesBack`) is lifted here to effective times, as
 * a new archive records them: its start is at least `after` (the effective end of the archive before
 * it in the chain), a member whose recorded times fall below the running maximum says `timesBack` (so
 * that readers take its lines one by one), the end is the running maximum, and the seal no earlier.
 * A line stamped back in the middle of a member is not in any manifest: only what was recorded is
 * seen. A manifest with `timesBack` was written by the rule already and is left as it is. In place.
 */
export function liftToEffectiveTimes(m: Manifest, after: number | null = null): void {
  if (m.contents.segments.some((s) => s.timesBack !== undefined)) return;
  const tr = m.timeRange;
  if (after !== null && after > tr.start.getTime()) tr.start = new Date(after);
  let latest = tr.start.getTime();
  for (const seg of m.contents.segments) {
    let back = 0;
    for (const t of seg.firstLine === seg.lastLine ? [seg.lastTimestamp] : [seg.firstTimestamp, seg.lastTimestamp]) {
      if (t === null) continue;
      if (t < latest) back++;
      else latest = t;
    }
    if (back > 0) seg.timesBack = { lines: back, latestTimestamp: latest };
  }
  if (latest > tr.end.getTime()) tr.end = new Date(latest);
  if (tr.sealedAt.getTime() < tr.end.getTime()) tr.sealedAt = new Date(tr.end.getTime());
}

/**
 * Each chain of archives of one instance (listed in any order) lifted to effective times from its first
 * archive on: an archive made before `timesBack` existed starts at the effective end of the one before it.
 * In place, as at decode: every reader holding these manifests (the local catalog keeps them) reads the same times.
 */
export function liftChainsToEffectiveTimes(manifests: Iterable<Manifest>): void {
  const ordered = [...manifests].sort((a, b) => a.timeRange.walLines.start - b.timeRange.walLines.start);
  const last = new Map<string, Manifest>();
  for (const m of ordered) {
    const prev = last.get(m.instanceId);
    if (prev !== undefined && prev.timeRange.walLines.end === m.timeRange.walLines.start) liftToEffectiveTimes(m, prev.timeRange.end.getTime());
    last.set(m.instanceId, m);
  }
}

/** Said by an archive create: where the WAL's times went back (it is archived as it is, read by the rule above). */
export function describeStepsBack(clock: LineClock): string | null {
  if (clock.first === null) return null;
  const { line, byMs } = clock.first;
  const more = clock.linesBack > 1 ? `; ${clock.linesBack} lines in all are stamped before an earlier line, the largest step back ${clock.largest!.byMs} ms at line ${clock.largest!.line}` : '';
  return `WAL line times go backwards at line ${line} by ${byMs} ms (the writer's clock stepped back)${more}: each such line is taken at the latest time before it, so a restore to a moment in that stretch stops before the first line stamped after it`;
}
