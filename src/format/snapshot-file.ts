/** snapshot.jss: `{ version, walLine, timestamp, documents, collections }`, plain or encrypted. */
import { BriError, ErrorCodes } from '../errors.js';
import { decryptText, encryptText, looksEncrypted, type EncryptionKey } from './encryption.js';
import { decodeJss, decodeParsedJss, encodeJss, encodeProperty } from './jss.js';
import { isCanonicalJssObject } from './jss-canonical.js';
import type { DbState, StateEntries } from './state.js';

export type SnapshotVersion = 1 | 2;

export interface SnapshotFile {
  version: SnapshotVersion;
  /** Number of WAL lines the snapshot contains (recovery replays lines above it). */
  walLine: number;
  /** When the snapshot was taken, ms since epoch. */
  timestamp: number;
  state: DbState;
}

function corrupted(message: string, cause?: unknown): BriError {
  return new BriError(ErrorCodes.SNAPSHOT_CORRUPTED, `snapshot.jss: ${message}`, {
    hint: 'Restore the data directory from an archive, or move snapshot.jss aside to replay the WAL from line 1.',
    cause,
  });
}

/** Whether the snapshot text is encrypted (so that reading it needs the key). */
export function isEncryptedSnapshot(text: string): boolean {
  return looksEncrypted(text);
}

/** Reads just the header fields of a snapshot (no document decoding). */
export function decodeSnapshot(text: string, key?: EncryptionKey): SnapshotFile {
  let plain = text;
  if (looksEncrypted(text)) {
    if (key === undefined) {
      throw new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, 'snapshot.jss is encrypted and no key was given', {
        hint: 'Set BRI_ENCRYPTION_KEY (64 hex chars) or pass encryptionKey.',
      });
    }
    plain = decryptText(key, text);
  }
  // The native parser first (it reads any depth): each document's stored form is then its JSON
  // text as written (what encodeJss gives back for a document decoded from it), unless a pointer
  // ties it to another part of the file: only such documents take the JSS decoder, whose walk
  // recurses, so a deep document beside `<!-- P... -->` text costs nothing. Anything else (a tagged
  // top-level field, a Map document) takes the JSS decoder whole (fastDocuments: null).
  let raw: unknown;
  let fast: Map<string, string> | null = null;
  try {
    const parsed = JSON.parse(plain) as unknown;
    fast = fastDocuments(parsed, !noPointerTags(plain));
    raw = fast !== null ? parsed : decodeJss(plain);
  } catch (err) {
    throw corrupted((err as Error).message, err);
  }
  if (fast !== null) {
    const o = raw as Record<string, unknown>;
    if ('timestamp<!D>' in o) o.timestamp = o['timestamp<!D>'];
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw corrupted('not an object');
  const obj = raw as Record<string, unknown>;
  const version = obj.version;
  if (version !== 1 && version !== 2) throw corrupted(`unsupported version ${JSON.stringify(version)}`);
  const walLine = obj.walLine;
  if (typeof walLine !== 'number' || !Number.isInteger(walLine) || walLine < 0) throw corrupted('walLine must be a non-negative integer');
  const ts = obj.timestamp;
  const timestamp = ts instanceof Date ? ts.getTime() : typeof ts === 'number' ? ts : NaN;
  if (!Number.isFinite(timestamp)) throw corrupted('timestamp is missing');
  const docs = obj.documents ?? {};
  const cols = obj.collections ?? {};
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) throw corrupted('documents must be an object');
  if (typeof cols !== 'object' || cols === null || Array.isArray(cols)) throw corrupted('collections must be an object');
  const state: DbState = { documents: fast ?? new Map(), collections: new Map() };
  if (fast === null) for (const [k, v] of Object.entries(docs as Record<string, unknown>)) {
    // v1 keeps the stored string; v2 keeps the decoded object, re-encoded here to the stored form.
    if (typeof v === 'string') state.documents.set(k, v);
    else if (v !== null && typeof v === 'object') state.documents.set(k, encodeJss(v));
    // The previous version wrote a stored '1', 'true' or 'null' decoded: its JSON text reads as it did.
    else if (typeof v === 'boolean' || v === null || (typeof v === 'number' && Number.isFinite(v))) state.documents.set(k, JSON.stringify(v));
    else throw corrupted(`document ${k} is neither a string nor an object`);
  }
  for (const [k, v] of Object.entries(cols as Record<string, unknown>)) {
    const members = v instanceof Set ? [...v] : v;
    if (!Array.isArray(members)) throw corrupted(`collection ${k} is not an array`);
    state.collections.set(k, new Set(members.map(String)));
  }
  return { version, walLine, timestamp, state };
}

