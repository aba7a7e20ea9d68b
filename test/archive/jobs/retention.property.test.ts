import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BriError, ErrorCodes } from '../../../src/errors.js';
import type { Manifest } from '../../../src/format/manifest.js';
import { assertPolicy, planPrune, type CopyDecision, type PrunePlan, type RetentionArchive, type RetentionPolicy } from '../../../src/archive/jobs/retention.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2024, 5, 1, 12);
const SOURCES = ['local', 's3', 'gcs'] as const;

/** The test's own view of an archive; the planner only ever sees the Manifest built from it. */
interface Arc {
  id: string;
  instance: string;
  createdAt: number;
  start: number;
  sealedAt: number;
  lines: { start: number; end: number };
  permanent: boolean;
  until: number | null;
  copies: string[];
}

function toManifest(a: Arc): Manifest {
  return {
    archiveId: a.id,
    instanceId: a.instance,
    createdAt: new Date(a.createdAt),
    timeRange: { start: new Date(a.start), end: new Date(a.sealedAt), sealedAt: new Date(a.sealedAt), walLines: { ...a.lines } },
    permanent: a.permanent,
    retentionUntil: a.until === null ? null : new Date(a.until),
  } as unknown as Manifest;
}

function toInput(arcs: Arc[]): RetentionArchive[] {
  return arcs.map((a) => ({ manifest: toManifest(a), copies: a.copies.map((source) => ({ source })) }));
}

// ---- generators ----

const arcSpec = fc.record({
  durationH: fc.integer({ min: 1, max: 144 }),
  // Few distinct delays so that createdAt ties across instances actually occur.
  delayMin: fc.constantFrom(0, 10, 30),
  lines: fc.integer({ min: 1, max: 50 }),
  // Rare, as in real use: a permanent archive everywhere would protect the whole history.
  permanent: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  untilH: fc.option(fc.integer({ min: -40 * 24, max: 40 * 24 }), { freq: 5, nil: null }),
  copies: fc.subarray([...SOURCES], { minLength: 1 }),
});

const instanceSpec = fc.record({
  gapH: fc.integer({ min: 1, max: 72 }),
  archives: fc.array(arcSpec, { maxLength: 25 }),
});

/** Builds each chain backwards from a last seal shortly before NOW, so every archive is in the past. */
const historyArb: fc.Arbitrary<Arc[]> = fc.array(instanceSpec, { minLength: 1, maxLength: 3 }).map((instances) => {
  const out: Arc[] = [];
  instances.forEach((inst, i) => {
    const instance = `0000000${i}`;
    const seals: Array<{ start: number; sealedAt: number }> = [];
    let sealedAt = NOW - inst.gapH * HOUR;
    for (let j = inst.archives.length - 1; j >= 0; j--) {
      const start = sealedAt - inst.archives[j]!.durationH * HOUR;
      seals[j] = { start, sealedAt };
      sealedAt = start;
    }
    let line = 0;
    inst.archives.forEach((spec, j) => {
      const end = line + spec.lines;
      out.push({
        id: `i${i}-a${String(j).padStart(2, '0')}`,
        instance,
        createdAt: seals[j]!.sealedAt + spec.delayMin * MINUTE,
        start: seals[j]!.start,
        sealedAt: seals[j]!.sealedAt,
        lines: { start: line, end },
        permanent: spec.permanent,
        until: spec.untilH === null ? null : NOW + spec.untilH * HOUR,
        copies: spec.copies,
      });
      line = end;
    });
  });
  return out;
});

const daysArb = fc.double({ min: 0.5, max: 30, noNaN: true });
const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record({
  keepLocal: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  retentionDays: fc.option(daysArb, { nil: undefined }),
  sourceRetentionDays: fc.option(fc.record({ local: daysArb, s3: daysArb, gcs: daysArb }, { requiredKeys: [] }), { freq: 3, nil: undefined }),
});

// ---- independent reference ----

type Reason = CopyDecision['reason'];

