/**
 * The shipped WAL after an archive, written into a restored data directory:
 * one more segment after the archive's last, holding the shipped lines that
 * continue the archive's chain (up to a time, for a point in time). Each
 * next line is taken from the first source whose shipment holding it can be
 * fetched and passes its checks; when none can, the restore stops at the
 * last good line and the result says which range broke it.
 */
import { ErrorCodes, isBriError } from '../../errors.js';
import { isMissingObject } from '../../remote/index.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { applyLiteralEntry, type LiteralState } from '../../format/literal-state.js';
import { parseWalLine } from '../../format/wal-line.js';
import { SegmentFile } from '../../store/wal/segment-file.js';
import { pastTarget } from '../package/replay.js';
import { entryPlaintext, isEncryptedEntry } from '../../store/wal/wal-entry.js';
import type { DecodedShipment, ShipmentRef } from './shipment.js';

export interface ShippedSourceInput {
  source: string;
  refs: readonly ShipmentRef[];
  fetch(ref: ShipmentRef): Promise<DecodedShipment>;
}

/** The chosen source first, then the others in priority order. */
export interface ShippedInput {
  sources: readonly ShippedSourceInput[];
  /** The first line no source has although later ones exist (a shipment missing in the middle). */
  gapAt?: number | null;
}

/** Where the restored chain stands; updated as lines are appended. */
export interface ChainPosition {
  lastLine: number;
  lastPointer: string;
  lastTimestamp: number | null;
  /** The state replayed so far, documents as their literals (null once it cannot be: encrypted without the key). */
  expected: LiteralState | null;
  /** Set once a line encrypted at rest was appended. */
  encrypted?: boolean;
}

export interface ShippedOutcome {
  /** The sources lines were taken from, in the order first used. */
  source: string;
  sources: string[];
  lines: number;
  throughLine: number;
  /** The shipment that stopped the restore before the chain's end, and why (null: none did). */
  broken: { fromLine: number; toLine: number; reason: string; vanished?: true } | null;
  /** Shipments that failed and were taken from another source instead. */
  replaced: Array<{ source: string; fromLine: number; toLine: number; reason: string }>;
  /** The point in time stopped it (lines after it are not restored). */
  stoppedByTime: boolean;
  /** Some line restored was encrypted at rest (the restored snapshot is then encrypted too). */
  encrypted: boolean;
}

/** Why a restore stopped at a line no shipment holds while later ones exist. */
export const MISSING_SHIPMENT = 'missing: no shipment holds this line, later ones exist';

/** `vanished`: listed when the restore was planned, gone when it was read (the remote changed under the restore). */
type Failure = { source: string; fromLine: number; toLine: number; reason: string; vanished?: true };

/** Appends the lines of one shipment that continue `pos`; a line that does not continue the chain is a failure. */
function continueWith(shipment: DecodedShipment, ref: ShipmentRef, pos: ChainPosition, until: number | null, key: EncryptionKey | undefined, buffer: string[]): { failure: string | null; stoppedByTime: boolean } {
  for (const [i, text] of shipment.lines.entries()) {
    const abs = ref.firstLine + i;
    const parsed = parseWalLine(text)!; // decodeShipment checked every line
    if (abs < pos.lastLine) continue;
    if (abs === pos.lastLine) {
      // The line the chain already has: the pointers must agree.
      if (parsed.pointer !== pos.lastPointer) return { failure: `line ${abs} has pointer ${parsed.pointer}, the restored chain ${pos.lastPointer}`, stoppedByTime: false };
      continue;
    }
    if (abs === ref.firstLine && shipment.header.prevPointer !== pos.lastPointer) {
      return { failure: `it continues pointer ${shipment.header.prevPointer}, the restored chain ends at ${pos.lastPointer}`, stoppedByTime: false };
    }
    if (pastTarget(parsed.timestamp, until)) return { failure: null, stoppedByTime: true };
    const encrypted = isEncryptedEntry(parsed.entry);
    if (encrypted) pos.encrypted = true;
    // The replay stops only at a line it cannot read (encrypted at rest, no key); every other line is applied.
    if (pos.expected && !(encrypted && !key)) applyLiteralEntry(pos.expected, entryPlaintext(parsed, key));
    else pos.expected = null;
    buffer.push(text + '\n');
    pos.lastLine = abs;
    pos.lastPointer = parsed.pointer;
    // The effective time (format/line-time.ts): a line stamped back by its host's clock does not move the restored moment back.
    pos.lastTimestamp = pos.lastTimestamp === null ? parsed.timestamp : Math.max(pos.lastTimestamp, parsed.timestamp);
  }
  return { failure: null, stoppedByTime: false };
}