/**
 * No pointer tag (`P`, alone or in an array's list of tags) anywhere in the text. (A `__proto__` key
 * needs no decoder: the native parser keeps it as a field, as the JSS decoder does.)
 */
function noPointerTags(text: string): boolean {
  // Each `<!...>` in turn, its characters looked at in place (a snapshot holds a tag or two per document: no match objects).
  for (let at = text.indexOf('<!'); at >= 0; ) {
    const end = text.indexOf('>', at + 2);
    if (end < 0) return true;
    for (let i = at + 2; i < end; i++) if (text.charCodeAt(i) === 0x50) return false;
    at = text.indexOf('<!', end + 1);
  }
  return true;
}

/**
 * The documents' stored forms from the natively parsed snapshot, or null when it needs the JSS
 * decoder: a tagged key among the top-level fields, documents or collections (a document or a
 * collection that is itself a Map, Set, ...), or a document that is neither object nor string.
 */
function fastDocuments(parsed: unknown, mayPoint: boolean): Map<string, string> | null {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k.includes('<!') && k !== 'timestamp<!D>') return null;
  const docs = o.documents ?? {};
  const cols = o.collections ?? {};
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) return null;
  if (typeof cols !== 'object' || cols === null || Array.isArray(cols)) return null;
  for (const k of Object.keys(cols)) if (k.includes('<!')) return null;
  const out = new Map<string, string>();
  let pointing: Record<string, object> | null = null;
  const all = docs as Record<string, unknown>;
  // (No entry arrays: a snapshot can hold millions of documents.)
  for (const k in all) {
    const v = all[k];
    if (k.includes('<!')) return null;
    if (typeof v === 'string') out.set(k, v);
    else if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    else if (mayPoint && holdsPointer(v)) {
      (pointing ??= Object.create(null) as Record<string, object>)[k] = v; // (no prototype: a `__proto__` key is a key)
      out.set(k, ''); // its place in the order; its stored form below
    } else out.set(k, JSON.stringify(v));
  }
  if (pointing !== null) {
    // Decoded on their own, under the path they have in the file (`documents/<key>/...`, where
    // BRI's pointers lead): a pointer leading anywhere else takes the whole-file decoder.
    let decoded: Record<string, object>;
    try {
      decoded = decodeParsedJss<{ documents: Record<string, object> }>({ documents: pointing }).documents;
    } catch {
      return null;
    }
    for (const k of Object.keys(pointing)) out.set(k, encodeJss(decoded[k]!));
  }
  return out;
}

/** Whether a natively parsed document has a key tagged with a pointer (`a<!P>`, `list<![,P]>`) at any depth, walked without recursion. */
function holdsPointer(doc: object): boolean {
  const todo: unknown[] = [doc];
  while (todo.length > 0) {
    const node = todo.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') todo.push(item);
      continue;
    }
    for (const key in node) {
      const at = key.charCodeAt(key.length - 1) === 0x3e /* > */ ? key.lastIndexOf('<!') : -1;
      if (at >= 0 && key.indexOf('P', at + 2) >= 0) return true;
      const value = (node as Record<string, unknown>)[key];
      if (value !== null && typeof value === 'object') todo.push(value);
    }
  }
  return false;
}

/**
 * A version-2 document as its decoded object when reading that back gives `stored` again, else
 * `stored` itself, a string, which a reader keeps as the stored form: a string that is not JSS
 * ('plain text'), nor an object or array ('1', '"quoted"'), or one the decode rewrites
 * ('{ "a": 1 }', '{"x":1.0}', '{"__proto__":{}}', an Error's stack) would otherwise come back
 * changed, or not read at all. Under a key holding '/' no pointer can name a place, so a shared
 * or cyclic object could not be written as it is: such a document stays its string too.
 */
function documentValue(key: string, stored: string): unknown {
  if (stored.includes('<!') && !nestedAtMost(stored, MAX_EMBEDDED_DEPTH)) return stored;
  let decoded: unknown;
  try {
    decoded = decodeJss(stored);
    if (decoded === null || typeof decoded !== 'object' || encodeJss(decoded) !== stored) return stored;
  } catch {
    return stored;
  }
  return key.includes('/') && stored.includes('<!') ? stored : decoded;
}

/**
 * The deepest a tagged document is written into a version-2 snapshot as an object; a deeper one is
 * written as its stored string, which a reader keeps as it is. A reader decodes a document holding a
 * pointer with the JSS decoder, which recurses a few frames per level: about 1,600 levels on Node 20's
 * default stack from a shallow one, fewer from a deep one (an open, an archive's replay). Written at
 * the writer's depth, a document between the two left a snapshot.jss no open could read. 512 levels
 * leave that walk a wide margin, and are far beyond a document anyone stores. (A document with no tag
 * is read by the native parser and stringify, at any depth.)
 */
