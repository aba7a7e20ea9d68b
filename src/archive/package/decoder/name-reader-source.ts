/**
 * Part of the member decoder thread's source (member-worker-source.ts, which defines NL and PLAIN before
 * it): the names a WAL line touches, read from its bytes without parsing it. A diff reads the lines after
 * its first moment for the names they touch (names mode), then keeps, of the lines before that moment,
 * only the ones that may concern those names (keys mode): the rest cannot change the answer. A name is
 * read only where BRI writes it plainly (no escape, valid UTF-8, BRI's key order); any other line is
 * said to be unreadable (names) or kept (keys), so that nothing that may matter is dropped.
 */
export const NAME_READER_SOURCE = `
const { isUtf8 } = require('node:buffer');
const TARGET_AT = Buffer.from('","target":"');
const OLD_KEY_AT = Buffer.from('","oldKey":"');
const MEMBER_AT = Buffer.from('","member":"');
const KEY_DOC = 1, KEY_RENAME = 2, KEY_SET = 3;
/** The names the last readNames call read: KEY_DOC (SET, DELETE), KEY_RENAME or KEY_SET; its target and the old key or member (latin1 forms of the bytes). */
let readAction = 0, readTarget = '', readOther = '';

/** The end of the JSON string that starts at from (after its quote): -1 when it holds an escape or is not UTF-8 (not read by its bytes). */
function plainEnd(buf, from, end) {
  let high = false;
  for (let i = from; i < end; i++) {
    const c = buf[i];
    if (c === 0x22) return high && !isUtf8(buf.subarray(from, i)) ? -1 : i;
    if (c === 0x5c) return -1;
    if (c > 0x7f) high = true;
  }
  return -1;
}

function bytesAt(buf, what, i, end) {
  return i + what.length <= end && buf.compare(what, 0, what.length, i, i + what.length) === 0;
}

/**
 * The names line [from, end) touches, read from its bytes (BRI's key order: action, target, then the
 * old key or member): 2 when read (readAction, readTarget, readOther), 1 for a plaintext entry not read
 * that way (an escape, another order), 0 for a line that is no plaintext entry.
 */
function readNames(buf, from, end) {
  let bar = from;
  while (bar < end && bar - from < 17 && buf[bar] !== 0x7c) bar++;
  const p = bar + 9;
  if (buf[bar] !== 0x7c || !bytesAt(buf, PLAIN, p, end)) return 0;
  const a = p + PLAIN.length;
  const q = plainEnd(buf, a, end);
  if (q < 0 || !bytesAt(buf, TARGET_AT, q, end)) return 1;
  const t = q + TARGET_AT.length;
  const te = plainEnd(buf, t, end);
  if (te < 0) return 1;
  const action = buf.toString('latin1', a, q);
  readTarget = buf.toString('latin1', t, te);
  if (action === 'SET' || action === 'DELETE') { readAction = KEY_DOC; return 2; }
  const second = action === 'RENAME' ? OLD_KEY_AT : action === 'SADD' || action === 'SREM' ? MEMBER_AT : null;
  if (second === null || !bytesAt(buf, second, te, end)) return 1;
  const o = te + second.length;
  const oe = plainEnd(buf, o, end);
  if (oe < 0) return 1;
  readOther = buf.toString('latin1', o, oe);
  readAction = second === OLD_KEY_AT ? KEY_RENAME : KEY_SET;
  return 2;
}

/** A set and member as one name (a NUL cannot be in either as raw bytes: JSON escapes it). */
function pairName(set, member) { return set + NUL + member; }
const NUL = String.fromCharCode(0);
/** The bytes of a name as latin1 (how readNames reads them), and back. */
const asBytes = (s) => Buffer.from(s, 'utf8').toString('latin1');
const asText = (s) => Buffer.from(s, 'latin1').toString('utf8');

/**
 * The lines of region[0, stop) that may concern some keys (documents) or set members: the ones that name
 * one, every RENAME (the caller follows renames into its keys), and every line not read by its bytes.
 * Same shape as plainMatches; null when a line is no plaintext entry (every line then goes back).
 */
function keyMatches(region, stop, keys, pairs) {
  const starts = [];
  const idx = [];
  let k = 0;
  for (let from = 0; from < stop; k++) {
    const end = region.indexOf(NL, from);
    const r = readNames(region, from, end);
    if (r === 0) return null;
    if (r === 1 || readAction === KEY_RENAME || (readAction === KEY_DOC ? keys.has(readTarget) : pairs.has(pairName(readTarget, readOther)))) { starts.push(from); idx.push(k); }
    from = end + 1;
  }
  return { starts, idx, lines: k };
}
`;
