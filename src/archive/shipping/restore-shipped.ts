/**
 * The shipped WAL after an archive, written into a restored data directory:
 * one more segment after the archive's last, holding the shipped lines that
 * continue the archive's chain (up to a time, for a point in time). A
 * shipment that cannot be fetched or fails its checks stops the restore at
 * the last good line before it, and the result says which range it broke.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { applyOperation, type DbState } from '../../format/state.js';
import { parseWalLine } from '../../format/wal-line.js';
import { segmentName, WAL_DIR } from '../../store/layout.js';
import { isEncryptedEntry, lineOperation } from '../../store/wal-entry.js';
import type { DecodedShipment, ShipmentRef } from './shipment.js';

export interface ShippedInput {
  source: string;
  refs: readonly ShipmentRef[];
  fetch(ref: ShipmentRef): Promise<DecodedShipment>;
}

/** Where the restored chain stands; updated as lines are appended. */
export interface ChainPosition {
  lastLine: number;
  lastPointer: string;
  lastTimestamp: number | null;
  /** The state replayed so far (null once it cannot be: encrypted without the key). */
  expected: DbState | null;
}

export interface ShippedOutcome {
  source: string;
  lines: number;
  throughLine: number;
  /** The shipment that stopped the restore before the chain's end, and why. */
  broken: { fromLine: number; toLine: number; reason: string } | null;
  /** The point in time stopped it (lines after it are not restored). */
  stoppedByTime: boolean;
}

export async function appendShipped(dir: string, segmentIndex: number, pos: ChainPosition, input: ShippedInput, untilTimestamp: number | null, key?: EncryptionKey): Promise<ShippedOutcome> {
  const out: ShippedOutcome = { source: input.source, lines: 0, throughLine: pos.lastLine, broken: null, stoppedByTime: false };
  const file = path.join(dir, WAL_DIR, segmentName(segmentIndex));
  const fh = await fsp.open(file, 'w', 0o644);
  try {
    refs: for (const ref of input.refs) {
      let shipment: DecodedShipment;
      try {
        shipment = await input.fetch(ref);
      } catch (err) {
        out.broken = { fromLine: ref.firstLine, toLine: ref.lastLine, reason: isBriError(err) || err instanceof Error ? err.message : String(err) };
        break;
      }
      const buffer: string[] = [];
      for (const [i, text] of shipment.lines.entries()) {
        const abs = ref.firstLine + i;
        const parsed = parseWalLine(text)!; // decodeShipment checked every line
        if (abs <= pos.lastLine) {
          // Lines the archive (or an earlier shipment) already has: the pointers must agree.
          if (abs === pos.lastLine && parsed.pointer !== pos.lastPointer) {
            out.broken = { fromLine: ref.firstLine, toLine: ref.lastLine, reason: `line ${abs} has pointer ${parsed.pointer}, the restored chain ${pos.lastPointer}` };
            break refs;
          }
          continue;
        }
        if (abs === ref.firstLine && shipment.header.prevPointer !== pos.lastPointer) {
          out.broken = { fromLine: ref.firstLine, toLine: ref.lastLine, reason: `it continues pointer ${shipment.header.prevPointer}, the restored chain ends at ${pos.lastPointer}` };
          break refs;
        }
        if (untilTimestamp !== null && parsed.timestamp > untilTimestamp) {
          out.stoppedByTime = true;
          await fh.write(buffer.join(''));
          break refs;
        }
        if (pos.expected && !(isEncryptedEntry(parsed.entry) && !key)) applyOperation(pos.expected, lineOperation(parsed, key));
        else pos.expected = null;
        buffer.push(text + '\n');
        pos.lastLine = abs;
        pos.lastPointer = parsed.pointer;
        pos.lastTimestamp = parsed.timestamp;
        out.lines++;
      }
      await fh.write(buffer.join(''));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (out.lines === 0) await fsp.rm(file, { force: true });
  out.throughLine = pos.lastLine;
  return out;
}
