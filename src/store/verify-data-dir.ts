/** A whole data-directory check: WAL chain, snapshot, cold tier; reads only, takes no lock. */
import { isBriError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { verifyChain, type ChainBreak, type ChainReport } from './wal/chain.js';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { coldDuplicates, coldFileOf, coldKeysOnDisk, listColdFiles, readColdTier, type ColdDuplicate } from './cold-tier.js';
import { readSnapshot } from './snapshot-store.js';
import { recover } from './recovery.js';
import { readArchiveState } from './archive-state.js';
import type { DbState } from '../format/state.js';

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
    /**
     * Whether its state was checked against the replay of the WAL's lines 1..walLine: false when those lines
     * are gone (leading segments removed, or BRI's cleanup lowered walLine to 0): it is the anchor the lines on disk go on from.
     */
    comparedWithReplay: boolean;
  };
  cold: {
    documents: number;
    ok: boolean;
    checked: boolean;
    error?: string;
    /** Cold files missing: documents the WAL's lines 1..walLine hold that snapshot.jss left out and cold/ has no file for. */
    missing?: string[];
    /** Keys two cold files name: the file the store reads, and the ones it leaves unread. */
    duplicates?: ColdDuplicate[];
    /** Cold files that are plaintext while a key was given (encryption at rest): read as documents, unencrypted on disk. */
    plaintext?: string[];
  };
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
          : b.reason === 'not-an-operation'
            ? `entry is no operation the store accepts (WAL_CORRUPTED): ${b.detail ?? 'it does not decode'}`
            : 'line does not parse';
  return `wal/${b.segment} line ${b.segmentLine} (global line ${b.lineNo}): ${what}`;
}

