/**
 * A replayed state whose documents are kept as the JSON string literals of their stored strings
 * (quoted and escaped, exactly as they stand in the WAL's SET entries), for a restore that ends in
 * a version-1 snapshot. There a document's piece is `"key":<literal>`, so a SET's value need not
 * be unescaped when it is read nor escaped again when the snapshot is written: on a restore that
 * is most of the work per line (measured: JSON.parse of every entry, then JSON.stringify of every
 * surviving document).
 *
 * An entry is read this way only when it has BRI's plain form (action, target, one field) and its
 * strings pass JSON's grammar for strings, checked by one regular expression; any other entry
 * (a transaction's, another key order or spacing, a bad escape, one longer than
 * PLAIN_ENTRY_MAX_LENGTH) goes through the full decoder, which throws WAL_CORRUPTED for what is
 * not an operation. A literal may then spell a character otherwise than JSON.stringify would
 * (`\u0041` for `A`): it is the same string to every reader of the snapshot, which parses it as JSON.
 */
import { decodeOperation, type OperationAction } from './operation.js';
import { applyOperation, type DbState } from './state.js';

/** A DbState whose documents map each key to the JSON literal of its stored string. */
export interface LiteralState extends DbState {
  readonly literals: true;
}

/** The inside of one JSON string literal: no raw control character, no lone backslash, only JSON's escapes. */
const INSIDE = String.raw`(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*`;
const STRING = `"${INSIDE}"`;
/**
 * BRI's plain entry form: action, target, then the operation's one field (value, oldKey or member),
 * in that order, no spaces, no transaction. Any other form takes the full decoder.
 */
const PLAIN_ENTRY = new RegExp(String.raw`^\{"action":"(SET|DELETE|RENAME|SADD|SREM)","target":(${STRING})(?:,"(value|oldKey|member)":"(${INSIDE})")?\}$`);
/** The field each action carries (DELETE: none). */
const FIELD: Record<string, string | undefined> = { SET: 'value', DELETE: undefined, RENAME: 'oldKey', SADD: 'member', SREM: 'member' };
/**
 * The longest entry PLAIN_ENTRY is run on. The regular expression keeps a backtracking point for
 * each character or escape of a literal, and V8 throws RangeError (Maximum call stack size
 * exceeded) when they pass 64 MiB: measured on Node 20 from 6.7 million characters when every
 * one is a `\u` escape, 8.4 million when none is. BRI writes a document of any size as one line,
 * so a longer entry takes the full decoder, which is linear (one JSON.parse, and for a SET one
 * JSON.stringify of its value) and as rare as such a document.
 */
const PLAIN_ENTRY_MAX_LENGTH = 1 << 20;

/** The parts of an entry in BRI's plain form, or null for any other entry or one too long to check with PLAIN_ENTRY. */
function plainEntry(entry: string): RegExpExecArray | null {
  if (entry.length > PLAIN_ENTRY_MAX_LENGTH) return null;
  const m = PLAIN_ENTRY.exec(entry);
  return m !== null && m[3] === FIELD[m[1]!] ? m : null;
}

/**
 * A copy of `s` that holds no reference to the text it was cut from. A cut of a longer string
 * (a regular expression's match, a slice of a line) points into it, and a document kept in the
 * state would keep the whole piece of WAL it came from in memory.
 */
export function detached(s: string): string {
  // Two parts joined are copied into one string of their size (a character joined and cut off again
  // leaves a view of 32 bytes over the copy). Under 13 characters a cut is a copy already.
  return s.length < 13 ? s : [s.slice(0, 1), s.slice(1)].join('');
}

/** A copy of a state of stored strings as one of literals (the sets are copied too). */
export function literalCopyOf(state: DbState): LiteralState {
  const documents = new Map<string, string>();
  for (const [k, v] of state.documents) documents.set(k, JSON.stringify(v));
  return { documents, collections: new Map([...state.collections].map(([k, v]) => [k, new Set(v)])), literals: true };
}

export function emptyLiteralState(): LiteralState {
  return { documents: new Map(), collections: new Map(), literals: true };
}

/** The string a checked literal's inside spells; `kept` when it stays in the state (then it holds nothing of the entry's text). */
function inside(chars: string, kept: boolean): string {
  if (chars.includes('\\')) return JSON.parse('"' + chars + '"') as string;
  return kept ? detached(chars) : chars;
}

/** The string a checked literal spells (see inside). */
function unquote(literal: string, kept: boolean): string {
  return inside(literal.slice(1, -1), kept);
}

/** Applies one plaintext entry as BRI's replay does, and says what it was; throws WAL_CORRUPTED when it is not an operation. */
export function applyLiteralEntry(state: LiteralState, entry: string): OperationAction {
  const m = plainEntry(entry);
  if (m !== null) {
    const [, action, target, , field] = m as unknown as [string, OperationAction, string, string | undefined, string | undefined];
    switch (action) {
      case 'SET':
        // Joined, the literal is one string of its own size (a copy cut out of a longer one carries a view of 32 bytes more).
        state.documents.set(unquote(target, true), ['"', field!, '"'].join(''));
        break;
      case 'DELETE':
        state.documents.delete(unquote(target, false));
        break;
      case 'RENAME':
        applyOperation(state, { action, target: unquote(target, true), oldKey: inside(field!, false) });
        break;
      case 'SADD':
        applyOperation(state, { action, target: unquote(target, true), member: inside(field!, true) });
        break;
      case 'SREM':
        applyOperation(state, { action, target: unquote(target, false), member: inside(field!, false) });
        break;
    }
    return action;
  }
  const op = decodeOperation(entry);
  if (op.action === 'SET') state.documents.set(op.target, JSON.stringify(op.value));
  else applyOperation(state, op);
  return op.action;
}

/** What an entry does, checked as applyLiteralEntry checks it (WAL_CORRUPTED when it is not an operation), without applying it. */
export function entryAction(entry: string): OperationAction {
  const m = plainEntry(entry);
  return m !== null ? (m[1] as OperationAction) : decodeOperation(entry).action;
}

/** A version-1 snapshot's piece for a document kept as its literal. */
export function literalDocumentPiece(key: string, literal: string): string {
  return JSON.stringify(key) + ':' + literal;
}

/** The state with each document's stored string (each literal parsed once): for a check or a caller that needs the values. */
export function storedStateOf(state: LiteralState): DbState {
  const documents = new Map<string, string>();
  for (const [k, v] of state.documents) documents.set(k, JSON.parse(v) as string);
  return { documents, collections: state.collections };
}
