/** Reading and writing `snapshot.jss` on disk: tmp, fsync, rename, fsync of the directory. */
import * as path from 'node:path';
import { asBriError, BriError, ErrorCodes, isHostFault } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { encryptText, looksEncrypted } from '../format/encryption.js';
import { decodeSnapshot, encodeSnapshot, headerWalLine, snapshotTextChunks, type DocumentPiece, type SnapshotFile, type SnapshotSource } from '../format/snapshot-file.js';
import { DEFAULT_SLICE_MS, timeSlicer } from './time-slice.js';
import { writeFileDurable } from './durable-fs.js';
import { openRegularFile, readRegularFile } from './files/regular-file.js';
import { SNAPSHOT_FILE } from './layout.js';

/** Loads the snapshot, or null when there is none. */
export async function readSnapshot(dataDir: string, key?: EncryptionKey): Promise<SnapshotFile | null> {
  const file = path.join(dataDir, SNAPSHOT_FILE);
  let text: string;
  try {
    // Read as bytes, decoded in one call: read with an encoding, the text comes as pieces joined, which
    // the first look at it then flattens (measured: 110 ms more for an 18 MiB snapshot).
    text = (await readRegularFile(file)).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (err instanceof BriError) throw err; // not a regular file (a FIFO): said as what it is
    // A file the host keeps from being read (another user's, too many open files) says nothing of its bytes: not "corrupted".
    if (isHostFault(err)) throw asBriError(err, `cannot read ${file}`, file);
    throw new BriError(ErrorCodes.SNAPSHOT_CORRUPTED, `cannot read ${file}: ${(err as Error).message}`, {
      hint: 'Check the file permissions of the data directory.',
      details: { path: file },
      cause: err,
    });
  }
  return decodeSnapshot(text, key);
}

/**
 * The snapshot's walLine from its first bytes, without decoding it: null when there is no snapshot,
 * or its header is not readable so (encrypted, or written by someone else), for a cheap check.
 */
export async function peekSnapshotWalLine(dataDir: string): Promise<number | null> {
  const fh = await openRegularFile(path.join(dataDir, SNAPSHOT_FILE)).catch(() => null);
  if (fh === null) return null;
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return headerWalLine(head.subarray(0, bytesRead).toString('latin1'));
  } finally {
    await fh.close();
  }
}

/**
 * Writes the snapshot atomically, as BRI does (snapshot.jss.tmp then rename). A plain one is
 * streamed a document at a time, so the whole text is never held (nor its bytes); an encrypted
 * one is sealed whole (one AES-GCM message), so it is encoded whole first.
 */
export async function writeSnapshot(dataDir: string, snapshot: SnapshotFile, key?: EncryptionKey, documentPiece?: DocumentPiece): Promise<void> {
  const target = path.join(dataDir, SNAPSHOT_FILE);
  await writeFileDurable(target, key === undefined ? snapshotTextChunks(snapshot, documentPiece) : encodeSnapshot(snapshot, key, documentPiece));
}

/** Size of the pieces a yielding encode gives: each is joined, hashed or written in well under a slice. */
const PIECE_CHARS = 256 * 1024;

/**
 * The same as encodeSnapshot, giving the event loop a turn every few milliseconds, so that a
 * large state is encoded without holding up everything else (the caller passes a state no one
 * changes meanwhile: a frozen view of it, see frozen-state.ts). The text comes as pieces of about 256 KiB, the header whole in the
 * first, so that no later step (hash, write, compress) has to flatten or convert it at once; an
 * encrypted snapshot is one AES-GCM message, so it is one piece.
 */
export async function encodeSnapshotYielding(snapshot: SnapshotSource, key?: EncryptionKey, sliceMs = DEFAULT_SLICE_MS): Promise<string[]> {
  const pieces: string[] = [];
  let parts: string[] = [];
  let size = 0;
  const slicer = timeSlicer(sliceMs);
  let n = 0;
  for (const part of snapshotTextChunks(snapshot)) {
    parts.push(part);
    size += part.length;
    if (size >= PIECE_CHARS) {
      pieces.push(parts.join(''));
      parts = [];
      size = 0;
    }
    // The clock is read every 64 parts: a document costs microseconds.
    const turn = (++n & 63) === 0 ? slicer.maybeYield() : null;
    if (turn) await turn;
  }
  if (parts.length > 0) pieces.push(parts.join(''));
  return key === undefined ? pieces : [encryptText(key, pieces.join(''))];
}

/** Whether snapshot.jss is encrypted, from its first KiB only (the whole file decoded as one string held the writers' thread). */
export async function snapshotIsEncrypted(dataDir: string): Promise<boolean> {
  const fh = await openRegularFile(path.join(dataDir, SNAPSHOT_FILE)).catch(() => null);
  if (fh === null) return false;
  try {
    const buf = Buffer.alloc(1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return looksEncrypted(buf.toString('utf8', 0, bytesRead));
  } finally {
    await fh.close();
  }
}
