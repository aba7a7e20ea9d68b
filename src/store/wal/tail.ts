/**
 * The end of the WAL after a crash: a last line without its newline. If it is a
 * whole line it gets its newline (it may have been acknowledged under 'batched');
 * if it is torn (does not parse) it is cut off: it was never acknowledged. Either
 * way the next line written starts on a line of its own.
 */
import * as fsp from 'node:fs/promises';
import { typedIoError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { parseWalLine } from '../../format/wal-line.js';
import { listSegments } from '../layout.js';
import { isEncryptedEntry, lineOperation } from './wal-entry.js';
import { readSegmentLines } from './wal-reader.js';

export type TailFix = { kind: 'clean' } | { kind: 'terminated'; segment: string } | { kind: 'cut'; segment: string; bytes: number };

export async function fixWalTail(dataDir: string, key?: EncryptionKey): Promise<TailFix> {
  const segments = (await listSegments(dataDir)).filter((s) => s.size > 0);
  const last = segments[segments.length - 1];
  if (!last) return { kind: 'clean' };
  // Read-only until a fix is needed: a clean end must not need write access to the segment (a reader, another user's file).
  const tail = await unterminatedTail(last.path, last.name, last.size);
  if (tail === null) return { kind: 'clean' };
  const fh = await fsp.open(last.path, 'r+').catch((err: unknown) => Promise.reject(typedIoError(err, `the WAL's last line in ${last.path} is unfinished (a crash) and must be ${wholeLine(tail.text, key) ? 'ended' : 'cut off'} before the database opens; it cannot be opened for writing`)));
  try {
    if (wholeLine(tail.text, key)) {
      await fh.write('\n', last.size);
      await fh.sync();
      return { kind: 'terminated', segment: last.name };
    }
    await fh.truncate(tail.offset);
    await fh.sync();
    return { kind: 'cut', segment: last.name, bytes: last.size - tail.offset };
  } finally {
    await fh.close();
  }
}

/** The segment's last line when it has no newline (its text and where it starts), else null. */
async function unterminatedTail(file: string, name: string, size: number): Promise<{ text: string; offset: number } | null> {
  const fh = await fsp.open(file, 'r');
  try {
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, size - 1);
    if (byte[0] === 0x0a) return null;
  } finally {
    await fh.close();
  }
  let tail: { text: string; offset: number } | null = null;
  for await (const batch of readSegmentLines(file, name, 1)) {
    const l = batch[batch.length - 1]!;
    if (!l.terminated) tail = { text: l.text, offset: l.offset };
  }
  return tail;
}

/** Whether an unterminated line is whole (it may have been acknowledged under 'batched'), not torn. */
function wholeLine(text: string, key?: EncryptionKey): boolean {
  const parsed = parseWalLine(text);
  if (parsed === null) return false;
  if (isEncryptedEntry(parsed.entry) && key === undefined) return true;
  try {
    lineOperation(parsed, key);
    return true;
  } catch {
    return false;
  }
}
