/**
 * What a dry run can say of a restore without reading a line: the archive's
 * members and the shipped chain as listed. A cut at a point in time is exact
 * when it falls between members (the manifest has each member's first and
 * last time); inside a member or the shipped WAL only its bounds are known,
 * and the dry run says them as bounds rather than a count the real run would
 * contradict.
 */
import { memberEndTime } from '../../format/line-time.js';
import { MISSING_SHIPMENT, type ShippedOutcome } from '../shipping/restore-shipped.js';
import type { RestorePlan } from './plan.js';

/** A count the listing pins only between two values. */
export interface Bound {
  atLeast: number;
  atMost: number;
}

/** A dry run's answer where the cut falls inside a WAL member or the shipped WAL: what the real run will restore lies within these. */
export interface DryRunBounds {
  linesRestored: Bound;
  lastLine: Bound;
}

/** The dry run's counts: exact (`bounds` null), or the lines surely restored and the bounds. */
export interface DryRunCounts {
  linesRestored: number;
  lastLine: number;
  /** The effective time of the last line restored (the archive's start when none of its WAL is); null at line 0, or when the listing does not tell it (a cut not exact). */
  lastTimestamp: number | null;
  /** Known only when no line is replayed (the starting snapshot's counts). */
  documents: number | null;
  collections: number | null;
  bounds: DryRunBounds | null;
}

/**
 * What a dry run reports of the shipped WAL: the chain as listed, without fetching it. A point in
 * time may stop inside it; that is known only once the lines are read, so the dry run gives the
 * chain's end as the upper bound.
 */
export function plannedShipped(plan: RestorePlan, used: boolean): ShippedOutcome | null {
  const p = plan.shipped;
  if (!used || !p || p.throughLine <= p.afterLine) return null;
  return {
    source: p.source,
    sources: [p.source],
    lines: p.throughLine - p.afterLine,
    throughLine: p.throughLine,
    broken: p.gapAt === null ? null : { fromLine: p.gapAt, toLine: p.gapAt, reason: MISSING_SHIPMENT },
    replaced: [],
    stoppedByTime: false,
    encrypted: false,
  };
}

/** The archive's lines a restore to the plan's time replays (a restore stops at the first line stamped after it, format/line-time.ts). */
function archiveCut(plan: RestorePlan): Bound & { lastTimestamp: number | null } {
  const until = plan.untilTimestamp;
  const m = plan.archive?.manifest;
  let lines = 0;
  // As the build's clock: the lines' effective times run on from the archive's start (line-time.ts).
  let lastTimestamp: number | null = m !== undefined && m.timeRange.walLines.start > 0 ? m.timeRange.start.getTime() : null;
  for (const seg of plan.archive?.manifest.contents.segments ?? []) {
    if (seg.entries === 0) continue;
    const end = memberEndTime(seg);
    if (until === null || (end !== null && end <= until)) {
      lines += seg.entries;
      lastTimestamp = end === null ? lastTimestamp : Math.max(lastTimestamp ?? end, end);
      continue;
    }
    if (seg.firstTimestamp === null || seg.firstTimestamp > until) break;
    const first = Math.max(lastTimestamp ?? seg.firstTimestamp, seg.firstTimestamp);
    // Its first line is in and its last out: with nothing between, exactly the first; else where it stops is in the data.
    if (seg.entries === 2) return { atLeast: lines + 1, atMost: lines + 1, lastTimestamp: first };
    return { atLeast: lines + 1, atMost: lines + seg.entries - 1, lastTimestamp: null };
  }
  // No line replayed: the archive's start (its snapshot's line) is the last line, and its time is the start's, as the build says.
  return { atLeast: lines, atMost: lines, lastTimestamp };
}

/** The counts a restore of `plan` will end with, as far as the listing tells them; `shipped`: the chain it will use, if any. */
export function dryRunCounts(plan: RestorePlan, shipped: ShippedOutcome | null): DryRunCounts {
  const cut = archiveCut(plan);
  let { atLeast, atMost } = cut;
  let lastTimestamp = cut.lastTimestamp;
  const p = plan.shipped;
  const m = plan.archive?.manifest;
  const whole = (m?.contents.segments ?? []).reduce((a, s) => a + s.entries, 0);
  // The shipped WAL follows only an archive replayed to its end.
  if (shipped && p && cut.atLeast === whole) {
    const until = plan.untilTimestamp;
    if (until === null || (p.endTime !== null && p.endTime <= until)) {
      atLeast += shipped.lines;
      atMost += shipped.lines;
      lastTimestamp = p.endTime === null ? null : Math.max(lastTimestamp ?? p.endTime, p.endTime);
    } else {
      // The last shipped line is after the time; the first is in when its time is known to be before it.
      if (p.startTime !== null && p.startTime <= until) atLeast += 1;
      atMost += shipped.lines - 1;
    }
  }
  const exact = atLeast === atMost;
  const none = exact && atMost === 0;
  return {
    linesRestored: atLeast,
    lastLine: plan.startLine + atLeast,
    lastTimestamp: exact ? lastTimestamp : null,
    documents: none ? (m ? m.stats.documentsAtSnapshot : 0) : null,
    collections: none ? (m ? m.stats.collectionsAtSnapshot : 0) : null,
    bounds: exact ? null : { linesRestored: { atLeast, atMost }, lastLine: { atLeast: plan.startLine + atLeast, atMost: plan.startLine + atMost } },
  };
}
