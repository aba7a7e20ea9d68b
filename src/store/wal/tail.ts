/**
 * The end of the WAL after a crash: a last line without its newline. If it is a
 * whole line it gets its newline (it may have been acknowledged under 'batched');
 * if it is torn (does not parse) it is cut off: it was never acknowledged. Either
 * way the next line written starts on a line of its own.
 */
import * as fsp from 'node:fs/promises';
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
  const fh = await fsp.open(last.path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, last.size - 1);
    if (byte[0] === 0x0a) return { kind: 'clean' };
    let tail: { text: string; offset: number } | null = null;
    for await (const batch of readSegmentLines(last.path, last.name, 1)) {
      const l = batch[batch.length - 1]!;
      if (!l.terminated) tail = { text: l.text, offset: l.offset };
    }
    if (tail === null) return { kind: 'clean' };
    const parsed = parseWalLine(tail.text);
    let whole = parsed !== null;
    if (parsed && !(isEncryptedEntry(parsed.entry) && key === undefined)) {
      try {
        lineOperation(parsed, key);
      } catch {
        whole = false;
      }
    }
    if (whole) {
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
