/**
 * A WAL segment read as raw chunks of whole lines: the bytes as they are on disk
 * (handed to the compressor untouched, their buffer given up to it) and the
 * same lines as strings, decoded and split once per chunk (for the chain check
 * and the replay). Each chunk has an ArrayBuffer of its own, so it can be
 * transferred to the zstd worker rather than copied.
 */
import * as fsp from 'node:fs/promises';

/** Bytes read at a time. */
const CHUNK = 256 * 1024;
/** Text is decoded in pieces of about this many bytes: each stays under V8's largest regular heap object (128 KiB), not a fresh large-object allocation. */
const DECODE = 60 * 1024;

export interface WalChunk {
  /** Whole lines, each with its newline, in a buffer of its own (ArrayBuffer not shared). */
  bytes: Buffer;
  /** The same lines without their newlines (and without a CR before it). */
  lines: string[];
  /** Local line number of lines[0]. */
  firstLineNo: number;
  /** 1-based line number of lines[0] inside its segment. */
  firstSegmentLine: number;
  /** True when a line ends with CR LF: `bytes` then differs from the lines joined with LF. */
  hasCr: boolean;
}

export interface TornTail {
  lineNo: number;
  segmentLine: number;
  text: string;
}

/** Yields a segment's whole lines by chunk; a last line with no newline comes through `onTorn`. */
export async function* readWalChunks(filePath: string, firstLineNo: number, onTorn: (t: TornTail) => void): AsyncGenerator<WalChunk> {
  const handle = await fsp.open(filePath, 'r');
  try {
    let carry: Buffer = Buffer.alloc(0);
    let position = 0;
    let lineNo = firstLineNo;
    let segmentLine = 1;
    for (;;) {
      const buf = Buffer.allocUnsafeSlow(carry.length + CHUNK);
      carry.copy(buf, 0);
      const { bytesRead } = await handle.read(buf, carry.length, CHUNK, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const end = carry.length + bytesRead;
      const lastNl = buf.lastIndexOf(0x0a, end - 1);
      if (lastNl < 0) {
        carry = Buffer.from(buf.subarray(0, end));
        continue;
      }
      carry = Buffer.from(buf.subarray(lastNl + 1, end));
      const bytes = buf.subarray(0, lastNl + 1);
      let lines: string[] = [];
      for (let at = 0; at <= lastNl; ) {
        const nl = at + DECODE >= lastNl ? lastNl : bytes.indexOf(0x0a, at + DECODE);
        const piece = bytes.toString('utf8', at, nl).split('\n');
        lines = lines.length === 0 ? piece : lines.concat(piece);
        at = nl + 1;
      }
      const hasCr = bytes.indexOf(0x0d) >= 0;
      if (hasCr) for (let i = 0; i < lines.length; i++) if (lines[i]!.endsWith('\r')) lines[i] = lines[i]!.slice(0, -1);
      yield { bytes, lines, firstLineNo: lineNo, firstSegmentLine: segmentLine, hasCr };
      lineNo += lines.length;
      segmentLine += lines.length;
    }
    if (carry.length > 0) onTorn({ lineNo, segmentLine, text: carry.toString('utf8') });
  } finally {
    await handle.close();
  }
}

/** Byte offset, in `bytes`, of the start of line `k` (0-based) of the chunk. */
export function lineOffset(bytes: Buffer, k: number): number {
  let at = 0;
  for (let i = 0; i < k; i++) at = bytes.indexOf(0x0a, at) + 1;
  return at;
}
