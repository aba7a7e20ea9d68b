/**
 * A line a scan cannot read (not a WAL line, or not an operation), told as what holds it: a scan
 * reads lines from archive members, shipped WAL objects and the data directory's own WAL, and the
 * way on differs (repair the archive, another shipment, repair the data directory). Said as one
 * source's damage, the others sent the user to verify an archive that `archive verify` finds whole.
 */
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { ManifestSegment } from '../../format/manifest.js';
import { walCorrupted } from '../../store/recovery.js';

/** Thrown by a scan's line replay; the part of the scan reading that source turns it into its error. */
export class BadLine {
  constructor(
    /** Its absolute line number (as the archives number lines). */
    readonly line: number,
    readonly reason: string,
    readonly cause?: unknown,
  ) {}
}

/** A line that parsed but is not an operation (WAL_CORRUPTED from its decoding) is a bad line; other errors (a key's) are not. */
export function asBadLine(err: unknown, line: number): unknown {
  return isBriError(err, ErrorCodes.WAL_CORRUPTED) ? new BadLine(line, err.message, err) : err;
}

/** A bad line inside an archive member (its checksum may catch the damage later: a good copy is then looked for). */
export function archiveLineError(archiveId: string, seg: Pick<ManifestSegment, 'file' | 'firstLine'>, bad: BadLine): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `archive ${archiveId}: ${seg.file} line ${bad.line - seg.firstLine + 1} (line ${bad.line}): ${bad.reason}`, {
    hint: 'Verify and repair the archive (`bri archive verify`, `bri archive repair`).',
    details: { archiveId, member: seg.file, line: bad.line },
    cause: bad.cause,
  });
}

/** A bad line in a shipped WAL object (one that passed its own checks: written so by what shipped it). */
export function shippedLineError(key: string, bad: BadLine): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${key}: line ${bad.line}: ${bad.reason}`, {
    hint: 'The shipped WAL object is damaged or not ours: ask another source for it (--source), or an earlier moment.',
    details: { key, line: bad.line },
    cause: bad.cause,
  });
}

/**
 * A bad line in the data directory's WAL, named as the store names it (`bri data verify` finds it
 * there): its segment, its line in it, and its line among the directory's (`startsAt`: the first line
 * the directory holds, those before it removed once archived).
 */
export function walLineError(seg: { key: string; firstLine: number }, startsAt: number, bad: BadLine): BriError {
  const segment = path.basename(seg.key);
  const segmentLine = bad.line - seg.firstLine + 1;
  const lineNo = bad.line - startsAt + 1;
  return walCorrupted({ segment, segmentLine, lineNo }, bad.reason, bad.cause, { line: bad.line });
}
