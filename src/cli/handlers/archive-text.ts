/** How archives, listings and the archive job's results read: text for people, JSON for machines. */
import type { BriError } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import type { CatalogArchive, CopyStatus, CreatedAndStored, ShippingReport } from '../../archive/offline.js';
import type { CommonOptions } from '../options.js';
import { formatBytes, formatTime, printLine } from '../output.js';
import { lineSpan } from '../../format/text/line-range.js';
import { EXIT_OK, exitCodeFor } from '../exit-codes.js';

/** Failed uploads go to stderr, with what happens next (the exit code says it too); under --json they are in the document (uploadJson). */
export function reportUploads(uploads: CopyStatus[], opts: CommonOptions): void {
  if (opts.json) return;
  for (const u of uploads) {
    if (u.outcome === 'failed') {
      process.stderr.write(
        `upload of ${u.archiveId} to ${u.source} FAILED: [${u.error?.code}] ${u.error?.message}\n${u.error?.hint ? `  hint: ${u.error.hint}\n` : ''}  ${u.from !== undefined || u.error?.details?.['noLocalCopy'] === true ? 'it has no local copy and' : 'the archive is kept locally and'} is not counted as stored on ${u.source}; the next create or \`bri archive upload\` tries again\n`,
      );
    } else if (!opts.quiet && u.outcome !== 'recorded-before') {
      const verb = u.outcome !== 'uploaded' ? 'already on' : u.lost ? 'uploaded again to' : 'uploaded';
      const across = u.from ? `; no local copy: copied across from ${u.from}` : '';
      process.stderr.write(`${verb} ${u.source}: ${u.archiveId} (${u.record?.checksum.algorithm} confirmed${u.lost ? `; ${u.lost}` : ''}${across})\n`);
    }
  }
}

interface CleanupOutcome {
  segments: string[];
  lines: number;
  safeLine: number;
  firstLineOnDisk?: number;
  stoppedBy?: { message: string; hint: string } | null;
}

/**
 * What a WAL cleanup did, and why it went no further. Its lines are absolute (from the instance's first
 * line), while \`bri data stats\` counts from the first line on disk: the text says which.
 */
export function cleanupLines(r: CleanupOutcome): string[] {
  const onDisk = r.firstLineOnDisk !== undefined ? `; the WAL on disk ${r.segments.length ? 'started' : 'starts'} at absolute line ${r.firstLineOnDisk + 1}` : '';
  const through = `archived and stored everywhere through absolute line ${r.safeLine}${onDisk}`;
  return [r.segments.length ? `removed ${r.segments.length} segments (${r.lines} lines; ${through}): ${r.segments.join(', ')}` : `nothing to remove (${through})`, ...stopLines(r)];
}

/** Why a WAL cleanup went no further than its safe line, with what to do (nothing when nothing stopped it). */
function stopLines(r: CleanupOutcome): string[] {
  return r.stoppedBy ? [`  stopped there: ${r.stoppedBy.message}`, `  hint: ${r.stoppedBy.hint}`] : [];
}

/** What the WAL cleanup and the pruning after an archive did (or why they failed); under --json the document holds it all. */
export function reportAfterSteps(r: Pick<CreatedAndStored, 'cleanup' | 'prune' | 'hookErrors'>, opts: CommonOptions): void {
  if (opts.json) return;
  const text = (line: string) => printLine(line, opts);
  if (r.cleanup && 'error' in r.cleanup) process.stderr.write(`WAL cleanup failed: [${r.cleanup.error.code}] ${r.cleanup.error.message}\n`);
  else if (r.cleanup) text([`wal cleanup  ${r.cleanup.segments.length} segments removed (${r.cleanup.lines} lines); archived and stored everywhere through absolute line ${r.cleanup.safeLine}`, ...stopLines(r.cleanup)].join('\n'));
  if (r.prune && 'error' in r.prune) process.stderr.write(`pruning failed: [${r.prune.error.code}] ${r.prune.error.message}\n`);
  else if (r.prune) {
    const down = r.prune.unreachable.length ? ` (not listed, not pruned: ${r.prune.unreachable.map((u) => u.source).join(', ')})` : '';
    text(`pruned       ${r.prune.removed.length ? r.prune.removed.map((d) => `${d.source}:${d.archiveId}`).join(', ') : 'nothing'}${down}`);
  }
  for (const e of r.hookErrors) process.stderr.write(`hook failed: ${e}\n`);
}

