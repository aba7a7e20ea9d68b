/**
 * WAL hash-chain verification: recompute every pointer from the one before and
 * name the first line where the chain breaks (file, line, expected and found).
 */
import type { EncryptionKey } from '../../format/encryption.js';
import { decodeOperation } from '../../format/operation.js';
import { computePointer, GENESIS_POINTER } from '../../format/pointer.js';
import { parseWalLine, type WalLine } from '../../format/wal-line.js';
import { listSegments } from '../layout.js';
import { entryPlaintext, isEncryptedEntry } from './wal-entry.js';
import { readWal, type RawLine } from './wal-reader.js';
import { segmentsBeingRemoved } from './wal-cleanup.js';

export type ChainBreakReason = 'pointer-mismatch' | 'unparsable' | 'blank' | 'decrypt-failed' | 'not-an-operation';

export interface ChainBreak {
  lineNo: number;
  segment: string;
  segmentLine: number;
  reason: ChainBreakReason;
  /** The pointer the chain requires at this line (null when the line cannot be hashed). */
  expected: string | null;
  /** The pointer the line carries (null when it does not parse). */
  found: string | null;
  /** Why the store's decoder refuses the entry ('not-an-operation'). */
  detail?: string;
}

export interface ChainState {
  /** Lines seen, including the bad one. */
  lines: number;
  /** Pointer of the last good line. */
  lastPointer: string;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** False when entries are encrypted and no key was given: only line format was checked. */
  pointersChecked: boolean;
}

/**
 * Feeds lines in order and stops at the first break. `startPointer` is the pointer
 * before the first line: '' for a log complete from line 1, or null to anchor on
 * the first line (leading segments removed), whose pointer is then taken as given.
 */
export class ChainVerifier {
  readonly state: ChainState;
  firstBreak: ChainBreak | null = null;
  /** The first line had to be taken on trust (no known pointer before it). */
  anchored = false;
  private prev: string | null;

  /** `decodeOperations`: also decode each entry as the store's replay does, a line it refuses breaking the chain. */
  constructor(startPointer: string | null, private readonly key?: EncryptionKey, private readonly opts: { decodeOperations?: boolean } = {}) {
    this.prev = startPointer;
    this.state = { lines: 0, lastPointer: startPointer ?? '', firstTimestamp: null, lastTimestamp: null, pointersChecked: true };
  }

  /** Returns false once the chain is broken (further lines are ignored). */
  push(line: Pick<RawLine, 'lineNo' | 'segment' | 'segmentLine' | 'text'>): boolean {
    return this.pushParsed(line, line.text.length === 0 ? null : parseWalLine(line.text), line.text.length === 0);
  }

  /**
   * The same, for a line its caller has parsed already (null: it does not parse; `blank`: it is empty): each line is parsed once.
   * `vouched`: the link from the line before to this one was checked elsewhere (a decoder thread hashed it), so it is not hashed again.
   */
  pushParsed(line: Pick<RawLine, 'lineNo' | 'segment' | 'segmentLine'>, parsed: WalLine | null, blank = false, vouched = false): boolean {
    if (this.firstBreak) return false;
    this.state.lines++;
    // (No closure per line: this runs once for every line of a restore.)
    if (blank) return this.fail(line, 'blank', null, null);
    if (parsed === null) return this.fail(line, 'unparsable', null, null);
    this.state.firstTimestamp ??= parsed.timestamp;
    if (isEncryptedEntry(parsed.entry) && this.key === undefined) {
      this.state.pointersChecked = false;
    } else if (this.prev === null || vouched) {
      if (this.prev === null) this.anchored = true;
      if (this.opts.decodeOperations && !this.isOperation(line, parsed, null)) return false;
    } else {
      let plain: string;
      try {
        plain = entryPlaintext(parsed, this.key);
      } catch {
        return this.fail(line, 'decrypt-failed', null, parsed.pointer);
      }
      const expected = computePointer(this.prev, plain);
      if (expected !== parsed.pointer) return this.fail(line, 'pointer-mismatch', expected, parsed.pointer);
      if (this.opts.decodeOperations && !this.isOperation(line, parsed, plain)) return false;
    }
    this.prev = parsed.pointer;
    this.state.lastPointer = parsed.pointer;
    this.state.lastTimestamp = parsed.timestamp;
    return true;
  }