function reference(arcs: Arc[], policy: RetentionPolicy) {
  const tips = new Set<string>();
  for (const instance of new Set(arcs.map((a) => a.instance))) {
    const mine = arcs.filter((a) => a.instance === instance);
    mine.sort((a, b) => b.lines.end - a.lines.end || b.createdAt - a.createdAt);
    tips.add(mine[0]!.id);
  }
  const protection = (a: Arc): Reason | null =>
    tips.has(a.id) ? 'newest' : a.permanent ? 'permanent' : a.until !== null && a.until > NOW ? 'retention-date' : null;
  const daysFor = (source: string) => policy.sourceRetentionDays?.[source] ?? policy.retentionDays;
  const expired = (a: Arc, source: string): boolean => {
    if (tips.has(a.id) || a.permanent) return false;
    if (a.until !== null) return a.until <= NOW;
    const days = daysFor(source);
    return days !== undefined && !(a.sealedAt >= NOW - days * DAY);
  };
  const survivors = arcs
    .filter((a) => a.copies.includes('local') && !expired(a, 'local'))
    .sort((a, b) => b.sealedAt - a.sealedAt || b.lines.end - a.lines.end || b.createdAt - a.createdAt || (b.id > a.id ? 1 : -1));
  const topLocal = new Set(policy.keepLocal === undefined ? survivors.map((a) => a.id) : survivors.slice(0, policy.keepLocal).map((a) => a.id));
  const otherKept = (a: Arc) => a.copies.some((s) => s !== 'local' && !expired(a, s));
  const reasonBefore6 = (a: Arc, source: string): Reason => {
    const p = protection(a);
    if (p) return p;
    if (expired(a, source)) return 'expired';
    const age: Reason = daysFor(source) === undefined ? 'no-age-limit' : 'within-retention';
    if (source !== 'local' || policy.keepLocal === undefined) return age;
    if (topLocal.has(a.id)) return 'keep-local';
    return otherKept(a) ? 'beyond-keep-local' : 'only-copy';
  };
  // Rule 6: an archive the shared retentionDays (or no age limit) keeps is left one copy, the one whose source keeps longest (ties: by name).
  const sharedKeeps = (a: Arc) => a.until === null && (policy.retentionDays === undefined || a.sealedAt >= NOW - policy.retentionDays * DAY);
  const reason = (a: Arc, source: string): Reason => {
    const r = reasonBefore6(a, source);
    if (r !== 'expired' || protection(a) || !sharedKeeps(a)) return r;
    const all = [...a.copies].sort().map((s) => ({ s, r: reasonBefore6(a, s) }));
    if (all.some((x) => x.r !== 'expired' && x.r !== 'beyond-keep-local')) return r;
    const days = (x: string) => daysFor(x) ?? Infinity;
    const keeper = all.filter((x) => x.r === 'expired').reduce((best, x) => (days(x.s) > days(best.s) ? x : best));
    return keeper.s === source ? 'only-copy' : r;
  };
  return { tips, protection, expired, topLocal, otherKept, reason };
}

// ---- helpers ----

const key = (id: string, source: string) => `${id}|${source}`;

function run(arcs: Arc[], policy: RetentionPolicy) {
  const plan = planPrune(toInput(arcs), policy, new Date(NOW));
  const kept = new Map(plan.keep.map((d) => [key(d.archiveId, d.source), d.reason]));
  const removed = new Map(plan.remove.map((d) => [key(d.archiveId, d.source), d.reason]));
  return { plan, kept, removed, ref: reference(arcs, policy) };
}

const byId = (arcs: Arc[]) => new Map(arcs.map((a) => [a.id, a]));
const RUNS = { numRuns: 300 };

