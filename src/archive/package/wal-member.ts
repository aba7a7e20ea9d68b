/**
 * One pass over a WAL member of a package, for every reader that needs its
 * lines (verify, restore): the stored bytes hashed, decompressed once (in
 * 64 KiB pieces: a larger string is a large-object allocation in V8, with
 * page faults, for every piece), the decompressed bytes hashed, split at the
 * byte level, each line parsed once and handed to the hash chain and to the
 * caller, and the bytes themselves passed on as they are (a restore writes
 * them; nothing is joined or encoded again). A restore to a point in time
 * stops at the first line past it: the bytes before that line are passed on,
 * and the rest of the member is still read and hashed, so that the stored
 * checksum vouches for what was written.
 */
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { ManifestSegment } from '../../format/manifest.js';
import { parseWalLine, type WalLine } from '../../format/wal-line.js';
import type { ChainVerifier } from '../../store/wal/chain.js';
import { decompressChunks } from './compress.js';
import type { DecodedMember } from './decoder/member-decoder.js';
import type { SharedPool } from './decoder/shared-pool.js';
import { pastTarget } from './replay.js';

export interface WalMemberOptions {
  /** The chain the lines continue (null: not checked). */
  chain: ChainVerifier | null;
  /** Stop at the first line stamped later than this (a point in time); null: the whole member. */
  untilTimestamp: number | null;
  /** Each line kept, parsed (null: it does not parse), in order. */
  onLine?(parsed: WalLine | null, lineNo: number): void;
  /** The member's decompressed bytes up to the stop, as they are (a restore writes them). */
  sink?(bytes: Buffer): Promise<void> | void;
  /** Decompressed bytes so far (progress). */
  onBytes?(n: number): void;
  /** The stored bytes are an age file: decrypted here, after the stored hash and before zstd. */
  decrypt?(stored: AsyncIterable<Buffer>): AsyncIterable<Buffer>;
}

export interface WalMemberResult {
  /** Lines kept (before the stop). */
  lines: number;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** Whether a line past the point in time stopped it. */
  stopped: boolean;
  /** Decompressed bytes and their sha256 (the whole member's when not stopped). */
  contentBytes: number;
  contentSha256: string;
  /** sha256 of the member's stored (compressed) bytes, always of the whole member. */
  storedSha256: string;
}

/** A member passed from a decoder thread: its decompressed bytes stay in use until released. */
export interface DecodedWalMemberResult extends WalMemberResult {
  /** Gives the member's memory back to the decoder thread: once the sink's writes of it are done. */
  release(): void;
}

const NL = 0x0a;

/**
 * Takes a member's lines in order: each parsed once, chained, counted and handed on; false for the first
 * past the point in time (it is not taken). `vouched`: its link to the line before was checked on a
 * decoder thread (never the member's first: that link needs the line before the member).
 */
function lineTaker(seg: ManifestSegment, opts: Omit<WalMemberOptions, 'decrypt'>, r: WalMemberResult): (text: string, vouched?: boolean) => boolean {
  let lineNo = seg.firstLine;
  return (text, vouched = false) => {
    const parsed = text.length === 0 ? null : parseWalLine(text);
    if (parsed && pastTarget(parsed.timestamp, opts.untilTimestamp)) return false;
    const index = lineNo - seg.firstLine;
    opts.chain?.pushParsed({ lineNo, segment: seg.segment, segmentLine: index + 1 }, parsed, text.length === 0, vouched && index > 0);
    if (parsed) {
      r.firstTimestamp ??= parsed.timestamp;
      r.lastTimestamp = parsed.timestamp;
    }
    opts.onLine?.(parsed, lineNo);
    lineNo++;
    r.lines++;
    return true;
  };
}

