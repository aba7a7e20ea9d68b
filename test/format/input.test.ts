/** The one input parser (src/format/input.ts): examples of each rule, then a fuzz test over every parser. */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BriError } from '../../src/errors.js';
import {
  DAY_MS,
  LATEST_STORED_MS,
  MAX_TIME_MS,
  parseChoice,
  parseDays,
  parseInteger,
  parseRetention,
  parseTime,
  parseTimeRange,
} from '../../src/format/input.js';
import { parseTimestamp } from '../../src/archive/restore/plan.js';
import { usageOf } from '../support/usage-error.js';

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);


describe('parseTime', () => {
  it('reads ISO 8601 with a zone, a date alone as midnight UTC, and ms since the epoch', () => {
    expect(parseTime('2026-11-24T10:15:02Z')).toBe(Date.UTC(2026, 10, 24, 10, 15, 2));
    expect(parseTime('2026-11-24T10:15:02.25+01:00')).toBe(Date.UTC(2026, 10, 24, 9, 15, 2, 250));
    expect(parseTime('2026-11-24T10:15-0230')).toBe(Date.UTC(2026, 10, 24, 12, 45));
    expect(parseTime('2026-11-24T10:15:02.123456789Z')).toBe(Date.UTC(2026, 10, 24, 10, 15, 2, 123));
    expect(parseTime('2024-01-01')).toBe(Date.UTC(2024, 0, 1));
    expect(parseTime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(new Date(parseTime('0050-03-01')).getUTCFullYear()).toBe(50); // not 1950, as Date.UTC would make it
    expect(parseTime('1795515302000')).toBe(1795515302000);
    expect(parseTime('8640000000000000')).toBe(MAX_TIME_MS);
    expect(parseTime(1234)).toBe(1234);
    expect(parseTime(new Date(5))).toBe(5);
  });

  it('refuses impossible calendar values instead of rolling them over (Feb 30, month 13, hour 24, minute 60)', () => {
    for (const bad of ['2026-02-30', '2026-02-29T00:00Z', '2026-13-45T10:00:00Z', '2026-00-10', '2026-04-31', '2026-01-00', '2026-01-01T24:00Z', '2026-01-01T99:99Z', '2026-01-01T10:60Z', '2026-01-01T10:00:60Z', '2026-01-01T10:00+24:00']) {
      expect(usageOf(() => parseTime(bad, '--at')).message).toContain('--at');
    }
  });

  it('refuses epochs past the Date range, times of day without a zone, and other shapes, never with a RangeError', () => {
    for (const bad of ['99999999999999999999', '8640000000000001', '9'.repeat(400), '2026-01-01T10:00:00', '2026-01-01 10:00Z', '', ' 2026-01-01', '2026-1-1', '1e12', '-5', 'yesterday', '2026-01-01T10Z']) {
      const err = usageOf(() => parseTime(bad));
      expect(err.hint).toMatch(/ISO 8601 with a zone.*a date.*milliseconds since the epoch/);
    }
    for (const bad of [NaN, Infinity, -Infinity, MAX_TIME_MS + 1, new Date(NaN)]) usageOf(() => parseTime(bad));
    expect(usageOf(() => parseTime('2026-01-01T10:00:00')).message).toContain('needs its zone');
  });

  it('parseTimestamp (the API entry of restore) is the same parser', () => {
    expect(parseTimestamp('2024-01-01')).toBe(Date.UTC(2024, 0, 1));
    usageOf(() => parseTimestamp('2026-02-30'));
    usageOf(() => parseTimestamp('99999999999999999999'));
  });
});

describe('parseTimeRange, parseRetention, parseDays, parseInteger, parseChoice', () => {
  it('a range whose after is later than its before is refused; equal ends are a range', () => {
    expect(parseTimeRange({ after: '2024-01-01', before: '2024-01-01' })).toEqual({ after: Date.UTC(2024, 0, 1), before: Date.UTC(2024, 0, 1) });
    expect(parseTimeRange({ before: '2024-01-01' })).toEqual({ before: Date.UTC(2024, 0, 1) });
    expect(usageOf(() => parseTimeRange({ after: '2025-01-01', before: '2024-01-01' }, { after: '--after', before: '--before' })).message).toMatch(/--after .* is later than --before/);
  });

  it("retention: 'permanent', Nd with N >= 1 ending before the year 10000, or a date after now (date-only: midnight UTC)", () => {
    expect(parseRetention('permanent', NOW)).toBe('permanent');
    expect(parseRetention('30d', NOW)).toEqual({ days: 30 });
    expect((parseRetention('2027-01-01', NOW) as Date).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    const maxDays = Math.floor((LATEST_STORED_MS - NOW) / DAY_MS);
    expect(parseRetention(`${maxDays}d`, NOW)).toEqual({ days: maxDays });
    for (const bad of ['0d', `${maxDays + 1}d`, '99999999999d', '99999999999999999999d', '-1d', '1.5d', '30', '2020-01-01', '2026-06-15T12:00:00Z', '10000-01-01', '2026-02-30', 'forever', 'Permanent', '']) {
      expect(usageOf(() => parseRetention(bad, NOW, '--retention')).hint).toMatch(/'permanent', a number of days .*30d.*a date/);
    }
  });

  it('days, whole numbers and choices take only what their rule allows', () => {
    expect(parseDays('7', '--days', NOW)).toBe(7);
    for (const bad of ['0', '1.5', '7d', '', 'x', '99999999999']) usageOf(() => parseDays(bad, '--days', NOW));
    expect(parseInteger('22', '--level', { min: 1, max: 22 })).toBe(22);
    for (const bad of ['0', '23', '3.0', '1e1', ' 3', '0x3', '', '99999999999999999999']) usageOf(() => parseInteger(bad, '--level', { min: 1, max: 22 }));
    expect(parseChoice('fail', ['stop', 'fail'] as const, '--on-broken-shipment')).toBe('fail');
    expect(usageOf(() => parseChoice('maybe', ['stop', 'fail'] as const, '--on-broken-shipment')).hint).toBe('Give --on-broken-shipment as one of: stop, fail.');
  });
});

/**
 * Fuzz: every input either parses to a value that satisfies the parser's documented rule (and
 * round-trips), or throws BriError USAGE; never another exception. The figure is printed.
 */
describe('fuzz over the input parsers', () => {
  let tried = 0;
  afterAll(() => {
    console.log(`input parser fuzz: ${tried} inputs tried`);
  });

  /** Either a value satisfying `rule`, or USAGE. */
  function check<T>(input: unknown, parse: () => T, rule: (v: T) => void): void {
    tried++;
    let value: T;
    try {
      value = parse();
    } catch (err) {
      if (!(err instanceof BriError) || err.code !== 'USAGE') throw new Error(`${JSON.stringify(input)} threw ${String(err)}`);
      expect(err.hint).toBeTruthy();
      return;
    }
    rule(value);
  }

  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  /** Strings shaped like times, with any numbers in each field (many impossible). */
  const timeLike = fc
    .record({
      y: fc.integer({ min: 0, max: 9999 }),
      mo: fc.integer({ min: 0, max: 99 }),
      d: fc.integer({ min: 0, max: 99 }),
      h: fc.integer({ min: 0, max: 99 }),
      mi: fc.integer({ min: 0, max: 99 }),
      s: fc.option(fc.integer({ min: 0, max: 99 })),
      frac: fc.option(fc.stringMatching(/^\d{1,9}$/)),
      zone: fc.oneof(fc.constant('Z'), fc.constant(''), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 70 }), fc.boolean()).map(([sg, h, m, colon]) => `${sg}${pad(h, 2)}${colon ? ':' : ''}${pad(m, 2)}`)),
      dateOnly: fc.boolean(),
    })
    .map((r) => ({
      r,
      text: r.dateOnly ? `${pad(r.y, 4)}-${pad(r.mo, 2)}-${pad(r.d, 2)}` : `${pad(r.y, 4)}-${pad(r.mo, 2)}-${pad(r.d, 2)}T${pad(r.h, 2)}:${pad(r.mi, 2)}${r.s === null ? '' : `:${pad(r.s, 2)}${r.frac === null ? '' : `.${r.frac}`}`}${r.zone}`,
    }));
  /** Any text, digits of any length, and texts built from the characters times are made of. */
  const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^\d{1,30}$/), fc.stringMatching(/^[-+:.T Zdz0-9]{0,30}$/), fc.constantFrom('permanent', 'stop', 'fail', '30d', '0d'), timeLike.map((t) => t.text));

  it('parseTime: a time-shaped text parses exactly when its calendar values exist, to the same instant as an independent reckoning', () => {
    fc.assert(
      fc.property(timeLike, ({ r, text }) => {
        // The reference: Date's own arithmetic, accepted only when the fields come back unchanged.
        const ref = new Date(0);
        ref.setUTCFullYear(r.y, r.mo - 1, r.d);
        ref.setUTCHours(r.dateOnly ? 0 : r.h, r.dateOnly ? 0 : r.mi, r.dateOnly ? 0 : (r.s ?? 0), 0);
        const fieldsExist = ref.getUTCFullYear() === r.y && ref.getUTCMonth() === r.mo - 1 && ref.getUTCDate() === r.d && (r.dateOnly || (ref.getUTCHours() === r.h && ref.getUTCMinutes() === r.mi && (r.s === null || ref.getUTCSeconds() === r.s)));
        const zoneOk = r.dateOnly || (r.zone !== '' && (r.zone === 'Z' || (Number(r.zone.slice(1, 3)) <= 23 && Number(r.zone.slice(-2)) <= 59)));
        const fracMs = !r.dateOnly && r.s !== null && r.frac !== null ? Number(r.frac.slice(0, 3).padEnd(3, '0')) : 0;
        const offset = r.dateOnly || r.zone === 'Z' || r.zone === '' ? 0 : (r.zone[0] === '-' ? -1 : 1) * (Number(r.zone.slice(1, 3)) * 60 + Number(r.zone.slice(-2))) * 60_000;
        check(
          text,
          () => parseTime(text),
          (v) => {
            expect(fieldsExist && zoneOk).toBe(true);
            expect(v).toBe(ref.getTime() + fracMs - offset);
          },
        );
        if (fieldsExist && zoneOk) expect(parseTime(text)).toBe(ref.getTime() + fracMs - offset);
      }),
      { numRuns: 3000 },
    );
  });

  it('parseTime over any text: USAGE or a time in the Date range that reads back from its ISO or epoch form', () => {
    fc.assert(
      fc.property(anyText, (text) =>
        check(
          text,
          () => parseTime(text),
          (v) => {
            expect(Number.isInteger(v) && Math.abs(v) <= MAX_TIME_MS).toBe(true);
            if (/^\d+$/.test(text)) expect(v).toBe(Number(text));
            else if (new Date(v).getUTCFullYear() >= 0 && new Date(v).getUTCFullYear() <= 9999) expect(parseTime(new Date(v).toISOString())).toBe(v);
            // 9 to 11 digits look like epoch seconds and are refused (epoch-seconds.test.ts).
            if (v >= 0 && (v < 1e8 || v >= 1e11)) expect(parseTime(String(v))).toBe(v);
          },
        ),
      ),
      { numRuns: 3000 },
    );
  });

  it('parseTime over any number: USAGE or the number itself when a Date can hold it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(MAX_TIME_MS, -MAX_TIME_MS, MAX_TIME_MS + 1)), (n) =>
        check(n, () => parseTime(n), (v) => {
          expect(v).toBe(n);
          expect(Number.isNaN(new Date(v).getTime())).toBe(false);
        }),
      ),
      { numRuns: 1000 },
    );
  });

  it('parseRetention, parseTimeRange, parseDays, parseInteger, parseChoice over any text: USAGE or a value within their rule', () => {
    fc.assert(
      fc.property(anyText, anyText, fc.integer({ min: 0, max: LATEST_STORED_MS }), (a, b, now) => {
        check(a, () => parseRetention(a, now), (v) => {
          if (v === 'permanent') expect(a).toBe('permanent');
          else if (v instanceof Date) expect(v.getTime() > now && v.getTime() <= LATEST_STORED_MS).toBe(true);
          else expect(Number.isSafeInteger(v.days) && v.days >= 1 && now + v.days * DAY_MS <= LATEST_STORED_MS && a.replace(/^0+(?=\d)/, '') === `${v.days}d`).toBe(true);
        });
        check([a, b], () => parseTimeRange({ after: a, before: b }), (v) => expect(v.after! <= v.before!).toBe(true));
        check(a, () => parseDays(a, '--days', now), (v) => expect(Number.isSafeInteger(v) && v >= 1 && String(v) === a.replace(/^0+(?=\d)/, '')).toBe(true));
        check(a, () => parseInteger(a, '--level', { min: 1, max: 22 }), (v) => expect(Number.isInteger(v) && v >= 1 && v <= 22 && v === Number(a)).toBe(true));
        check(a, () => parseChoice(a, ['stop', 'fail'] as const, '--x'), (v) => expect(v).toBe(a));
      }),
      { numRuns: 2000 },
    );
  });

  it('counts what it tried', () => {
    expect(tried).toBeGreaterThan(10_000);
  });
});
