/**
 * The end state's snapshot text (version 2) for the seed, in pieces, exactly as
 * `snapshotTextChunks` writes it, without decoding and re-encoding every
 * document through JSS: a stored document without a JSS tag (no `<!`) is plain
 * JSON, whose JSS encoding is its JSON re-serialized, done natively
 * (JSON.parse + JSON.stringify). Documents with tags, and `__proto__` keys
 * (which the JSS decoder turns into a prototype), take the JSS path.
 */
import { encodeProperty, decodeJss } from '../../format/jss.js';
import { snapshotTextChunks, type SnapshotFile } from '../../format/snapshot-file.js';

function jssPiece(k: string, v: string): string {
  let value: unknown;
  try {
    value = decodeJss(v);
  } catch {
    value = v; // not JSS: the string itself, as snapshotTextChunks keeps it
  }
  return encodeProperty(k, value, 'documents');
}

/** One document as it appears in the snapshot's `documents` object. */
export function documentPiece(k: string, v: string): string {
  if (v.includes('<!') || v.includes('__proto__')) return jssPiece(k, v);
  let json: unknown;
  try {
    json = JSON.parse(v);
  } catch {
    return jssPiece(k, v);
  }
  return JSON.stringify(k) + ':' + JSON.stringify(json);
}

/** The same pieces as snapshotTextChunks for a version 2 snapshot, each plain-JSON document re-serialized natively. */
export function seedTextChunks(snapshot: SnapshotFile & { version: 2 }): Generator<string> {
  return snapshotTextChunks(snapshot, documentPiece);
}