export async function passWalMember(stored: AsyncIterable<Buffer>, name: string, seg: ManifestSegment, opts: WalMemberOptions): Promise<WalMemberResult> {
  const storedHash = createHash('sha256');
  const content = createHash('sha256');
  const r: WalMemberResult = { lines: 0, firstTimestamp: null, lastTimestamp: null, stopped: false, contentBytes: 0, contentSha256: '', storedSha256: '' };
  // The end of the last line not yet handed to the sink: bytes of lines not complete yet wait here.
  let pending: Buffer[] = [];
  let carry = '';
  // A piece may end inside a character: the decoder keeps those bytes for the next one.
  const decoder = new StringDecoder('utf8');
  const iterator = stored[Symbol.asyncIterator]();
  const hashed: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        const n = await iterator.next();
        if (!n.done) storedHash.update(n.value);
        return n;
      },
    }),
  };
  const line = lineTaker(seg, opts, r);
  const flush = async (parts: Buffer[]) => {
    for (const p of parts) {
      if (p.length === 0) continue;
      content.update(p);
      r.contentBytes += p.length;
      await opts.sink?.(p);
    }
  };
  for await (const chunk of decompressChunks(opts.decrypt ? opts.decrypt(hashed) : hashed, name, seg.originalSize)) {
    if (r.stopped) continue; // read on: the stored hash covers the whole member
    opts.onBytes?.(chunk.length);
    const lastNl = chunk.lastIndexOf(NL);
    if (lastNl < 0) {
      pending.push(chunk);
      carry += decoder.write(chunk);
      continue;
    }
    // Lines are split on the string, decoded once per piece; the bytes stay as they came.
    const texts = (carry + decoder.write(chunk.subarray(0, lastNl))).split('\n');
    let kept = 0;
    for (const text of texts) {
      if (!line(text)) break;
      kept++;
    }
    if (kept === texts.length) {
      await flush([...pending, chunk.subarray(0, lastNl + 1)]);
      pending = [chunk.subarray(lastNl + 1)];
      carry = decoder.write(chunk.subarray(lastNl + 1));
      continue;
    }
    // Stopped inside this piece: the bytes of the kept lines only (their length measured once, here).
    const keptText = texts.slice(0, kept).join('\n') + (kept > 0 ? '\n' : '');
    let want = Buffer.byteLength(keptText);
    const out: Buffer[] = [];
    for (const b of [...pending, chunk]) {
      if (want <= 0) break;
      out.push(b.subarray(0, Math.min(b.length, want)));
      want -= b.length;
    }
    await flush(out);
    pending = [];
    carry = '';
    r.stopped = true;
  }
  if (!r.stopped) carry += decoder.end();
  if (!r.stopped && carry.length > 0) {
    // A last line with no newline (the writer always ends lines; kept as it is).
    if (line(carry)) await flush(pending);
    else r.stopped = true;
  }
  r.contentSha256 = content.digest('hex');
  r.storedSha256 = storedHash.digest('hex');
  return r;
}

/**
 * The same pass over a member that a decoder thread has read, checked against its stored sha256,
 * decompressed, hashed and whose chain links it has checked (check mode, `decoder/`): this thread
 * splits, parses and hands on the lines, and hashes only the links the decoder did not vouch for
 * (the member's first, which needs the line before it, and any from a line that is not plaintext).
 * `storedSha256` is the one the decoder held the stored bytes to (the manifest's); the bytes handed to
 * the sink are the decoder's, which stay valid until `release()`.
 */
export async function passDecodedMember(decoded: DecodedMember, storedSha256: string, seg: ManifestSegment, opts: Omit<WalMemberOptions, 'decrypt'>): Promise<DecodedWalMemberResult> {
  const held: Array<{ release(): void }> = [];
  const release = () => {
    for (const p of held.splice(0)) p.release();
  };
  const r: DecodedWalMemberResult = { lines: 0, firstTimestamp: null, lastTimestamp: null, stopped: false, contentBytes: 0, contentSha256: '', storedSha256, release };
  const line = lineTaker(seg, opts, r);
  try {
    for await (const piece of decoded.checked()) {
      held.push(piece);
      if (r.stopped) continue; // read on: the decoder checks the stored bytes of the whole member
      const { bytes, cuts, unvouched } = piece;
      let from = 0;
      for (const cut of cuts) {
        const texts = bytes.toString('utf8', from, cut).split('\n');
        if (bytes[cut - 1] === NL) texts.pop();
        let kept = 0;
        for (const text of texts) {
          // The lines before the first the decoder did not vouch for (all when -1) need no hash here.
          if (!line(text, unvouched < 0 || r.lines < unvouched)) break;
          kept++;
        }
        // Stopped inside this cut: its bytes up to the end of the last kept line.
        let end = cut;
        if (kept < texts.length) {
          end = from;
          for (let k = 0; k < kept; k++) end = bytes.indexOf(NL, end) + 1;
          r.stopped = true;
        }
        if (end > from) {
          r.contentBytes += end - from;
          opts.onBytes?.(end - from);
          await opts.sink?.(bytes.subarray(from, end));
        }
        if (r.stopped) break;
        from = cut;
      }
      if (!opts.sink) release();
    }
    if (!r.stopped) r.contentSha256 = decoded.content.sha256;
  } catch (err) {
    release();
    throw err;
  }
  if (!opts.sink) release();
  return r;
}

/** A member's stored bytes in one buffer of their own (it moves to a decoder thread); the tar reader holds a member to its header's size. */
export async function collectMember(data: AsyncIterable<Buffer>, size: number, opts: { shared?: SharedPool } = {}): Promise<Buffer> {
  // Shared memory: a decoder thread reads it as it is (no copy), and it stays readable here.
  const out = opts.shared ? opts.shared.take(size) : Buffer.allocUnsafeSlow(size);
  let at = 0;
  for await (const c of data) at += c.copy(out, at);
  return at === size ? out : out.subarray(0, at);
}
