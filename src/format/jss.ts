/**
 * JSS: JSON whose object keys carry a type tag (`key<!T>`) so that values JSON
 * cannot hold survive a round trip. Encoding follows BRI's own output so that
 * decode + encode gives back the same text byte for byte.
 */
import { BriError, ErrorCodes } from '../errors.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A tag for one value: a single letter, or an array tag `[a,,b]` for arrays holding tagged elements. */
type Tag = string;

interface EncodeContext {
  /**
   * First path at which each object was seen, to emit `P` for cycles and shared references; null when
   * no pointer can name that place (a key on the way holds a '/', which a pointer's path would split).
   */
  seen: Map<object, string | null>;
  /** The objects being encoded (the current one's ancestors): a cycle through an unnameable place cannot be written. */
  open: Set<object>;
}

function joinPath(path: string | null, key: string): string | null {
  if (path === null || key.includes('/')) return null;
  return path === '' ? key : `${path}/${key}`;
}

/**
 * A name the decoder would read as something else: one ending in a type tag (`a<!D>`, `a<!>`) loses its
 * end or is refused as an unknown tag. Refused (JSS_INVALID) rather than written into a document or a
 * snapshot that would not read back. (`__proto__` is an ordinary name: see setField.)
 */
export function assertStorableName(name: string, what: string): void {
  if (name.endsWith('>') && name.includes('<!')) {
    throw new BriError(ErrorCodes.JSS_INVALID, `${what} ${JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name)} cannot be stored: its end reads as a JSS type tag ('<!...>')`, {
      hint: "Use another name: one that does not end in '<!...>'.",
    });
  }
}

/**
 * Sets `obj[key]` as an own field of the object, as JSON.parse does. An assignment with the key
 * `__proto__` replaces the object's prototype instead, and the field (a document keyed so in a
 * snapshot, a field BRI wrote) would be gone from the keys, the text written back and the dump.
 */
export function setField(obj: object, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else (obj as Record<string, unknown>)[key] = value;
}

/** Encodes one value; returns the JSON value and the tag its key must carry ('' for none). */
function encodeValue(value: unknown, path: string | null, ctx: EncodeContext): [Json, Tag] {
  if (value === undefined) return [null, 'U'];
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return [value, ''];
  if (typeof value === 'number') return [value, ''];
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    throw new BriError(ErrorCodes.JSS_INVALID, `JSS cannot encode a ${typeof value} at "${path}"`, {
      hint: 'Store only JSON values, Dates, RegExps, Errors, Sets and Maps.',
    });
  }
  if (value instanceof Date) {
    // NaN is written as null, which no reader takes back as a Date: the document would read back as its raw text.
    if (Number.isNaN(value.getTime())) throw new BriError(ErrorCodes.JSS_INVALID, `JSS cannot encode an Invalid Date at "${path}"`, { hint: 'Store a valid Date (or null).' });
    return [value.getTime(), 'D'];
  }
  if (value instanceof RegExp) return [value.toString(), 'R'];
  if (value instanceof Error) return [[value.name, value.message, value.stack ?? null], 'E'];
  const obj = value as object;
  const first = ctx.seen.get(obj);
  if (first !== undefined && first !== null) return [first, 'P'];
  // Seen only where no pointer can name it: written again here (a copy), unless that is a cycle.
  if (ctx.open.has(obj)) {
    throw new BriError(ErrorCodes.JSS_INVALID, 'JSS cannot encode a cycle through a key holding "/" (a pointer path would split it)', { hint: 'Break the cycle, or rename the key without "/".' });
  }
  if (first === undefined || path !== null) ctx.seen.set(obj, path);
  // Set members are written as they are (BRI does not encode them recursively).
  if (value instanceof Set) return [[...value] as Json[], 'S'];
  ctx.open.add(obj);
  try {
    if (value instanceof Map) return [encodeObject(Object.fromEntries(value), path, ctx), 'M'];
    if (Array.isArray(value)) return encodeArray(value, path, ctx);
    return [encodeObject(value as Record<string, unknown>, path, ctx), ''];
  } finally {
    ctx.open.delete(obj);
  }
}

