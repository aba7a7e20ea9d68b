/**
 * The hash chain's links inside a run of WAL lines, as source for the worker threads that see the
 * lines' bytes (started with `eval`, so shared as text): the member decoder threads (a restore's and a
 * verify's members) and the zstd thread (a create's segments as they are compressed). Each line's
 * pointer must be the first 8 hex digits of sha256(the line before's pointer + its entry), as the
 * store's ChainVerifier computes it; the first line's link needs the line before the run, which the
 * caller checks. Defines NL, CUT, hashHex, linkChecker(), lineEnd() and cutsOf().
 */
/**
 * What linkChecker().summary() says of the lines it was given: their count, the first line's text (its
 * link to the line before is the caller's to check), the first and last times, the last pointer, and
 * `unvouched`: -1 when every line parsed and every link after the first held, else the first line it
 * could not vouch for (the caller checks from there itself).
 */
export interface LinkSummary {
  lines: number;
  first: string | null;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  lastPointer: string;
  unvouched: number;
}

export const LINK_CHECKER_SOURCE = `
const NL = 0x0a;
/** Lines are decoded to text in cuts of about this many bytes (each string under V8's large-object size). */
const CUT = 64 * 1024;
// One-shot sha256 (Node >= 20.12) is about twice as fast as createHash per line.
const oneShotHash = require('node:crypto').hash;
const hashHex = typeof oneShotHash === 'function'
  ? (data) => oneShotHash('sha256', data, 'hex')
  : (data) => require('node:crypto').createHash('sha256').update(data).digest('hex');
const OPEN_BRACE = 0x7b;

/**
 * The links of the hash chain inside a member (check mode): line i's pointer must be the first 8 hex
 * digits of sha256(line i-1's pointer + line i's entry), computed as the caller's chain computes it. The
 * first line's link needs the line before the member: the caller checks it. \`bad\` is the
 * first line whose link was not vouched for here (a mismatch, a line that does not split, an entry that is
 * not plaintext: BRI's encryption at rest); the caller checks that line and every later one itself.
 */
function linkChecker() {
  let prev = '';
  let index = 0;
  let bad = -1;
  let first = null;
  let firstTs = null;
  let lastTs = null;
  // On the text, as the caller's chain does (one string per cut, the lines cut out of it, one hash of a string per
  // line): faster here than looking at each line's bytes with a Buffer call per field. A line vouched for is one
  // the caller's parser takes (a time of 1 to 16 digits, a pointer of 8 lowercase hex digits, a plaintext entry).
  function check(line) {
    const p1 = line.indexOf('|');
    const p2 = p1 < 0 ? -1 : line.indexOf('|', p1 + 1);
    if (p1 <= 0 || p1 > 16 || p2 - p1 !== 9 || p2 + 1 >= line.length || line.charCodeAt(p2 + 1) !== OPEN_BRACE) return false;
    let ts = 0;
    for (let i = 0; i < p1; i++) {
      const d = line.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return false;
      ts = ts * 10 + d;
    }
    for (let i = p1 + 1; i < p2; i++) {
      const c = line.charCodeAt(i);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
    }
    const pointer = line.slice(p1 + 1, p2);
    if (index > 0 && hashHex(prev + line.slice(p2 + 1)).slice(0, 8) !== pointer) return false;
    if (index === 0) { first = line; firstTs = ts; }
    lastTs = ts;
    prev = pointer;
    return true;
  }
  return {
    /** Whole lines region[from, end) (the member's last may have no newline), cut where \`cuts\` (relative to from) say. */
    lines(region, from, end, cuts) {
      let a = from;
      for (const cut of cuts) {
        const b = from + cut;
        if (bad >= 0) { a = b; continue; }
        const texts = region.toString('utf8', a, b).split('\\n');
        if (region[b - 1] === NL) texts.pop();
        for (const line of texts) {
          if (bad < 0 && !check(line)) bad = Math.max(index, 1);
          index++;
        }
        a = b;
      }
    },
    get bad() { return bad; },
    /** What the caller's pass would have found, when every line was vouched for: its line count, first line, times and last pointer. */
    summary() { return { lines: index, first, firstTimestamp: firstTs, lastTimestamp: lastTs, lastPointer: prev, unvouched: bad }; },
  };
}

/** The end of the line that holds byte \`at\` (after its newline), or \`end\` for a last line with none. */
function lineEnd(buf, at, end) {
  const nl = buf.indexOf(NL, at);
  return nl < 0 || nl >= end ? end : nl + 1;
}

/** Where to cut region[from, to) at line ends about every CUT bytes (each cut becomes one string, kept under V8's large-object size). */
function cutsOf(buf, from, to) {
  const cuts = [];
  for (let pos = from; pos < to; ) {
    let e = Math.min(pos + CUT, to);
    if (e < to) {
      const nl = buf.lastIndexOf(NL, e - 1);
      e = nl >= pos ? nl + 1 : lineEnd(buf, e, to);
    }
    cuts.push(e - from);
    pos = e;
  }
  return Int32Array.from(cuts);
}
`;
