/**
 * An archive's retention date. Days are counted from the later of the host's clock and the archive's own
 * seal: a clock behind (a VM booted before NTP synced) would date the archive before the lines it holds
 * were even written, and the next create's prune would delete it long before the days asked for.
 */
import { BriError, ErrorCodes } from '../../errors.js';

export type Retention = 'permanent' | Date | { days: number };

/** The last instant a manifest date can hold (ISO 8601's four-digit years): later ones would not read back. */
const LATEST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function retentionError(message: string): BriError {
  return new BriError(ErrorCodes.USAGE, `retention ${message}`, {
    hint: "Use 'permanent', { days: N } with N a whole number of at least 1 (e.g. { days: 30 }; 30d is the command line's --retention form), or a Date after now and before the year 10000.",
  });
}

/**
 * What a retention becomes in the manifest, checked before anything is written: the reader
 * accepts only real dates, so a retention that would give none is refused here (USAGE).
 */
export function retentionUntil(r: Retention | undefined, createdAt: Date): { retentionUntil: Date | null; permanent: boolean } {
  if (r === undefined) return { retentionUntil: null, permanent: false };
  if (r === 'permanent') return { retentionUntil: null, permanent: true };
  let until: Date;
  if (r instanceof Date) until = r;
  else if (typeof r === 'object' && r !== null && typeof r.days === 'number') {
    // { days: 30, permanent: true } kept 30 days: a key beside days is refused, never dropped.
    const others = Object.keys(r).filter((k) => k !== 'days');
    if (others.length > 0) throw retentionError(`${JSON.stringify(r)} has ${others.map((k) => `'${k}'`).join(', ')} beside days: it takes { days } alone`);
    if (!Number.isSafeInteger(r.days) || r.days < 1) throw retentionError(`of ${r.days} days: days must be a whole number, at least 1`);
    until = new Date(createdAt.getTime() + r.days * 86_400_000);
  } else throw retentionError(`${JSON.stringify(r)} is not 'permanent', { days } or a Date`);
  const ms = until.getTime();
  if (!Number.isFinite(ms) || ms > LATEST_DATE_MS) throw retentionError(`ends after 9999-12-31 or is not a date`);
  if (ms <= createdAt.getTime()) throw retentionError(`until ${until.toISOString()} is not after the archive's creation (${createdAt.toISOString()})`);
  return { retentionUntil: until, permanent: false };
}

/** Lines a live database writes while a create prepares (before its seal) are later than its creation time by about this much at most. */
const PREPARE_SLACK_MS = 60_000;

/**
 * The retention of a made archive: `checked` (counted from the clock at the start of the create) unless it
 * counts days and the archive was sealed later than that clock can explain (the clock was behind), then
 * counted from the seal. A seal a few milliseconds after the start is the create's own work: the days stay
 * counted from `createdAt`, so `retentionUntil - createdAt` is exactly the days asked for.
 */
export function retentionOfSealed(r: Retention | undefined, checked: ReturnType<typeof retentionUntil>, createdAt: Date, sealedAt: Date): ReturnType<typeof retentionUntil> {
  if (r === undefined || r === 'permanent' || r instanceof Date || !madeBeforeItsLastLine(createdAt, sealedAt)) return checked;
  return retentionUntil(r, sealedAt);
}

/**
 * Whether an archive was made, by its host's clock, before its own last line was written (more than a create's
 * preparation can explain): that clock was behind (or the lines' clock ahead), so its creation time orders nothing.
 */
export function madeBeforeItsLastLine(createdAt: Date, end: Date): boolean {
  return createdAt.getTime() + PREPARE_SLACK_MS < end.getTime();
}

/** The warning for an archive made (by the host's clock) before its own last line was written: that clock is behind. */
export function clockBehindWarning(createdAt: Date, end: Date): string | null {
  if (!madeBeforeItsLastLine(createdAt, end)) return null;
  return `this host's clock (${createdAt.toISOString()}) is behind the archive's own last line (${end.toISOString()}): its creation time is wrong; a retention in days is counted from the line's time, and a restore that picks an instance by time may ask which one (check the host clock: NTP)`;
}