function encodeArray(items: readonly unknown[], path: string | null, ctx: EncodeContext): [Json, Tag] {
  const out: Json[] = [];
  const tags: Tag[] = [];
  let tagged = false;
  for (let i = 0; i < items.length; i++) {
    const [json, tag] = encodeValue(items[i], joinPath(path, String(i)), ctx);
    out.push(json);
    tags.push(tag);
    if (tag !== '') tagged = true;
  }
  return [out, tagged ? `[${tags.join(',')}]` : ''];
}

function encodeObject(obj: Record<string, unknown>, path: string | null, ctx: EncodeContext): Json {
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined) continue; // properties holding undefined are dropped
    const [json, tag] = encodeValue(value, joinPath(path, key), ctx);
    // A tag-like end is read back right under a tag of its own (`a<!U><!D>`); under none it is read as the tag.
    if (tag === '') assertStorableName(key, 'the field');
    setField(out, tag === '' ? key : `${key}<!${tag}>`, json);
  }
  return out;
}

/** Encodes an object or array as JSS text. */
export function encodeJss(value: object): string {
  try {
    return encodeTop(value);
  } catch (err) {
    if (err instanceof RangeError) throw new BriError(ErrorCodes.JSS_INVALID, `JSS cannot encode a value nested this deep (${err.message})`, { hint: 'Store a flatter document.' });
    throw err;
  }
}

function encodeTop(value: object): string {
  const ctx: EncodeContext = { seen: new Map([[value, '']]), open: new Set([value]) };
  if (Array.isArray(value)) {
    const [json, tag] = encodeArray(value, '', ctx);
    if (tag !== '') {
      throw new BriError(ErrorCodes.JSS_INVALID, 'JSS cannot tag elements of a top-level array', {
        hint: 'Wrap the array in an object.',
      });
    }
    return JSON.stringify(json);
  }
  if (value === null || typeof value !== 'object' || value instanceof Date || value instanceof Set || value instanceof Map) {
    throw new BriError(ErrorCodes.JSS_INVALID, 'JSS top-level value must be a plain object or an array');
  }
  return JSON.stringify(encodeObject(value as Record<string, unknown>, '', ctx));
}

/**
 * Encodes one property as it appears inside an object: `"key<!T>":json`, with pointers
 * relative to `path` (where the property sits in the whole document). Writing a large object
 * property by property gives the same text as encodeJss on the whole, without building it at once.
 */
export function encodeProperty(key: string, value: unknown, path: string): string {
  const ctx: EncodeContext = { seen: new Map(), open: new Set() };
  const [json, tag] = encodeValue(value, joinPath(path, key), ctx);
  return JSON.stringify(tag === '' ? key : `${key}<!${tag}>`) + ':' + JSON.stringify(json);
}

// ---------------------------------------------------------------- decoding

/** Splits `name<!T>` into name and tag; the tag is what follows the last `<!` up to the final `>`. */
export function splitTaggedKey(key: string): [string, Tag] {
  if (!key.endsWith('>')) return [key, ''];
  const at = key.lastIndexOf('<!');
  if (at < 0) return [key, ''];
  return [key.slice(0, at), key.slice(at + 2, -1)];
}

/** Parses an array tag body `[a,,b]` into its element tags, nested array tags included. */
function parseArrayTag(tag: string): Tag[] {
  const inner = tag.slice(1, -1);
  const tags: Tag[] = [];
  let depth = 0;
  let current = '';
  for (const ch of inner) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      tags.push(current);
      current = '';
    } else current += ch;
  }
  tags.push(current);
  return tags;
}

interface DecodeContext {
  root: unknown;
  /** Pointers resolved after the whole tree is built, since a path may point forward in text order. */
  pending: Array<() => void>;
}

function invalid(message: string): BriError {
  return new BriError(ErrorCodes.JSS_INVALID, message, { hint: 'The text is not valid JSS; the file may be damaged.' });
}

function parseRegExp(text: unknown): RegExp {
  if (typeof text !== 'string') throw invalid('RegExp tag on a non-string value');
  const end = text.lastIndexOf('/');
  if (!text.startsWith('/') || end <= 0) throw invalid(`bad RegExp "${text}"`);
  try {
    return new RegExp(text.slice(1, end), text.slice(end + 1));
  } catch {
    throw invalid(`bad RegExp "${text}"`);
  }
}