export async function appendShipped(dir: string, segmentIndex: number, pos: ChainPosition, input: ShippedInput, untilTimestamp: number | null, key?: EncryptionKey): Promise<ShippedOutcome> {
  const start = pos.lastLine;
  const out: ShippedOutcome = { source: input.sources[0]?.source ?? '', sources: [], lines: 0, throughLine: pos.lastLine, broken: null, replaced: [], stoppedByTime: false, encrypted: false };
  const failed = new Set<string>();
  const failures: Failure[] = [];
  const file = await SegmentFile.create(dir, segmentIndex);
  try {
    next: for (;;) {
      const want = pos.lastLine + 1;
      for (const src of input.sources) {
        const ref = src.refs.find((r) => r.firstLine <= want && want <= r.lastLine && !failed.has(`${src.source}\n${r.key}`));
        if (!ref) continue;
        let shipment: DecodedShipment;
        try {
          shipment = await src.fetch(ref);
        } catch (err) {
          // No identity, or the wrong one, is not a damaged shipment: restoring less would hide it.
          if (isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING) || isBriError(err, ErrorCodes.DECRYPTION_FAILED)) throw err;
          failed.add(`${src.source}\n${ref.key}`);
          failures.push({ source: src.source, fromLine: ref.firstLine, toLine: ref.lastLine, reason: (err as Error).message, ...(isMissingObject(err) ? { vanished: true as const } : {}) });
          continue;
        }
        const buffer: string[] = [];
        const before = { ...pos };
        const r = continueWith(shipment, ref, pos, untilTimestamp, key, buffer);
        if (r.failure) {
          Object.assign(pos, before);
          failed.add(`${src.source}\n${ref.key}`);
          failures.push({ source: src.source, fromLine: ref.firstLine, toLine: ref.lastLine, reason: r.failure });
          continue;
        }
        await file.append(buffer.join(''), buffer.length);
        if (buffer.length > 0 && !out.sources.includes(src.source)) out.sources.push(src.source);
        if (r.stoppedByTime) {
          out.stoppedByTime = true;
          break next;
        }
        if (pos.lastLine >= want) continue next;
      }
      break;
    }
    await file.finish();
  } catch (err) {
    await file.discard();
    throw err;
  }
  out.lines = pos.lastLine - start;
  out.throughLine = pos.lastLine;
  out.encrypted = pos.encrypted === true;
  if (out.sources.length) out.source = out.sources[0]!;
  // A failure the restore got past (another source had the lines) is a replacement; one it stopped at breaks it.
  for (const f of failures) {
    if (f.toLine <= pos.lastLine) out.replaced.push({ source: f.source, fromLine: f.fromLine, toLine: f.toLine, reason: f.reason });
    else out.broken ??= { fromLine: f.fromLine, toLine: f.toLine, reason: `${f.source}: ${f.reason}`, ...(f.vanished ? { vanished: true as const } : {}) };
  }
  if (out.stoppedByTime) out.broken = null;
  else if (!out.broken && input.gapAt != null && pos.lastLine < input.gapAt) {
    out.broken = { fromLine: input.gapAt, toLine: input.gapAt, reason: MISSING_SHIPMENT };
  }
  return out;
}
