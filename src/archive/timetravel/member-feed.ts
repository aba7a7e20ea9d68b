/**
 * The WAL members a scan will read, read ahead of it: from the manifests alone (their line ranges and
 * per-segment times) the members a scan to a time visits are known before it starts, so each one is
 * read and handed to a decoder thread a few members early. The scan takes them in its own order; what
 * it does not take (it stopped sooner, or starts again with more names) is cancelled.
 */
import type { ManifestSegment } from '../../format/manifest.js';
import type { CatalogArchive } from '../copies/catalog.js';
import type { DecodedMember } from '../package/decoder/member-decoder.js';

export interface PlannedMember {
  /** Index of its archive in the scan's list. */
  archive: number;
  segment: ManifestSegment;
}

/** Members read ahead of the one being applied (two decoder threads, each with one member waiting). */
const AHEAD = 4;

/** The members a scan of `archives` to `until` visits, in order (it walks them as scanTimeline does). */
export function planMembers(archives: readonly CatalogArchive[], until: number | null): PlannedMember[] {
  const out: PlannedMember[] = [];
  let line = archives[0]?.manifest.timeRange.walLines.start ?? 0;
  for (const [i, a] of archives.entries()) {
    const m = a.manifest;
    if (i > 0 && until !== null && m.timeRange.start.getTime() > until && m.timeRange.walLines.start === line) break;
    if (i === 0 || m.timeRange.walLines.start > line) line = m.timeRange.walLines.start;
    for (const seg of m.contents.segments) {
      if (seg.lastLine <= line) continue;
      if (until !== null && seg.firstTimestamp !== null && seg.firstTimestamp > until) return out;
      out.push({ archive: i, segment: seg });
      line = seg.lastLine;
    }
  }
  return out;
}

export class MemberFeed {
  private readonly started = new Map<string, Promise<DecodedMember>>();
  private next = 0;
  private closed = false;

  constructor(
    private readonly plan: readonly PlannedMember[],
    private readonly start: (m: PlannedMember) => Promise<DecodedMember>,
  ) {}

  private begin(m: PlannedMember): Promise<DecodedMember> {
    const p = this.start(m);
    // A failure is the scan's when it takes that member; until then it must not go unhandled.
    p.catch(() => undefined);
    this.started.set(`${m.archive}:${m.segment.file}`, p);
    return p;
  }

  /** The member, decoding (started now if the plan did not foresee it), with the next ones started behind it. */
  take(archive: number, segment: ManifestSegment): Promise<DecodedMember> {
    const key = this.pass(archive, segment);
    const p = this.started.get(key) ?? this.begin({ archive, segment });
    this.started.delete(key);
    return p;
  }

  /** Starts the members after this one, which the caller reads itself. */
  pass(archive: number, segment: ManifestSegment): string {
    const at = this.plan.findIndex((m, i) => i >= this.next && m.archive === archive && m.segment.file === segment.file);
    if (at >= 0) this.next = at + 1;
    for (let i = this.next; i < Math.min(this.plan.length, this.next + AHEAD); i++) {
      const m = this.plan[i]!;
      if (!this.started.has(`${m.archive}:${m.segment.file}`)) this.begin(m);
    }
    return `${archive}:${segment.file}`;
  }

  /** Cancels every member started and not taken. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.started.values()) p.then((d) => d.cancel(), () => undefined);
    this.started.clear();
  }
}
