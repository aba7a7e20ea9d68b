/**
 * Whether a stored JSS document is already in the form the encoder gives it back in, so that a
 * version 2 snapshot can embed its text as it is instead of decoding and re-encoding it (the
 * snapshot's largest cost, paid on every seal and every snapshot of a running database).
 *
 * The check is conservative: true only when `encodeJss(decodeJss(text)) === text` and decoding
 * creates no shared reference, so that the text is also what `encodeProperty` writes for it at
 * any path. Anything unusual (a tag other than a Date or a Set, a key the decoder would rename
 * or reorder, a number or string the parser would rewrite) answers false, and the caller takes
 * the full decode and encode.
 */

const MAX_TIME = 8.64e15;

/** True when `text` is a JSS object whose decode and re-encode gives back exactly `text`. */
export function isCanonicalJssObject(text: string): boolean {
  if (text.charCodeAt(0) !== 0x7b /* { */ || text.includes('__proto__')) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  try {
    // Whitespace, escapes, number forms, duplicate or reordered keys: all rewritten by the parser.
    if (JSON.stringify(parsed) !== text) return false;
    // Without a tag the decoder builds the same tree the parser did.
    return !text.includes('<!') || tagsRoundTrip(parsed);
  } catch {
    // Nested deeper than the stack reaches (the parser goes deeper than stringify): kept as the string it is.
    return false;
  }
}

/** Every tagged key under `node` is one the decoder and encoder give back unchanged. */
function tagsRoundTrip(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return true;
  if (Array.isArray(node)) {
    for (const item of node) if (!tagsRoundTrip(item)) return false;
    return true;
  }
  const obj = node as Record<string, unknown>;
  let names: string[] | null = null;
  for (const key in obj) {
    const value = obj[key];
    // Split as splitTaggedKey does (jss.ts), without a tuple for every key.
    const at = key.charCodeAt(key.length - 1) === 0x3e /* > */ ? key.lastIndexOf('<!') : -1;
    if (at < 0) {
      if (!tagsRoundTrip(value)) return false;
      continue;
    }
    const name = key.slice(0, at);
    const tag = key.slice(at + 2, -1);
    // A decoded name that is an array index moves to the front of its object; one that another key
    // already has is overwritten: either changes the text.
    if (isIndexLike(name) || Object.prototype.hasOwnProperty.call(obj, name)) return false;
    if (tag === 'D') {
      // new Date(n).getTime() === n only for integers in the Date range.
      if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > MAX_TIME) return false;
    } else if (tag === 'S') {
      // Set members are kept as parsed and written as they are; equal primitives collapse.
      if (!Array.isArray(value) || !distinctPrimitives(value)) return false;
    } else return false;
    (names ??= []).push(name);
  }
  return names === null || names.length < 2 || new Set(names).size === names.length;
}

function isIndexLike(name: string): boolean {
  if (name.length === 0 || name.length > 10) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function distinctPrimitives(items: unknown[]): boolean {
  if (items.length < 2) return true;
  const seen = new Set<unknown>();
  for (const item of items) {
    if (item !== null && typeof item === 'object') continue; // each parsed object is its own member
    if (seen.has(item)) return false;
    seen.add(item);
  }
  return true;
}
