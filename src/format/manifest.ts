/**
 * manifest.jss: what an archive holds, validated with a schema on read
 * (never trust an archive). Pure: no I/O.
 */
import { z } from 'zod';
import { BriError, ErrorCodes } from '../errors.js';
import { decodeJss, encodeJss } from './jss.js';
import { liftToEffectiveTimes, memberEndTime } from './line-time.js';
import { INSTANCE_ID_PATTERN, isValidInstanceId } from './ids.js';

export { INSTANCE_ID_PATTERN, isValidInstanceId };

export const MANIFEST_VERSION = 1;
export const MANIFEST_MEMBER = 'manifest.jss';
export const SNAPSHOT_MEMBER = 'snapshot.jss.zst';
/** Data members of an archive encrypted with age carry the age suffix: `age -d` is how one reads them by hand. */
export const AGE_SUFFIX = '.age';
export const ENCRYPTED_SNAPSHOT_MEMBER = `${SNAPSHOT_MEMBER}${AGE_SUFFIX}`;
export const CHECKSUMS_MEMBER = 'checksums.sha256';
export const RECOVERY_MEMBER = 'recovery.par2';
export const WAL_MEMBER_RE = /^wal\/(\d{6,})\.wal\.zst(\.age)?$/;

/** The snapshot member's name in an archive, encrypted with age or not. */
export function snapshotMemberName(ageEncrypted: boolean): typeof SNAPSHOT_MEMBER | typeof ENCRYPTED_SNAPSHOT_MEMBER {
  return ageEncrypted ? ENCRYPTED_SNAPSHOT_MEMBER : SNAPSHOT_MEMBER;
}

/** A WAL segment's member name (`wal/000003.wal.zst`, `.age` after it when encrypted). */
export function walMemberName(segment: string, ageEncrypted: boolean): string {
  return `wal/${segment}.zst${ageEncrypted ? AGE_SUFFIX : ''}`;
}

const ARCHIVE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/**
 * Instance ids become directory names (`.seeds/<id>.<line>`), object keys (`shipped/<id>/`) and
 * manifest fields: lowercase letters, digits, '-' and '_' (a UUID, or a name such as `staging`),
 * no '.' (seed file names split on it), lowercase so that case-insensitive file systems never merge two.
 */
/** Archive names: letters with their marks (Devanagari's vowel signs, a decomposed é), digits, a few separators. */
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} ._:@+-]{0,99}$/u;
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const pointer = z.string().regex(/^([0-9a-f]{8})?$/);
const lineNo = z.number().int().nonnegative();
const size = z.number().int().nonnegative();
const date = z.date();
const opCounts = z.strictObject({ SET: size, DELETE: size, RENAME: size, SADD: size, SREM: size });

export function isValidArchiveId(id: string): boolean {
  return ARCHIVE_ID_RE.test(id) && !id.includes('..');
}


export function isValidArchiveName(name: string): boolean {
  return typeof name === 'string' && NAME_RE.test(name);
}

const segmentSchema = z.strictObject({
  /** Member path in the tar, e.g. wal/000003.wal.zst. */
  file: z.string().regex(WAL_MEMBER_RE),
  /** The segment's file name in the data directory, e.g. 000003.wal. */
  segment: z.string().regex(/^\d{6,}\.wal$/),
  /** Absolute line numbers (first..last inclusive) held by this member. */
  firstLine: lineNo,
  lastLine: lineNo,
  entries: size,
  /** The times of the member's first and last lines, as they are written. */
  firstTimestamp: z.number().int().nullable(),
  lastTimestamp: z.number().int().nullable(),
  /**
   * Only when some line of the member is stamped before a line before it (BRI's clock stepped back): how
   * many, and the effective time of its last line (format/line-time.ts), later than its own time when so.
   */
  timesBack: z.strictObject({ lines: z.number().int().positive(), latestTimestamp: z.number().int() }).optional(),
  originalSize: size,
  compressedSize: size,
  sha256,
  /** sha256 of the decompressed bytes. */
  contentSha256: sha256,
});

export const manifestSchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  archiveId: z.string().refine(isValidArchiveId, 'invalid archive id'),
  instanceId: z.string().refine(isValidInstanceId, 'invalid instance id'),
  name: z.string().refine(isValidArchiveName, 'invalid archive name').nullable(),
  /** The archive before this one in the instance's chain, or null for the first. */
  previousArchiveId: z.string().refine(isValidArchiveId).nullable(),
  timeRange: z.strictObject({
    /** The starting state's time (the last line before the archive, or the first line's for line 0). */
    start: date,
    /** The last WAL entry's time. */
    end: date,
    /**
     * When the WAL was sealed for this archive: no line was written between `end` and
     * this instant, so the archive gives the state for any time up to it.
     */
    sealedAt: date,
    /** Absolute line numbers: the state at walLines.start plus lines start+1..end. */
    walLines: z.strictObject({ start: lineNo, end: lineNo }),
  }),
  chain: z.strictObject({
    /** Pointer of the line before the first one ('' at line 0). */
    prevPointer: pointer,
    firstPointer: pointer,
    lastPointer: pointer,
    /** False when entries are encrypted and the key was not given at creation. */
    verified: z.boolean(),
  }),
  contents: z.strictObject({
    snapshot: z.strictObject({
      file: z.union([z.literal(SNAPSHOT_MEMBER), z.literal(ENCRYPTED_SNAPSHOT_MEMBER)]),
      walLine: lineNo,
      version: z.union([z.literal(1), z.literal(2)]),
      encrypted: z.boolean(),
      originalSize: size,
      compressedSize: size,
      sha256,
      contentSha256: sha256,
    }),
    segments: z.array(segmentSchema).max(1_000_000),
    totalWalEntries: size,
    /** Cold-tier documents folded into the starting snapshot. */
    coldDocuments: size,
  }),
  compression: z.strictObject({
    algorithm: z.literal('zstd'),
    level: z.number().int().min(1).max(22),
    originalSize: size,
    compressedSize: size,
  }),
  integrity: z.strictObject({
    algorithm: z.literal('sha256'),
    /** Member path -> sha256 of its bytes as stored in the tar. */
    members: z.record(z.string(), sha256),
    /** sha256 over the sorted "path  hash" lines of all data members. */
    contentSha256: sha256,
  }),
  errorCorrection: z.strictObject({
    enabled: z.boolean(),
    algorithm: z.literal('par2').nullable(),
    redundancy: z.number().min(0).max(1),
    blockSize: size.nullable(),
    recoveryBlockCount: size.nullable(),
  }),
  stats: z.strictObject({
    documentsAtSnapshot: size.nullable(),
    collectionsAtSnapshot: size.nullable(),
    operationsInWal: size,
    /** null when entries are encrypted and the key was not given. */
    byOperation: opCounts.nullable(),
  }),
  createdAt: date,
  createdBy: z.string().max(200),
  retentionUntil: date.nullable(),
  permanent: z.boolean(),
  /**
   * Absent: data members are plain zstd. Otherwise each data member is an age file (zstd inside), for
   * these recipients (public keys, kept so that an operator knows which identity a restore needs; a
   * passphrase is said, never written). Everything else in the manifest stays readable: a restore can
   * be planned and a time checked without the identity.
   */
  encryption: z
    .strictObject({
      scheme: z.literal('age'),
      recipients: z.array(z.string().min(1).max(4096)).max(256),
      passphrase: z.boolean(),
    })
    .optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestSegment = z.infer<typeof segmentSchema>;