describe('planPrune properties', () => {
  it('decides every copy exactly once and invents none', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (arcs, policy) => {
        const { plan } = run(arcs, policy);
        const seen = [...plan.keep, ...plan.remove].map((d) => key(d.archiveId, d.source));
        const expected = arcs.flatMap((a) => a.copies.map((s) => key(a.id, s)));
        expect(new Set(seen).size).toBe(seen.length);
        expect([...seen].sort()).toEqual([...expected].sort());
      }),
      RUNS,
    );
  });

  it('never removes a copy of a permanent archive or of an instance newest archive', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (arcs, policy) => {
        const { plan, ref } = run(arcs, policy);
        const arcOf = byId(arcs);
        for (const d of plan.remove) {
          const a = arcOf.get(d.archiveId)!;
          expect(a.permanent, `${d.archiveId} is permanent`).toBe(false);
          expect(ref.tips.has(a.id), `${d.archiveId} is its instance's newest`).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('removes a copy only for a reason the reference confirms', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (arcs, policy) => {
        const { plan, kept, ref } = run(arcs, policy);
        const arcOf = byId(arcs);
        for (const d of plan.remove) {
          const a = arcOf.get(d.archiveId)!;
          if (d.reason === 'expired') {
            expect(ref.expired(a, d.source)).toBe(true);
          } else {
            expect(d.reason).toBe('beyond-keep-local');
            expect(d.source).toBe('local');
            expect(policy.keepLocal).toBeDefined();
            expect(ref.expired(a, 'local')).toBe(false);
            expect(ref.protection(a)).toBeNull();
            expect(ref.topLocal.has(a.id)).toBe(false);
            expect(a.copies.some((s) => s !== 'local' && kept.has(key(a.id, s)))).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('keeps every copy the policy says to keep', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (arcs, policy) => {
        const { kept, ref } = run(arcs, policy);
        for (const a of arcs) {
          for (const s of a.copies) {
            const wanted = ref.protection(a) !== null || (!ref.expired(a, s) && (s !== 'local' || ref.topLocal.has(a.id)));
            if (wanted) expect(kept.has(key(a.id, s)), `${a.id} on ${s}`).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('gives every copy the reason the reference computes (precedence included)', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (arcs, policy) => {
        const { kept, removed, ref } = run(arcs, policy);
        for (const a of arcs) {
          for (const s of a.copies) {
            const got = kept.get(key(a.id, s)) ?? removed.get(key(a.id, s));
            expect(got, `${a.id} on ${s}`).toBe(ref.reason(a, s));
          }
        }
      }),
      RUNS,
    );
  });

  it('keeps some archive covering every instant in the retained window', () => {
    let checked = 0;
    const pitrPolicy = fc.record({ keepLocal: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), retentionDays: daysArb });
    const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }).map((f) => [0, 1, ...f]);
    fc.assert(
      fc.property(historyArb, pitrPolicy, fractions, (arcs, policy, fs) => {
        const { kept } = run(arcs, policy);
        for (const instance of new Set(arcs.map((a) => a.instance))) {
          const mine = arcs.filter((a) => a.instance === instance);
          for (const f of fs) {
            const t = NOW - f * policy.retentionDays * DAY;
            const covering = mine.filter((a) => a.start <= t && t <= a.sealedAt);
            if (covering.length === 0) continue;
            if (covering.every((a) => a.until !== null && a.until <= NOW)) continue;
            checked++;
            const restorable = covering.some((a) => a.copies.some((s) => kept.has(key(a.id, s))));
            expect(restorable, `instant ${new Date(t).toISOString()} of ${instance}`).toBe(true);
          }
        }
      }),
      RUNS,
    );
    expect(checked).toBeGreaterThan(100);
  });

  it('never removes every copy of an archive that is not expired', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (arcs, policy) => {
        const { kept, ref } = run(arcs, policy);
        for (const a of arcs) {
          if (a.copies.every((s) => ref.expired(a, s))) continue;
          expect(a.copies.some((s) => kept.has(key(a.id, s))), a.id).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('lists oldest archive first then by source, whatever the input order', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (arcs, policy) => {
        const { plan } = run(arcs, policy);
        const reversed = planPrune(toInput([...arcs].reverse()), policy, new Date(NOW));
        expect(reversed).toEqual(plan);
        const arcOf = byId(arcs);
        for (const list of [plan.keep, plan.remove]) {
          for (let i = 1; i < list.length; i++) {
            const prev = arcOf.get(list[i - 1]!.archiveId)!;
            const cur = arcOf.get(list[i]!.archiveId)!;
            expect(prev.sealedAt).toBeLessThanOrEqual(cur.sealedAt);
            if (prev.id === cur.id) expect(list[i - 1]!.source < list[i]!.source).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });
});

// ---- examples ----

interface ArcOpts {
  instance?: string;
  sealedDaysAgo: number;
  end: number;
  permanent?: boolean;
  until?: number | null;
  copies?: string[];
}

function arc(id: string, o: ArcOpts): Arc {
  const sealedAt = NOW - o.sealedDaysAgo * DAY;
  return {
    id,
    instance: o.instance ?? '00000000',
    createdAt: sealedAt + MINUTE,
    start: sealedAt - HOUR,
    sealedAt,
    lines: { start: o.end - 1, end: o.end },
    permanent: o.permanent ?? false,
    until: o.until ?? null,
    copies: o.copies ?? ['local', 's3'],
  };
}

function reasons(plan: PrunePlan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of plan.keep) out[key(d.archiveId, d.source)] = `keep:${d.reason}`;
  for (const d of plan.remove) out[key(d.archiveId, d.source)] = `remove:${d.reason}`;
  return out;
}

const plan = (arcs: Arc[], policy: RetentionPolicy) => reasons(planPrune(toInput(arcs), policy, new Date(NOW)));

describe('planPrune examples', () => {
  it('ages copies against the days and keeps the newest even past its date', () => {
    const arcs = [
      arc('old', { sealedDaysAgo: 20, end: 1 }),
      arc('mid', { sealedDaysAgo: 3, end: 2 }),
      arc('tip', { sealedDaysAgo: 40, end: 3, until: NOW - DAY }),
    ];
    expect(plan(arcs, { retentionDays: 7 })).toEqual({
      'old|local': 'remove:expired',
      'old|s3': 'remove:expired',
      'mid|local': 'keep:within-retention',
      'mid|s3': 'keep:within-retention',
      'tip|local': 'keep:newest',
      'tip|s3': 'keep:newest',
    });
  });

  it('ranks keepLocal by the seal, not by a creation time a host clock that was behind made a year early', () => {
    const behind = { ...arc('new', { sealedDaysAgo: 1, end: 9 }), createdAt: NOW - 365 * DAY };
    const arcs = [arc('old', { sealedDaysAgo: 2, end: 5 }), arc('older', { sealedDaysAgo: 3, end: 2 }), behind];
    expect(plan(arcs, { keepLocal: 2 })).toMatchObject({ 'new|local': 'keep:newest', 'old|local': 'keep:keep-local', 'older|local': 'remove:beyond-keep-local' });
  });

  it('keeps the newest of each instance separately', () => {
    const arcs = [arc('a1', { sealedDaysAgo: 50, end: 9, instance: 'aaaaaaaa' }), arc('b1', { sealedDaysAgo: 60, end: 1, instance: 'bbbbbbbb' }), arc('b0', { sealedDaysAgo: 70, end: 0, instance: 'bbbbbbbb' })];
    expect(plan(arcs, { retentionDays: 1 })).toMatchObject({ 'a1|s3': 'keep:newest', 'b1|s3': 'keep:newest', 'b0|s3': 'remove:expired' });
  });

  it('keeps permanent archives and lets an explicit date override the days both ways', () => {
    const arcs = [
      arc('perm', { sealedDaysAgo: 100, end: 1, permanent: true, until: NOW - DAY }),
      arc('held', { sealedDaysAgo: 90, end: 2, until: NOW + DAY }),
      arc('dropped', { sealedDaysAgo: 1, end: 3, until: NOW }),
      arc('tip', { sealedDaysAgo: 0.5, end: 4 }),
    ];
    expect(plan(arcs, { retentionDays: 30 })).toMatchObject({
      'perm|local': 'keep:permanent',
      'held|s3': 'keep:retention-date',
      'dropped|local': 'remove:expired',
      'dropped|s3': 'remove:expired',
    });
  });

  it('keeps only keepLocal local copies, counting the protected ones, and never the last copy', () => {
    const arcs = [
      arc('a', { sealedDaysAgo: 5, end: 1, copies: ['local'] }),
      arc('b', { sealedDaysAgo: 4, end: 2 }),
      arc('c', { sealedDaysAgo: 3, end: 3, until: NOW + DAY }),
      arc('d', { sealedDaysAgo: 2, end: 4 }),
      arc('e', { sealedDaysAgo: 1, end: 5 }),
    ];
    expect(plan(arcs, { keepLocal: 2 })).toEqual({
      'a|local': 'keep:only-copy',
      'b|local': 'remove:beyond-keep-local',
      'b|s3': 'keep:no-age-limit',
      'c|local': 'keep:retention-date',
      'c|s3': 'keep:retention-date',
      'd|local': 'keep:keep-local',
      'd|s3': 'keep:no-age-limit',
      'e|local': 'keep:newest',
      'e|s3': 'keep:newest',
    });
  });

  it('keeps a local copy as the only one when its remote copy has expired by a shorter source limit', () => {
    const arcs = [arc('x', { sealedDaysAgo: 5, end: 1 }), arc('tip', { sealedDaysAgo: 0, end: 2 })];
    expect(plan(arcs, { keepLocal: 0, retentionDays: 30, sourceRetentionDays: { s3: 2 } })).toMatchObject({
      'x|local': 'keep:only-copy',
      'x|s3': 'remove:expired',
    });
  });

  it('never lets a source\'s own shorter days take the last copy of an archive the shared retention keeps (its local copy gone to keepLocal before)', () => {
    const arcs = [
      arc('d', { sealedDaysAgo: 3, end: 1, copies: ['s3'] }),
      arc('two', { sealedDaysAgo: 3, end: 2, copies: ['gcs', 's3'] }),
      arc('old', { sealedDaysAgo: 40, end: 3, copies: ['s3'] }),
      arc('tip', { sealedDaysAgo: 0, end: 4 }),
    ];
    expect(plan(arcs, { keepLocal: 1, retentionDays: 30, sourceRetentionDays: { s3: 2, gcs: 1 } })).toMatchObject({
      'd|s3': 'keep:only-copy',
      // Of two copies both past their source's days, the one whose source keeps longer stays.
      'two|s3': 'keep:only-copy',
      'two|gcs': 'remove:expired',
      // Past the shared retention, the archive goes whole.
      'old|s3': 'remove:expired',
    });
  });

  it('treats an archive sealed exactly at the cutoff as within retention', () => {
    const arcs = [arc('edge', { sealedDaysAgo: 7, end: 1 }), { ...arc('before', { sealedDaysAgo: 8, end: 0 }), sealedAt: NOW - 7 * DAY - 1 }, arc('tip', { sealedDaysAgo: 0, end: 2 })];
    expect(plan(arcs, { retentionDays: 7 })).toMatchObject({ 'edge|s3': 'keep:within-retention', 'before|s3': 'remove:expired' });
  });

  it('keeps everything without an age limit', () => {
    const arcs = [arc('old', { sealedDaysAgo: 3000, end: 1 }), arc('tip', { sealedDaysAgo: 0, end: 2 })];
    expect(plan(arcs, {})).toMatchObject({ 'old|local': 'keep:no-age-limit', 'old|s3': 'keep:no-age-limit' });
  });
});

describe('assertPolicy', () => {
  const bad: Array<[RetentionPolicy, string]> = [
    [{ keepLocal: -1 }, 'keepLocal'],
    [{ keepLocal: 1.5 }, 'keepLocal'],
    [{ keepLocal: Number.NaN }, 'keepLocal'],
    [{ retentionDays: 0 }, 'retentionDays'],
    [{ retentionDays: -2 }, 'retentionDays'],
    [{ retentionDays: Number.POSITIVE_INFINITY }, 'retentionDays'],
    [{ retentionDays: Number.NaN }, 'retentionDays'],
    [{ sourceRetentionDays: { s3: 0 } }, 'sourceRetentionDays.s3'],
  ];
  it.each(bad)('rejects %o naming %s', (policy, name) => {
    for (const call of [() => assertPolicy(policy), () => planPrune([], policy, new Date(NOW))]) {
      try {
        call();
        expect.unreachable('should have thrown');
      } catch (err) {
        expect(err).toBeInstanceOf(BriError);
        const e = err as BriError;
        expect(e.code).toBe(ErrorCodes.CONFIG_INVALID);
        expect(e.message.startsWith(`archive.${name}: `)).toBe(true);
        expect(e.details).toEqual({ key: name });
        expect(e.hint).toBeTruthy();
      }
    }
  });

  it('accepts fractional days, keepLocal 0 and unset overrides', () => {
    expect(() => assertPolicy({ keepLocal: 0, retentionDays: 0.5, sourceRetentionDays: { s3: undefined, gcs: 0.25 } })).not.toThrow();
    expect(() => assertPolicy({})).not.toThrow();
  });
});