/** `startPointer`: the pointer before the first line on disk, when known (a restored directory). */
export async function verifyDataDir(dataDir: string, key?: EncryptionKey, startPointer?: string | null): Promise<DataDirReport> {
  const problems: string[] = [];
  // Decoded as the open decodes: a line the store refuses is damage here too, not only a broken pointer.
  const chain = await verifyChain(dataDir, { encryptionKey: key, decodeOperations: true, ...(startPointer !== undefined ? { startPointer } : {}) });
  if (chain.firstBreak) problems.push(describeBreak(chain.firstBreak));

  const snapshot: DataDirReport['snapshot'] = { present: false, ok: true, checked: true, comparedWithReplay: false };
  let missingCold: string[] = [];
  let snapshotDecoded = false;
  try {
    const snap = await readSnapshot(dataDir, key);
    if (snap) {
      snapshotDecoded = true;
      Object.assign(snapshot, { present: true, version: snap.version, walLine: snap.walLine, timestamp: snap.timestamp });
      const linesOnDisk = chain.lines + (chain.tornTail ? 1 : 0);
      if (!chain.firstBreak && snap.walLine > linesOnDisk) {
        snapshot.ok = false;
        snapshot.error = `walLine ${snap.walLine} is past the WAL's end (${linesOnDisk} lines)`;
        problems.push(`snapshot.jss: ${snapshot.error}`);
      } else if (!chain.firstBreak && !chain.anchored && chain.pointersChecked && snap.walLine > 0 && (await wholeFromLineOne(dataDir))) {
        // A WAL whole from its first line says what the snapshot must hold: another database's snapshot copied in is not it.
        // (At walLine 0 a snapshot holding state is one whose lines were all removed, as BRI's cleanup leaves it: nothing to replay.)
        snapshot.comparedWithReplay = true;
        const against = await snapshotAgainstReplay(dataDir, snap, key);
        missingCold = against.missingCold;
        if (against.differs !== null) {
          snapshot.ok = false;
          snapshot.error = against.differs;
          problems.push(`snapshot.jss: ${against.differs}`);
        }
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

  const { cold, coldProblems } = await checkColdTier(dataDir, key, snapshotDecoded);
  problems.push(...coldProblems.map((p) => `cold tier: ${p}`));
  if (missingCold.length > 0) {
    cold.ok = false;
    cold.missing = missingCold;
    problems.push(`cold tier: ${coldFilesMissing(missingCold, snapshot.walLine!)}`);
  }
  return { ok: problems.length === 0, dataDir, chain, snapshot, cold, problems };
}

/**
 * Every cold file read, decrypted and parsed as the store's open reads it: the first that does not is named.
 * Said too: a key two files name (which one the store reads), and plaintext files under a key.
 */
async function checkColdTier(dataDir: string, key: EncryptionKey | undefined, snapshotDecoded: boolean): Promise<{ cold: DataDirReport['cold']; coldProblems: string[] }> {
  const cold: DataDirReport['cold'] = { documents: 0, ok: true, checked: true };
  const coldProblems: string[] = [];
  try {
    const docs = await readColdTier(dataDir, key, snapshotDecoded);
    cold.documents = docs.length;
    const plaintext = key === undefined ? [] : docs.filter((d) => !d.encrypted).map((d) => d.file);
    if (plaintext.length > 0) {
      cold.plaintext = plaintext;
      coldProblems.push(plaintextColdFiles(plaintext));
    }
  } catch (err) {
    if (isBriError(err, 'ENCRYPTION_KEY_MISSING')) cold.checked = false;
    else {
      cold.error = (err as Error).message;
      coldProblems.push(cold.error);
    }
  }
  const duplicates = coldDuplicates(await listColdFiles(dataDir));
  if (duplicates.length > 0) {
    cold.duplicates = duplicates;
    coldProblems.push(...(await Promise.all(duplicates.map((d) => duplicateColdFiles(dataDir, d)))));
  }
  cold.ok = coldProblems.length === 0;
  return { cold, coldProblems };
}

function plaintextColdFiles(files: string[]): string {
  const more = files.length > 1 ? ` (and ${files.length - 1} more)` : '';
  return `${files[0]} is not encrypted${more}, while the key says encryption at rest is on (BRI writes cold files encrypted): the store reads it as the document, which lies on disk in clear and unauthenticated; check that it is yours, and once a snapshot holds the document (the next one the store writes takes it, encrypted, and is read before cold/), remove the file`;
}

async function duplicateColdFiles(dataDir: string, d: ColdDuplicate): Promise<string> {
  const times = await Promise.all([d.served, ...d.ignored].map((rel) => fsp.stat(path.join(dataDir, rel)).then((s) => s.mtimeMs, () => 0)));
  const newest = times.indexOf(Math.max(...times));
  // By modification time only: a copy without -p resets it, so it is said, never acted on.
  const newer = newest === 0 ? 'it is the newest of them' : `${d.ignored[newest - 1]} is the newest by its time`;
  return `${[d.served, ...d.ignored].join(' and ')} ${d.ignored.length > 1 ? 'all' : 'both'} hold ${d.key}: the store reads ${d.served} (the name BRI writes and reads back) and leaves ${d.ignored.join(', ')} unread; ${newer}; keep the right document under ${d.served} and remove the other`;
}

/** Documents that snapshot.jss left out as evicted, whose cold files are gone: the store opens without them. */
export function coldFilesMissing(keys: string[], walLine: number): string {
  const more = keys.length > 1 ? ` (and ${keys.length - 1} more)` : '';
  return `${coldFileOf(keys[0]!)} is missing${more}: ${keys[0]} is in the WAL's lines 1..${walLine} replayed, snapshot.jss leaves it out (evicted to the cold tier), and cold/ has no file for it; the store opens without it, the WAL still holds it`;
}

/** Whether the WAL on disk is the directory's whole history: no line removed once archived, no restored origin before its first line. */
async function wholeFromLineOne(dataDir: string): Promise<boolean> {
  const state = await readArchiveState(dataDir).catch(() => undefined);
  return state === null || (state !== undefined && state.removedLines === 0 && state.origin === undefined);
}

/**
 * What the snapshot holds against the replay of the WAL's lines 1..walLine (a WAL whole from its first
 * line): the same document keys and set members, but for the documents evicted to the cold tier (BRI
 * leaves those out of its snapshot). `differs`: null when they agree, else the first difference and
 * how many; the documents left out with no cold file are the cold tier's loss, said apart.
 */
async function snapshotAgainstReplay(dataDir: string, snap: { walLine: number; state: DbState }, key: EncryptionKey | undefined): Promise<{ differs: string | null; missingCold: string[] }> {
  const replayed = (await recover(dataDir, { encryptionKey: key, ignoreSnapshot: true, untilLine: snap.walLine })).state;
  const { other, missingCold } = stateDifferences(snap.state, replayed, await coldKeysOnDisk(dataDir));
  if (other.length === 0) return { differs: null, missingCold };
  return { differs: `its state is not the WAL's lines 1..${snap.walLine} replayed: ${other.length} key(s) differ, the first ${JSON.stringify(other[0])} (a snapshot of another database, or one damaged in place)`, missingCold };
}

export interface StateDifferences {
  /** Documents the replay holds that the snapshot leaves out with no cold file for them: cold files lost. */
  missingCold: string[];
  /** Every other key that differs: documents the snapshot holds and the replay does not, sets whose members differ. */
  other: string[];
}

/**
 * The keys (documents, and sets by their members) on which a snapshot's state and a replay differ,
 * but for documents in the cold tier, which BRI leaves out of its snapshots. Keys, not values: BRI's
 * version-2 snapshot writes a document's references inlined, where the WAL wrote their ids. A snapshot
 * whose first segments were removed holds more than the lines replay to, never less: a replayed
 * document it leaves out with no cold file is the cold tier's loss, kept apart.
 */
export function stateDifferences(snap: DbState, replayed: DbState, cold: ReadonlySet<string>): StateDifferences {
  const other: string[] = [];
  const missingCold: string[] = [];
  for (const k of snap.documents.keys()) if (!replayed.documents.has(k)) other.push(k);
  for (const k of replayed.documents.keys()) if (!snap.documents.has(k) && !cold.has(k)) missingCold.push(k);
  const sets = new Set([...snap.collections.keys(), ...replayed.collections.keys()]);
  for (const k of sets) {
    const a = snap.collections.get(k) ?? new Set<string>();
    const b = replayed.collections.get(k) ?? new Set<string>();
    if (a.size !== b.size || [...a].some((m) => !b.has(m))) other.push(k);
  }
  return { missingCold, other };
}