/** Local copies past keepLocal that prune held back, each with why (a remote lacks it, or a source could not be listed). */
export function heldBackLines(kept: Array<{ archiveId: string; source: string; reason: string; lacking?: string[] }>): string[] {
  return kept.flatMap((d) =>
    d.reason === 'not-on-every-remote' ? [`kept ${d.source}: ${d.archiveId} (past keepLocal, but ${d.lacking?.join(', ')} has no confirmed copy yet: \`bri archive upload\` sends it)`]
    : d.reason === 'source-unreachable' ? [`kept ${d.source}: ${d.archiveId} (past keepLocal, but a source could not be listed: it may be the only copy)`]
    : [],
  );
}

/** Copies prune kept because nothing says when they expire, with what would let it decide. */
export function unreadableKeptLines(unreadable: Array<{ source: string; archiveId: string | null; location: string; reason: 'frozen' | 'damaged' }>): string[] {
  return unreadable.map((u) =>
    u.reason === 'frozen'
      ? `kept ${u.source}: ${u.archiveId ?? u.location} (in an archive tier, its manifest cannot be read and no other copy says when it expires: \`bri archive thaw\` it, then prune again)`
      : `kept ${u.source}: ${u.archiveId ?? u.location} (its manifest is damaged beyond repair and no other copy says when it expires: check it with \`bri archive verify\`, delete it with \`bri archive delete\` if it is not needed)`,
  );
}

/** A source prune could not list: what it leaves undone there, and why. */
export function unlistedSourceLine(u: { source: string; error: BriError }): string {
  return `${u.source} could not be listed: its expired copies were not pruned, and local copies it may hold were kept [${u.error.code}] ${u.error.message}\n${u.error.hint ? `  hint: ${u.error.hint}\n` : ''}`;
}

export function uploadJson(u: CopyStatus): Record<string, unknown> {
  return { archiveId: u.archiveId, source: u.source, outcome: u.outcome, ...(u.lost ? { lost: u.lost } : {}), ...(u.from ? { from: u.from } : {}), ...(u.record ? { copy: u.record } : {}), ...(u.error ? { error: u.error.toJSON() } : {}) };
}

/** The lines an archive holds; one that holds a state and no line says so. */
function lineRange(m: Manifest): string {
  return lineSpan(m.timeRange.walLines.start, m.timeRange.walLines.end);
}

/** One line per archive, the summary people read. */
export function archiveRow(a: { manifest: Manifest; bytes: number; copies?: CatalogArchive['copies'] }): Array<string | number> {
  const m = a.manifest;
  // The quotient of the two columns beside it, as `archive stats` gives it (the file: zstd, tar, PAR2), never
  // the members' zstd ratio alone: a small archive's file is larger than its WAL, and a ratio above 1 beside it read wrong.
  const ratio = a.bytes > 0 ? (m.compression.originalSize / a.bytes).toFixed(1) + 'x' : '-';
  return [
    m.archiveId,
    m.name ?? '',
    `${formatTime(m.timeRange.start.getTime())} .. ${formatTime(m.timeRange.end.getTime())}`,
    lineRange(m),
    formatBytes(m.compression.originalSize),
    formatBytes(a.bytes),
    ratio,
    (a.copies ?? []).map((c) => (c.damaged ? `${c.source} (damaged)` : c.source)).join(',') || 'local',
  ];
}

export const ARCHIVE_HEADERS = ['id', 'name', 'time range', 'lines', 'original', 'size', 'ratio', 'copies'];

export function archiveJson(a: CatalogArchive): Record<string, unknown> {
  return { file: a.file, bytes: a.bytes, copies: a.copies, manifest: a.manifest };
}

type ListingProblems = { unreadable: Array<{ location: string; source: string; error: BriError }>; unreachable: Array<{ source: string; error: BriError }> };

/** Copies that cannot be read and sources that cannot be reached, on stderr. */
export function reportListingProblems(l: ListingProblems): void {
  for (const u of l.unreadable) process.stderr.write(`unreadable: ${u.source}: ${u.location}: [${u.error.code}] ${u.error.message}\n`);
  for (const u of l.unreachable) process.stderr.write(`unreachable: ${u.source}: [${u.error.code}] ${u.error.message}\n`);
}

/**
 * A listing's exit code: when every source asked for could not be listed, nothing was read, and
 * "no archives" would look like an answer: the exit code is the first source's error's. A listing
 * that read some source is an answer (the others are said on stderr and in the JSON).
 */
/**
 * A listing that found nothing while a source could not be read is no answer (a mistyped bucket on a new
 * machine is not "no archives"): that source's exit code. One that found something is an answer, its
 * problems said on stderr, unless every source asked for (`-s`) was down.
 */
export function listingExitCode(l: ListingProblems & { archives: unknown[]; shipped?: unknown[] }, asked: string[] | null): number {
  const down = new Set(l.unreachable.map((u) => u.source));
  const first = l.unreachable[0];
  if (!first || l.archives.length > 0 || (l.shipped?.length ?? 0) > 0) return EXIT_OK;
  return asked === null || asked.every((s) => down.has(s)) ? exitCodeFor(first.error.code) : EXIT_OK;
}