function resolvePath(root: unknown, path: string): unknown {
  let node: unknown = root;
  if (path === '') return node;
  for (const part of path.split('/')) {
    if (node instanceof Map) node = node.get(part);
    // Own fields only: through `__proto__` or `constructor` a pointer would reach what no document holds.
    else if (node !== null && typeof node === 'object' && Object.hasOwn(node, part)) node = (node as Record<string, unknown>)[part];
    else throw invalid(`pointer "${path}" does not resolve`);
  }
  if (node === undefined) throw invalid(`pointer "${path}" does not resolve`);
  return node;
}

/** Decodes `json` tagged `tag`, calling `assign` with the value (now or, for pointers, later). */
function decodeTagged(json: unknown, tag: Tag, ctx: DecodeContext, assign: (v: unknown) => void): void {
  switch (tag) {
    case '':
      assign(decodePlain(json, ctx));
      return;
    case 'D':
      if (typeof json !== 'number' && typeof json !== 'string') throw invalid('Date tag on a non-number value');
      assign(new Date(json));
      return;
    case 'R':
      assign(parseRegExp(json));
      return;
    case 'E': {
      if (!Array.isArray(json)) throw invalid('Error tag on a non-array value');
      const err = new Error(String(json[1] ?? ''));
      err.name = String(json[0] ?? 'Error');
      if (typeof json[2] === 'string') err.stack = json[2];
      assign(err);
      return;
    }
    case 'U':
      assign(undefined);
      return;
    case 'S':
      if (!Array.isArray(json)) throw invalid('Set tag on a non-array value');
      assign(new Set(json));
      return;
    case 'M': {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid('Map tag on a non-object value');
      const map = new Map<string, unknown>();
      assign(map);
      decodeEntries(json as Record<string, unknown>, ctx, (k, v) => map.set(k, v));
      return;
    }
    case 'P':
      if (typeof json !== 'string') throw invalid('pointer tag on a non-string value');
      ctx.pending.push(() => assign(resolvePath(ctx.root, json)));
      return;
    default:
      if (tag.startsWith('[') && tag.endsWith(']')) {
        if (!Array.isArray(json)) throw invalid('array tag on a non-array value');
        const tags = parseArrayTag(tag);
        const out: unknown[] = new Array(json.length);
        assign(out);
        json.forEach((item, i) => decodeTagged(item, tags[i] ?? '', ctx, (v) => (out[i] = v)));
        return;
      }
      throw invalid(`unknown JSS tag "${tag}"`);
  }
}

function decodeEntries(obj: Record<string, unknown>, ctx: DecodeContext, set: (key: string, v: unknown) => void): void {
  for (const rawKey of Object.keys(obj)) {
    const [key, tag] = splitTaggedKey(rawKey);
    decodeTagged(obj[rawKey], tag, ctx, (v) => set(key, v));
  }
}

function decodePlain(json: unknown, ctx: DecodeContext): unknown {
  if (json === null || typeof json !== 'object') return json;
  if (Array.isArray(json)) {
    const out: unknown[] = [];
    for (const item of json) out.push(decodePlain(item, ctx));
    return out;
  }
  const out: Record<string, unknown> = {};
  decodeEntries(json as Record<string, unknown>, ctx, (k, v) => setField(out, k, v));
  return out;
}

/** Parses JSS text into values (Dates, Sets, Maps... restored). Throws JSS_INVALID on bad input. */
export function decodeJss<T = unknown>(text: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BriError(ErrorCodes.JSS_INVALID, `not valid JSON: ${(err as Error).message}`, {
      hint: 'The text is not valid JSS; the file may be damaged.',
      cause: err,
    });
  }
  return decodeParsedJss<T>(json);
}

/** Decodes a value JSON.parse already gave (a part of a larger text: its pointers resolve from this value as the root). */
export function decodeParsedJss<T = unknown>(json: unknown): T {
  const ctx: DecodeContext = { root: undefined, pending: [] };
  const root = decodePlain(json, ctx);
  ctx.root = root;
  for (const resolve of ctx.pending) resolve();
  return root as T;
}

export type { Json };
