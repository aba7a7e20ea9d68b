/** A whole data-directory check: WAL chain, snapshot, cold tier; reads only, takes no lock. */
import { isBriError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { verifyChain, type ChainBreak, type ChainReport } from './wal/chain.js';
import { readColdTier } from './cold-tier.js';
import { readSnapshot } from './snapshot-store.js';

export interface DataDirReport {
  ok: boolean;
  dataDir: string;
  chain: ChainReport;
  snapshot: {
    present: boolean;
    ok: boolean;
    /** False when it is encrypted and no key was given: not damage, just not checked. */
    checked: boolean;
    version?: number;
    walLine?: number;
    timestamp?: number;
    error?: string;
    code?: string;
  };
  cold: { documents: number; ok: boolean; checked: boolean; error?: string };
  /** One sentence per problem found, the first bad line first. */
  problems: string[];
}

export function describeBreak(b: ChainBreak): string {
  const what =
    b.reason === 'pointer-mismatch'
      ? `pointer mismatch: expected ${b.expected}, found ${b.found}`
      : b.reason === 'decrypt-failed'
        ? 'entry cannot be decrypted with the key given'
        : b.reason === 'blank'
          ? 'blank line'
          : 'line does not parse';
  return `wal/${b.segment} line ${b.segmentLine} (global line ${b.lineNo}): ${what}`;
}

/** `startPointer`: the pointer before the first line on disk, when known (a restored directory). */
export async function verifyDataDir(dataDir: string, key?: EncryptionKey, startPointer?: string | null): Promise<DataDirReport> {
  const problems: string[] = [];
  const chain = await verifyChain(dataDir, { encryptionKey: key, ...(startPointer !== undefined ? { startPointer } : {}) });
  if (chain.firstBreak) problems.push(describeBreak(chain.firstBreak));

  const snapshot: DataDirReport['snapshot'] = { present: false, ok: true, checked: true };
  try {
    const snap = await readSnapshot(dataDir, key);
    if (snap) {
      Object.assign(snapshot, { present: true, version: snap.version, walLine: snap.walLine, timestamp: snap.timestamp });
      const linesOnDisk = chain.lines + (chain.tornTail ? 1 : 0);
      if (!chain.firstBreak && snap.walLine > linesOnDisk) {
        snapshot.ok = false;
        snapshot.error = `walLine ${snap.walLine} is past the WAL's end (${linesOnDisk} lines)`;
        problems.push(`snapshot.jss: ${snapshot.error}`);
      }
    }
  } catch (err) {
    snapshot.present = true;
    if (isBriError(err, 'ENCRYPTION_KEY_MISSING')) {
      // Without the key an encrypted snapshot can be copied and archived, not checked: not damage.
      snapshot.checked = false;
      snapshot.code = err.code;
    } else {
      snapshot.ok = false;
      snapshot.error = (err as Error).message;
      if (isBriError(err)) snapshot.code = err.code;
      problems.push(`snapshot.jss: ${snapshot.error}`);
    }
  }

  const cold: DataDirReport['cold'] = { documents: 0, ok: true, checked: true };
  try {
    cold.documents = (await readColdTier(dataDir, key)).length;
  } catch (err) {
    if (isBriError(err, 'ENCRYPTION_KEY_MISSING')) cold.checked = false;
    else {
      cold.ok = false;
      cold.error = (err as Error).message;
      problems.push(`cold tier: ${cold.error}`);
    }
  }
  return { ok: problems.length === 0, dataDir, chain, snapshot, cold, problems };
}
