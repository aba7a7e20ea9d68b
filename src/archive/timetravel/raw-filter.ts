/**
 * The lines of a WAL member that can concern some names, found on the bytes: a plaintext entry is
 * JSON that names its keys, so each name's JSON form is searched for in the decompressed bytes and
 * only the lines that hold one are turned into text and parsed; the others are only counted (a
 * history is about 1 line in 10,000). A piece with an entry that is not plaintext (BRI's encryption
 * at rest, where no name can be seen) is handed over whole, line by line.
 */
const NL = 0x0a;
/** How every plaintext entry starts after its line's two `|` fields (the encoder writes `action` first). */
const PLAIN = Buffer.from('|{"action":"');

function count(buf: Buffer, what: number | Buffer): number {
  let n = 0;
  const step = typeof what === 'number' ? 1 : what.length;
  for (let at = buf.indexOf(what); at >= 0; at = buf.indexOf(what, at + step)) n++;
  return n;
}

export async function filterLines(chunks: AsyncIterable<Buffer>, needles: readonly Buffer[], take: (text: string) => void, skip: (lines: number) => void): Promise<void> {
  const region = (r: Buffer) => {
    const lines = count(r, NL);
    if (count(r, PLAIN) !== lines) {
      for (let at = 0; at < r.length; ) {
        const end = r.indexOf(NL, at);
        take(r.toString('utf8', at, end));
        at = end + 1;
      }
      return;
    }
    const starts = new Set<number>();
    for (const n of needles) {
      for (let at = r.indexOf(n); at >= 0; ) {
        starts.add(r.lastIndexOf(NL, at) + 1);
        at = r.indexOf(n, r.indexOf(NL, at) + 1);
      }
    }
    let pos = 0;
    for (const s of [...starts].sort((a, b) => a - b)) {
      skip(count(r.subarray(pos, s), NL));
      const end = r.indexOf(NL, s);
      take(r.toString('utf8', s, end));
      pos = end + 1;
    }
    skip(count(r.subarray(pos), NL));
  };
  let carry: Buffer | null = null;
  for await (const c of chunks) {
    const buf: Buffer = carry ? Buffer.concat([carry, c]) : c;
    const end = buf.lastIndexOf(NL);
    if (end < 0) {
      carry = Buffer.from(buf);
      continue;
    }
    region(buf.subarray(0, end + 1));
    // A copy: the decompressor may reuse the piece's memory.
    carry = end + 1 < buf.length ? Buffer.from(buf.subarray(end + 1)) : null;
  }
  // A last line with no newline (the writer always ends lines).
  if (carry !== null && carry.length > 0) region(Buffer.concat([carry, Buffer.from([NL])]));
}