export const MAX_EMBEDDED_DEPTH = 512;

/** Whether the JSON text nests arrays and objects at most `max` deep, by a scan (strings skipped whole by indexOf). */
function nestedAtMost(text: string, max: number): boolean {
  if (text.length <= 2 * max) return true; // each level takes two characters at least
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // To the closing quote: the next one not escaped (after an even run of backslashes).
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return true; // not JSON: the decode answers for it
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c /* \ */) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return true;
}

/**
 * The snapshot text in pieces (one per document), as BRI writes it: version 2 keeps documents
 * as decoded objects. Joined, the pieces are exactly encodeJss of the whole snapshot object;
 * streamed, they never hold the whole text in memory.
 */
/** What a snapshot is encoded from: its header fields and the state's entries (a live state's copy on write too). */
export type SnapshotSource = Omit<SnapshotFile, 'state'> & { state: StateEntries };

/** A document's piece of the snapshot text (`"key":...`) from its key and its form in the state. */
export type DocumentPiece = (key: string, stored: string) => string;

export function* snapshotTextChunks(snapshot: SnapshotSource, documentPiece: DocumentPiece = defaultPiece(snapshot)): Generator<string> {
  yield `{"version":${snapshot.version},"walLine":${snapshot.walLine},"timestamp<!D>":${snapshot.timestamp},"documents":{`;
  let first = true;
  for (const [k, v] of snapshot.state.documents) {
    yield (first ? '' : ',') + documentPiece(k, v);
    first = false;
  }
  yield '},"collections":{';
  first = true;
  for (const [k, v] of snapshot.state.collections) {
    yield (first ? '' : ',') + JSON.stringify(k) + ':' + JSON.stringify([...v]);
    first = false;
  }
  yield '}}';
}

/** A document's piece as the JSS encoder writes it: version 1 keeps the stored string, version 2 the decoded object (documentValue). */
function defaultPiece(snapshot: SnapshotSource): (key: string, stored: string) => string {
  // Version 1: a stored string takes no tag and no pointer, so its piece is what encodeProperty would give, without its bookkeeping per document.
  if (snapshot.version === 1) return (k, v) => JSON.stringify(k) + ':' + JSON.stringify(v);
  // Version 2: a document already in the encoder's form is its own piece (a native parse to check it,
  // where the decode and re-encode build the whole tree twice in script).
  return (k, v) => (isCanonicalJssObject(v) ? JSON.stringify(k) + ':' + v : encodeProperty(k, documentValue(k, v), 'documents'));
}

/** Encodes a snapshot as BRI does (version 2 by default: documents as decoded objects). */
export function encodeSnapshot(snapshot: SnapshotFile, key?: EncryptionKey, documentPiece?: DocumentPiece): string {
  const text = [...snapshotTextChunks(snapshot, documentPiece)].join('');
  return key === undefined ? text : encryptText(key, text);
}

const HEADER_RE = /^\{"version":([12]),"walLine":(\d+),/;

/** The walLine of a plain snapshot from its first bytes (our header is written first); null when they are not our header. */
export function headerWalLine(head: string): number | null {
  const m = HEADER_RE.exec(head);
  return m ? Number(m[2]) : null;
}

/**
 * The same snapshot with another walLine, without re-encoding its documents: the header is
 * always written first (snapshotTextChunks), so it is rewritten in place. Null when the text
 * does not start with our header (written by someone else).
 */
export function withWalLine(text: string, walLine: number, key?: EncryptionKey): string | null {
  const plain = looksEncrypted(text) ? (key ? decryptText(key, text) : null) : text;
  if (plain === null) return null;
  const m = HEADER_RE.exec(plain);
  if (!m) return null;
  const out = `{"version":${m[1]},"walLine":${walLine},` + plain.slice(m[0].length);
  return key !== undefined && looksEncrypted(text) ? encryptText(key, out) : out;
}

/** withWalLine on a text in pieces (the header is in the first piece; an encrypted text is one piece). */
export function piecesWithWalLine(pieces: readonly string[], walLine: number, key?: EncryptionKey): string[] | null {
  if (pieces.length === 0) return null;
  const whole = looksEncrypted(pieces[0]!) && pieces.length > 1 ? [pieces.join('')] : pieces;
  const first = withWalLine(whole[0]!, walLine, key);
  return first === null ? null : [first, ...whole.slice(1)];
}