  /**
   * `lines` more lines, each parsed and linked to the one before it elsewhere (a decoder thread vouched for a
   * member's lines after its first): the chain goes on from the last of them.
   */
  vouched(lines: number, lastPointer: string, lastTimestamp: number | null): void {
    if (this.firstBreak || lines === 0) return;
    this.state.lines += lines;
    this.prev = lastPointer;
    this.state.lastPointer = lastPointer;
    this.state.lastTimestamp = lastTimestamp;
  }

  /** With the same decoder as the store's replay: a line the open would refuse is no good link, whatever its pointer. */
  private isOperation(line: Pick<RawLine, 'lineNo' | 'segment' | 'segmentLine'>, parsed: WalLine, plain: string | null): boolean {
    let text: string;
    try {
      text = plain ?? entryPlaintext(parsed, this.key);
    } catch {
      return this.fail(line, 'decrypt-failed', null, parsed.pointer);
    }
    try {
      decodeOperation(text);
      return true;
    } catch (err) {
      return this.fail(line, 'not-an-operation', null, parsed.pointer, (err as Error).message);
    }
  }

  private fail(line: Pick<RawLine, 'lineNo' | 'segment' | 'segmentLine'>, reason: ChainBreakReason, expected: string | null, found: string | null, detail?: string): false {
    this.firstBreak = { lineNo: line.lineNo, segment: line.segment, segmentLine: line.segmentLine, reason, expected, found, ...(detail !== undefined ? { detail } : {}) };
    return false;
  }
}

export interface ChainReport extends ChainState {
  ok: boolean;
  segments: number;
  firstBreak: ChainBreak | null;
  /** No pointer is known before the first line on disk (leading segments removed): the chain starts on trust, and the log is not whole from line 1. */
  anchored: boolean;
  /** A last line with no newline that does not parse: a torn write, tolerated by recovery. */
  tornTail: { lineNo: number; segment: string } | null;
}

export interface VerifyChainOptions {
  encryptionKey?: EncryptionKey;
  /** Pointer before the first line on disk; default '' when wal/000000.wal is present, else anchor on line 1. */
  startPointer?: string | null;
  /** Decode every entry as the store's replay does (what `bri data verify` checks): a line it refuses breaks the chain. */
  decodeOperations?: boolean;
}

export async function verifyChain(dataDir: string, options: VerifyChainOptions = {}): Promise<ChainReport> {
  // A cleanup that committed but did not finish (the next open finishes it) no longer has these: the
  // chain is read as the open will leave it, matching the snapshot's walLine, which was lowered already.
  const leaving = await segmentsBeingRemoved(dataDir);
  const segments = (await listSegments(dataDir)).filter((seg) => !leaving.has(seg.name));
  const start = options.startPointer !== undefined ? options.startPointer : segments[0]?.index === 0 || segments.length === 0 ? GENESIS_POINTER : null;
  const verifier = new ChainVerifier(start, options.encryptionKey, { decodeOperations: options.decodeOperations ?? false });
  let tornTail: ChainReport['tornTail'] = null;
  let pendingTorn: RawLine | null = null;
  outer: for await (const batch of readWal(dataDir, { segments })) {
    for (const line of batch) {
      if (pendingTorn) {
        verifier.push(pendingTorn); // something follows: it was not a torn tail after all
        pendingTorn = null;
        if (verifier.firstBreak) break outer;
      }
      if (!line.terminated && mayBeTorn(line.text, options)) {
        pendingTorn = line;
        continue;
      }
      if (!verifier.push(line)) break outer;
    }
  }
  if (pendingTorn) tornTail = { lineNo: pendingTorn.lineNo, segment: pendingTorn.segment };
  return {
    ...verifier.state,
    ok: verifier.firstBreak === null,
    segments: segments.length,
    firstBreak: verifier.firstBreak,
    anchored: verifier.anchored || start === null,
    tornTail,
  };
}

/**
 * Whether an unterminated line is a write recovery tolerates as torn when nothing follows it: it does not
 * parse, or (decoding) its entry is no operation, as the replay's decoder says. Without the key, it is taken as written.
 */
function mayBeTorn(text: string, options: VerifyChainOptions): boolean {
  const parsed = parseWalLine(text);
  if (parsed === null) return true;
  if (!options.decodeOperations || (isEncryptedEntry(parsed.entry) && options.encryptionKey === undefined)) return false;
  try {
    decodeOperation(entryPlaintext(parsed, options.encryptionKey));
    return false;
  } catch {
    return true;
  }
}
