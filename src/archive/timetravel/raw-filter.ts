/**
 * The lines of a WAL member that can concern some names, found on the bytes: a plaintext entry is
 * JSON that names its keys, so each name's JSON form is searched for in the decompressed bytes and
 * only the lines that hold one are turned into text and parsed; the others are only counted (a
 * history is about 1 line in 10,000). Each piece is searched where it lies (only a line cut by a
 * piece boundary is copied). A piece with an entry that is not plaintext (BRI's encryption at rest,
 * where no name can be seen) is handed over whole, line by line.
 */
const NL = 0x0a;
/** How every plaintext entry starts after its line's two `|` fields (the encoder writes `action` first). */
const PLAIN = Buffer.from('|{"action":"');

function count(buf: Buffer, what: number | Buffer, from = 0, to = buf.length): number {
  let n = 0;
  const step = typeof what === 'number' ? 1 : what.length;
  for (let at = buf.indexOf(what, from); at >= 0 && at < to; at = buf.indexOf(what, at + step)) n++;
  return n;
}

export async function filterLines(chunks: AsyncIterable<Buffer>, needles: readonly Buffer[], take: (text: string) => void, skip: (lines: number) => void): Promise<void> {
  /** The whole lines of r[from, to) (to just past a newline). */
  const region = (r: Buffer, from: number, to: number) => {
    if (from >= to) return;
    const lines = count(r, NL, from, to);
    if (count(r, PLAIN, from, to) !== lines) {
      for (let at = from; at < to; ) {
        const end = r.indexOf(NL, at);
        take(r.toString('utf8', at, end));
        at = end + 1;
      }
      return;
    }
    let starts: number[] = [];
    for (const n of needles) {
      for (let at = r.indexOf(n, from); at >= 0 && at < to; ) {
        starts.push(r.lastIndexOf(NL, at) + 1 || from);
        at = r.indexOf(n, r.indexOf(NL, at) + 1);
      }
    }
    if (needles.length > 1) starts = [...new Set(starts)].sort((a, b) => a - b);
    let pos = from;
    let before = 0;
    for (const s of starts) {
      const skipped = count(r, NL, pos, s);
      skip(skipped);
      before += skipped;
      const end = r.indexOf(NL, s);
      take(r.toString('utf8', s, end));
      before++;
      pos = end + 1;
    }
    skip(lines - before);
  };
  let carry: Buffer | null = null;
  for await (const c of chunks) {
    let from = 0;
    if (carry !== null) {
      // The line cut by the boundary: completed from this piece (or carried on, if it holds no newline).
      const nl = c.indexOf(NL);
      if (nl < 0) {
        carry = Buffer.concat([carry, c]);
        continue;
      }
      const line = Buffer.concat([carry, c.subarray(0, nl + 1)]);
      region(line, 0, line.length);
      carry = null;
      from = nl + 1;
    }
    const end = c.lastIndexOf(NL);
    if (end < from) {
      carry = Buffer.from(c.subarray(from));
      continue;
    }
    region(c, from, end + 1);
    // A copy: the decompressor may reuse the piece's memory.
    if (end + 1 < c.length) carry = Buffer.from(c.subarray(end + 1));
  }
  // A last line with no newline (the writer always ends lines).
  if (carry !== null && carry.length > 0) {
    const line = Buffer.concat([carry, Buffer.from([NL])]);
    region(line, 0, line.length);
  }
}