export function listingProblemsJson(l: ListingProblems): Record<string, unknown> {
  return {
    unreadable: l.unreadable.map((u) => ({ source: u.source, location: u.location, error: u.error.toJSON() })),
    unreachable: l.unreachable.map((u) => ({ source: u.source, error: u.error.toJSON() })),
  };
}

export function copiesSummary(a: CatalogArchive): string {
  const state = (c: CatalogArchive['copies'][number]) => (c.frozen ? ', in an archive tier: `bri archive thaw` first' : c.damaged ? ', its manifest is damaged' : '');
  return a.copies.map((c) => `copy        ${c.source}: ${c.location} (${formatBytes(c.bytes)}${c.source !== 'local' && c.recorded ? ', upload confirmed here' : ''}${state(c)})`).join('\n');
}

export function manifestSummary(m: Manifest, bytes?: number): string {
  const s = m.stats;
  return [
    `archive     ${m.archiveId}${m.name ? ` (${m.name})` : ''}`,
    `instance    ${m.instanceId}`,
    `previous    ${m.previousArchiveId ?? '(first of its chain)'}`,
    `time range  ${formatTime(m.timeRange.start.getTime())} .. ${formatTime(m.timeRange.end.getTime())}`,
    `lines       ${lineRange(m)} (${m.contents.totalWalEntries} entries in ${m.contents.segments.length} segments)`,
    `snapshot    at line ${m.contents.snapshot.walLine}, ${s.documentsAtSnapshot ?? '?'} documents${m.contents.snapshot.encrypted ? ', encrypted' : ''}`,
    `operations  ${s.byOperation ? Object.entries(s.byOperation).map(([k, v]) => `${k} ${v}`).join(', ') : 'unknown (encrypted)'}`,
    `chain       ${m.chain.prevPointer || '(start)'} -> ${m.chain.firstPointer === '' ? '(no line)' : `${m.chain.firstPointer} .. ${m.chain.lastPointer}`}${m.chain.verified ? '' : ' (not verified: encrypted)'}`,
    `size        ${formatBytes(m.compression.originalSize)} -> ${formatBytes(m.compression.compressedSize)} zstd-${m.compression.level}${bytes ? `, file ${formatBytes(bytes)}` : ''}`,
    `encryption  ${m.encryption ? `age, ${m.encryption.passphrase ? 'a passphrase' : m.encryption.recipients.join(', ')}` : 'none'}`,
    `recovery    ${m.errorCorrection.enabled ? `par2, ${Math.round(m.errorCorrection.redundancy * 100)}%, ${m.errorCorrection.recoveryBlockCount} blocks of ${m.errorCorrection.blockSize} bytes` : 'none'}`,
    `created     ${formatTime(m.createdAt.getTime())} by ${m.createdBy}`,
    `retention   ${m.permanent ? 'permanent' : m.retentionUntil ? `until ${formatTime(m.retentionUntil.getTime())}` : 'policy'}`,
  ].join('\n');
}

/** What a verify checked of the WAL, as a line says it: an archive encrypted with age and no identity had its stored bytes checked only. */
export function checkedText(c: { walLines: number; chain: string; snapshot: string }): string {
  const lines = c.chain === 'encrypted-not-checked' ? 'WAL lines not opened (encrypted, no identity: stored bytes checked)' : `${c.walLines} WAL lines`;
  return `${lines}, chain ${c.chain}, snapshot ${c.snapshot}`;
}

/**
 * How far one remote holds the instance, for `bri archive stats`. Without continuous shipping the
 * remote holds only archives, and the row says so rather than calling them shipped.
 */
export function reachLine(r: ShippingReport): string {
  const label = r.continuous ? 'shipped    ' : 'on remote  ';
  if (r.error) return `${label} ${r.source}: unknown (${r.error})`;
  if (r.shippedThrough === null) return `${label} ${r.source}: ${r.continuous ? 'nothing yet (no archive there to continue)' : 'no archive of this database yet'}`;
  const what = r.continuous ? 'through' : r.shipments > 0 ? 'archives and shipped WAL through' : 'archives through';
  const off = r.continuous ? '' : r.shipments > 0 ? '; continuous shipping is off in this configuration' : ' (continuous shipping is off)';
  return `${label} ${r.source}: ${what} line ${r.shippedThrough}${r.shippedTimestamp ? ` (${formatTime(r.shippedTimestamp)})` : ''}, ${r.lagLines} lines / ${r.lagSeconds.toFixed(1)} s behind the data directory (line ${r.endLine})${off}`;
}
