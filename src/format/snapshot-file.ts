/** snapshot.jss: `{ version, walLine, timestamp, documents, collections }`, plain or encrypted. */
import { BriError, ErrorCodes } from '../errors.js';
import { decryptText, encryptText, looksEncrypted, type EncryptionKey } from './encryption.js';
import { decodeJss, encodeJss, encodeProperty } from './jss.js';
import type { DbState } from './state.js';

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
  let raw: unknown;
  try {
    raw = decodeJss(plain);
  } catch (err) {
    throw corrupted((err as Error).message, err);
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
  const state: DbState = { documents: new Map(), collections: new Map() };
  for (const [k, v] of Object.entries(docs as Record<string, unknown>)) {
    // v1 keeps the stored string; v2 keeps the decoded object, re-encoded here to the stored form.
    if (typeof v === 'string') state.documents.set(k, v);
    else if (v !== null && typeof v === 'object') state.documents.set(k, encodeJss(v));
    else throw corrupted(`document ${k} is neither a string nor an object`);
  }
  for (const [k, v] of Object.entries(cols as Record<string, unknown>)) {
    const members = v instanceof Set ? [...v] : v;
    if (!Array.isArray(members)) throw corrupted(`collection ${k} is not an array`);
    state.collections.set(k, new Set(members.map(String)));
  }
  return { version, walLine, timestamp, state };
}

function decodeDocument(stored: string): unknown {
  try {
    return decodeJss(stored);
  } catch {
    return stored; // not JSS: keep the string, which a v2 reader takes as the stored form
  }
}

/**
 * The snapshot text in pieces (one per document), as BRI writes it: version 2 keeps documents
 * as decoded objects. Joined, the pieces are exactly encodeJss of the whole snapshot object;
 * streamed, they never hold the whole text in memory.
 */
export function* snapshotTextChunks(snapshot: SnapshotFile): Generator<string> {
  yield `{"version":${snapshot.version},"walLine":${snapshot.walLine},"timestamp<!D>":${snapshot.timestamp},"documents":{`;
  let first = true;
  for (const [k, v] of snapshot.state.documents) {
    const value = snapshot.version === 1 ? v : decodeDocument(v);
    yield (first ? '' : ',') + encodeProperty(k, value, 'documents');
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

/** Encodes a snapshot as BRI does (version 2 by default: documents as decoded objects). */
export function encodeSnapshot(snapshot: SnapshotFile, key?: EncryptionKey): string {
  const text = [...snapshotTextChunks(snapshot)].join('');
  return key === undefined ? text : encryptText(key, text);
}

const HEADER_RE = /^\{"version":([12]),"walLine":(\d+),/;

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