/** Encodes a manifest as JSS text. */
export function encodeManifest(manifest: Manifest): string {
  return encodeJss(manifest);
}

/** Decodes and validates manifest text; throws ARCHIVE_INVALID naming the first bad field. */
export function decodeManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = decodeJss(text);
  } catch (err) {
    throw new BriError(ErrorCodes.ARCHIVE_INVALID, `manifest.jss is not valid JSS: ${(err as Error).message}`, {
      hint: 'The archive is damaged; try `bri archive repair` or another copy.',
      cause: err,
    });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BriError(ErrorCodes.ARCHIVE_INVALID, `manifest.jss fails the schema at "${issue.path.join('.')}": ${issue.message}`, {
      hint: 'The archive is damaged or was not written by this tool; try `bri archive repair` or another copy.',
      details: { path: issue.path.join('.') },
    });
  }
  const m = parsed.data;
  // Cross-field rules a schema cannot say.
  const bad = (msg: string) =>
    new BriError(ErrorCodes.ARCHIVE_INVALID, `manifest.jss is inconsistent: ${msg}`, { hint: 'The archive is damaged; try another copy.' });
  if (m.timeRange.walLines.end < m.timeRange.walLines.start) throw bad('walLines.end < walLines.start');
  if (m.contents.snapshot.walLine !== m.timeRange.walLines.start) throw bad('snapshot walLine differs from walLines.start');
  const ageEncrypted = m.encryption !== undefined;
  if (m.contents.snapshot.file !== snapshotMemberName(ageEncrypted)) throw bad(`the snapshot is stored as ${m.contents.snapshot.file}, ${ageEncrypted ? 'an encrypted' : 'a plain'} archive stores it as ${snapshotMemberName(ageEncrypted)}`);
  let expected = m.timeRange.walLines.start + 1;
  let entries = 0;
  const seen = new Set<string>();
  for (const s of m.contents.segments) {
    if (seen.has(s.file)) throw bad(`segment ${s.file} listed twice`);
    seen.add(s.file);
    if (walMemberName(s.segment, ageEncrypted) !== s.file) throw bad(`segment ${s.segment} stored as ${s.file}`);
    if (s.firstLine !== expected || s.lastLine < s.firstLine - 1) throw bad(`segment ${s.segment} lines ${s.firstLine}..${s.lastLine} do not follow line ${expected - 1}`);
    expected = s.lastLine + 1;
    entries += s.lastLine - s.firstLine + 1;
    if (s.entries !== s.lastLine - s.firstLine + 1) throw bad(`segment ${s.segment} says ${s.entries} entries for lines ${s.firstLine}..${s.lastLine}`);
  }
  if (expected - 1 !== m.timeRange.walLines.end) throw bad('segments do not end at walLines.end');
  if (entries !== m.contents.totalWalEntries) throw bad('totalWalEntries differs from the segments');
  if (m.stats.operationsInWal !== m.contents.totalWalEntries) throw bad('stats.operationsInWal differs from totalWalEntries');
  // The range ends at the last line's (effective) time, and the archive is sealed no earlier (what a restore to a time relies on).
  const lastTime = m.contents.segments.reduce<number | null>((t, s) => memberEndTime(s) ?? t, null);
  if (lastTime !== null && m.timeRange.end.getTime() !== lastTime) throw bad(`timeRange.end is not the time of line ${m.timeRange.walLines.end}`);
  if (m.timeRange.sealedAt.getTime() < m.timeRange.end.getTime()) throw bad('timeRange.sealedAt is before timeRange.end');
  // In the order of their numbers: past 999999 a segment's name has 7 digits and sorts before 999999 as text.
  const numbers = m.contents.segments.map((s) => Number(/(\d+)\.wal/.exec(s.file)?.[1] ?? NaN));
  if (numbers.some((n, i) => !(n > (numbers[i - 1] ?? -1)))) throw bad('segments out of order');
  // Checked as written; read at effective times (an archive made before `timesBack` existed has raw ones).
  liftToEffectiveTimes(m);
  return m;
}
