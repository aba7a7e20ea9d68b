/**
 * The state an archive starts from, at absolute line M: empty at line 0 (a WAL
 * complete from its first line, which replays to the snapshot), the seed the previous archive left, or the
 * data directory's snapshot (plus the cold tier, plus a replay up to M).
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { decodeSnapshot, encodeSnapshot, isEncryptedSnapshot, type DocumentPiece } from '../../format/snapshot-file.js';
import { emptyState, type DbState } from '../../format/state.js';
import { replayArchive } from '../package/replay.js';
import { readSnapshot, snapshotIsEncrypted } from '../../store/snapshot-store.js';
import * as path from 'node:path';
import { readRegularFile } from '../../store/files/regular-file.js';
import { SNAPSHOT_FILE } from '../../store/layout.js';
import { isColdValueUnknown, recover } from '../../store/recovery.js';
import { openSealedSeed, readSealedSeed, readSeed, rekeyedAwayFrom, sealedSeedAt, readSeedFacts, seedMemberAsIs, seedPath, type SealedSeedMember, type SeedMemberFacts } from './seeds.js';
import { factsDisagree, scanChunks, scanSeedFile } from './seed-check.js';
import type { AgeIdentity, AgeRecipients } from '../crypto/age-keys.js';
import { resolveIdentity } from '../crypto/verify-identity.js';
import type { SealedFor, SeedFacts } from './seeds.js';

export interface StartState {
  /** Absolute line the state is at. */
  walLine: number;
  /** The snapshot text for the archive member (encrypted when the data directory is); '' when `snapshotBytes` holds it. */
  snapshotText: string;
  /** The same as UTF-8 bytes, each chunk in a buffer of its own (a seed read as it is, never turned into one string). */
  snapshotBytes?: Buffer[];
  /** The member itself, compressed and encrypted with age (a sealed seed, taken unopened), with what the manifest says of it. */
  sealedMember?: { path: string } & SealedSeedMember;
  /** The member itself, a plain seed compressed at the archive's level, taken as it is. */
  seedMember?: { path: string } & SeedMemberFacts;
  snapshotVersion: 1 | 2;
  encrypted: boolean;
  /** The decoded state, when it could be read (plaintext or key given) and was asked for. */
  state: DbState | null;
  /** Document and set counts of the state (null: unknown, e.g. encrypted without the key). */
  documents: number | null;
  collections: number | null;
  coldDocuments: number;
  source: 'empty' | 'seed' | 'data-dir-snapshot' | 'replay';
}

function cannotRebuild(line: number, why: string, keyless = false, badSeed = false): BriError {
  // A damaged seed: the previous archive replayed gives the same state.
  const keep = badSeed ? 'Put the previous archive back in the archive directory, or name a remote that holds it (archive.remotes): it is replayed in place of the seed' : 'Keep the archive directory (its .seeds/) with the data directory';
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `cannot rebuild the state at line ${line}, where this archive must start: ${why}`, {
    hint: `${keep}${keyless ? '; the data directory is encrypted at rest: set BRI_ENCRYPTION_KEY' : ''}.`,
    details: { line },
  });
}

/** The previous archive, which would give the start state, is sealed with age and nothing here opens it (its seed went with a lost archive directory). */
function previousSealed(line: number, failure: BriError): BriError {
  const wrong = failure.code === ErrorCodes.DECRYPTION_FAILED;
  return new BriError(wrong ? ErrorCodes.DECRYPTION_FAILED : ErrorCodes.ENCRYPTION_KEY_MISSING, `cannot start this archive at line ${line}: the state there is in the previous archive, encrypted with age, and ${wrong ? 'the identity given does not open it' : 'no age identity was given'} (no seed of it is in this archive directory)`, {
    hint: 'Set BRI_AGE_IDENTITY (or archive.encryption.identityFile) to an identity that opens the previous archives, or BRI_AGE_PASSPHRASE for a passphrase; it is needed once, for this archive.',
    details: { line },
  });
}

function sealedForOtherRecipients(line: number, recipients: string[]): BriError {
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `cannot start this archive at line ${line}: its seed there is sealed for other age recipients (${recipients.join(', ')}) than this configuration's`, {
    hint: 'The archives were rekeyed since this configuration was read: put the new recipients in archive.encryption.recipients (and restart a running database).',
    details: { line, recipients },
  });
}

/** Names what the previous archives were sealed for, and what this configuration asks for now. */
function settingOf(s: { recipients: string[]; passphrase?: boolean | string } | undefined): string {
  if (!s) return 'no encryption';
  if (s.passphrase) return 'a passphrase';
  return s.recipients.length ? `recipients ${s.recipients.join(', ')}` : 'recipients unknown (the seed\'s facts are unreadable)';
}

function sealedForOldSetting(line: number, sealed: SealedFor, now: AgeRecipients | undefined, identity: AgeIdentity | null, failure: unknown): BriError {
  const open = sealed.passphrase ? 'set BRI_AGE_PASSPHRASE to the passphrase of the previous archives' : 'set BRI_AGE_IDENTITY to an identity file that opens the previous archives';
  const keep = now ? 'or keep archive.encryption as it was, or rekey the archives to the new setting first (`bri archive rekey`)' : 'or keep archive.encryption as it was';
  const tried = identity === null ? 'no age identity was given' : `no identity from ${identity.source} opens it`;
  return new BriError(identity === null ? ErrorCodes.ENCRYPTION_KEY_MISSING : ErrorCodes.DECRYPTION_FAILED, `cannot start this archive at line ${line}: the state there (the seed kept there, left by the previous archive or by the restore this directory began from) is sealed with age for ${settingOf(sealed)}, archive.encryption now asks for ${settingOf(now)}, and ${tried}`, {
    hint: `To archive on with the new setting, ${open} (it is read once, to start from); ${keep}.`,
    details: { line, sealedFor: sealed.recipients, passphrase: sealed.passphrase },
    ...(failure ? { cause: failure } : {}),
  });
}

/** The start state from a seed's text (opened from its seal): handed over as bytes when only the text and counts are needed; why not, when it is no seed. */
function seedStart(M: number, chunks: Buffer[], facts: SeedFacts | null, o: ResolveStartOptions): StartState | string {
  const encrypted = isEncryptedSnapshot(headText(chunks));
  if (o.needState === false && facts) {
    const scan = (() => {
      try {
        return scanChunks(chunks, o.key);
      } catch {
        return null;
      }
    })();
    if (scan !== null && factsDisagree(scan, facts, M) === null) {
      return { walLine: M, snapshotText: '', snapshotBytes: chunks, snapshotVersion: facts.version ?? 2, encrypted, state: null, documents: facts.documents, collections: facts.collections, coldDocuments: 0, source: 'seed' };
    }
  }
  return decodedText(M, Buffer.concat(chunks).toString('utf8'), facts, o);
}

/** A seed's text decoded (when it can be: plaintext, or the key given): why it is no seed when it does not load or is at another line. */
function decodedText(M: number, text: string, facts: SeedFacts | null, o: ResolveStartOptions): StartState | string {
  if (text.length === 0) return 'it holds nothing';
  const encrypted = isEncryptedSnapshot(text);
  let decoded: ReturnType<typeof decodeSnapshot> | null = null;
  if (!encrypted || o.key) {
    try {
      decoded = decodeSnapshot(text, o.key);
    } catch (err) {
      // A key that does not open it is said as such (the previous archive and the data directory need that key too).
      if (isBriError(err, ErrorCodes.DECRYPTION_FAILED) || isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING)) throw err;
      return `it does not load (${(err as Error).message})`;
    }
    if (decoded.walLine !== M) return `its snapshot is at line ${decoded.walLine}, not ${M}`;
  }
  // Sealed without the key, its version is in the facts written beside it (the manifest must say what the member holds).
  const version = decoded?.version ?? facts?.version ?? 2;
  return { walLine: M, snapshotText: text, snapshotVersion: version, encrypted, state: decoded?.state ?? null, ...counts(decoded?.state ?? null), coldDocuments: 0, source: 'seed' };
}

/** A plain seed whose facts describe it as read (its text, line, version and counts): taken without decoding. Null: decoded instead. */
async function seedByFacts(o: ResolveStartOptions, M: number, facts: SeedFacts): Promise<StartState | null> {
  const asIs = !o.sealTo && o.level !== undefined ? await seedMemberAsIs(o.archiveDir, o.instanceId, M, facts, o.level) : null;
  // Streamed when the file goes as it is (nothing kept); else its bytes are the member's text.
  const scan = await scanSeedFile(seedPath(o.archiveDir, o.instanceId, M), o.key, asIs === null).catch(() => null);
  if (scan === null || factsDisagree(scan, facts, M) !== null) return null;
  const start = { walLine: M, snapshotText: '', snapshotVersion: facts.version ?? 2, encrypted: scan.encrypted, state: null, documents: facts.documents, collections: facts.collections, coldDocuments: 0, source: 'seed' as const };
  return asIs ? { ...start, seedMember: asIs } : { ...start, snapshotBytes: scan.chunks! };
}

/** The plain seed at M decoded; null when there is none, why it is no seed when it cannot be read or does not hold the state at M. */
async function decodedSeed(o: ResolveStartOptions, M: number): Promise<StartState | string | null> {
  let text: string | null;
  try {
    text = await readSeed(o.archiveDir, o.instanceId, M);
  } catch (err) {
    // Damaged bytes are the seed's fault: no seed. A host's fault (a FIFO there, a permission) is said as the IO error naming the file.
    if (!isBriError(err, ErrorCodes.ARCHIVE_CORRUPTED)) throw err;
    return `it cannot be read (${err.message})`;
  }
  return text === null ? null : decodedText(M, text, await readSeedFacts(o.archiveDir, o.instanceId, M), o);
}

/**
 * Encodes a state as the archive's snapshot member: walLine = absolute line, version 1 (documents as their
 * stored strings, as the WAL wrote them), which BRI reads as it reads version 2: written without decoding
 * and re-encoding every document (issue 15: once per byte).
 */
export function stateSnapshotText(state: DbState, walLine: number, timestamp: number, key?: EncryptionKey, documentPiece?: DocumentPiece): string {
  return encodeSnapshot({ version: SNAPSHOT_MEMBER_VERSION, walLine, timestamp, state }, key, documentPiece);
}

/** The version of the snapshots an archive is made with (its starting snapshot, and the seed it leaves). */
export const SNAPSHOT_MEMBER_VERSION = 1 as const;

export interface ResolveStartOptions {
  dataDir: string;
  archiveDir: string;
  instanceId: string;
  removedLines: number;
  startLine: number;
  /** True when the state before line 1 is the empty one (wal/ holds every line from line 1, and they replay to the snapshot). */
  walCompleteFromStart: boolean;
  key?: EncryptionKey;
  timestamp: number;
  /**
   * The previous archive's file, to replay when no seed is kept: a path, or a way to fetch a good copy
   * from where it is kept (a directory restored from a remote has neither its archives nor their seeds).
   */
  previousArchive?: string | (() => Promise<string | null>);
  /**
   * False when the caller needs the state's text and counts only (a running database holds the
   * end state itself): a seed with its facts is then not decoded (default true).
   */
  needState?: boolean;
  /** The archive is encrypted for these recipients: a seed sealed for them is its snapshot member as it is. */
  sealTo?: AgeRecipients;
  /** The archive's zstd level: a plain seed compressed at it is the snapshot member as it is. */
  level?: number;
  /**
   * Opens a seed (or the previous archive) sealed with age for other recipients than `sealTo` (archive.encryption
   * changed since): an identity file's path or identities read (default $BRI_AGE_IDENTITY / $BRI_AGE_PASSPHRASE).
   */
  identity?: string | AgeIdentity;
}

const counts = (state: DbState | null) => ({ documents: state ? state.documents.size : null, collections: state ? state.collections.size : null });

export async function resolveStartState(o: ResolveStartOptions): Promise<StartState> {
  const M = o.startLine;
  const encryptedDir = o.key !== undefined || (await snapshotIsEncrypted(o.dataDir));
  // Else line 0's state is a seed's or the snapshot's (at walLine 0): what the WAL does not replay.
  if (M === 0 && o.walCompleteFromStart) {
    const state = emptyState();
    // Nothing secret in an empty state: without the key it is stored in plaintext.
    return { walLine: 0, snapshotText: stateSnapshotText(state, 0, o.timestamp, o.key), snapshotVersion: SNAPSHOT_MEMBER_VERSION, encrypted: o.key !== undefined, state, ...counts(state), coldDocuments: 0, source: 'empty' };
  }
  if (o.sealTo) {
    const sealed = await readSealedSeed(o.archiveDir, o.instanceId, M, o.sealTo);
    if (sealed) {
      const sealedMember = { path: sealed.path, ...sealed.member };
      return { walLine: M, snapshotText: '', sealedMember, snapshotVersion: sealed.facts?.version ?? 2, encrypted: sealed.member.briEncrypted, state: null, documents: sealed.facts?.documents ?? null, collections: sealed.facts?.collections ?? null, coldDocuments: 0, source: 'seed' };
    }
  }
  // A plain seed the facts describe goes as it is; one they do not (or none) is decoded; one that does not decode, or holds
  // another line's state, is no seed: the state comes the other ways, as when there is none (never an archive that does not restore).
  const facts = o.needState === false ? await readSeedFacts(o.archiveDir, o.instanceId, M) : null;
  const byFacts = facts ? await seedByFacts(o, M, facts) : null;
  if (byFacts) return byFacts;
  const decoded = await decodedSeed(o, M);
  if (decoded !== null && typeof decoded !== 'string') return decoded;
  let badSeed: string | null = decoded === null ? null : `the seed ${seedPath(o.archiveDir, o.instanceId, M)} is not used: ${decoded}`;
  // The seed is sealed for other recipients than this archive's (or this archive is not sealed): archive.encryption
  // changed since the previous archive. Opened with the identity this machine has, the archive goes on with the new setting.
  const sealedFor = await sealedSeedAt(o.archiveDir, o.instanceId, M);
  // A rekey retired the recipients this configuration still names: never sealed for them again, whatever identity is here.
  const retired = sealedFor !== null && rekeyedAwayFrom(sealedFor, o.sealTo);
  let identity: AgeIdentity | null | undefined;
  const ageIdentity = async () => (identity === undefined ? (identity = await resolveIdentity(o.identity)) : identity);
  let unsealFailure: unknown = null;
  let sealedBad: string | null = null;
  if (sealedFor !== null && !retired && (await ageIdentity()) !== null) {
    const chunks = await openSealedSeed(o.archiveDir, o.instanceId, M, identity!).catch((err: unknown) => {
      // Damaged (its text is not the one sealed): no seed, as a plain one that does not decode.
      if (isBriError(err, ErrorCodes.ARCHIVE_CORRUPTED)) sealedBad = `the sealed seed ${seedPath(o.archiveDir, o.instanceId, M, true)} is not used: ${err.message}`;
      else if (!isBriError(err, ErrorCodes.DECRYPTION_FAILED)) throw err;
      else unsealFailure = err;
      return null;
    });
    const opened = chunks === null ? null : seedStart(M, chunks, await readSeedFacts(o.archiveDir, o.instanceId, M), o);
    if (opened !== null && typeof opened !== 'string') return opened;
    if (opened !== null) sealedBad = `the sealed seed ${seedPath(o.archiveDir, o.instanceId, M, true)} is not used: ${opened}`;
  }
  // A sealed seed opened and found damaged: said as that, not as one sealed for another setting.
  if (sealedBad !== null) badSeed = sealedBad;
  // Replay the previous archive, when it is here and readable.
  const previous = o.previousArchive && !retired && (!encryptedDir || o.key) ? (typeof o.previousArchive === 'string' ? o.previousArchive : await o.previousArchive()) : null;
  let replayKeyFailure: BriError | null = null;
  if (previous) {
    // An archive encrypted with age is read with the identity this machine has, if any (most hold recipients only): else the data directory is the way.
    const r = await replayArchive(previous, { key: o.key, age: await ageIdentity() }).catch((err: unknown) => {
      if (isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING) || isBriError(err, ErrorCodes.DECRYPTION_FAILED)) {
        replayKeyFailure = err;
        return null;
      }
      throw err;
    });
    if (r !== null && r.manifest.timeRange.walLines.end === M) {
      return { walLine: M, snapshotText: stateSnapshotText(r.state, M, o.timestamp, o.key), snapshotVersion: SNAPSHOT_MEMBER_VERSION, encrypted: o.key !== undefined, state: r.state, ...counts(r.state), coldDocuments: 0, source: 'replay' };
    }
  }
  // From the data directory's own snapshot: its walLine can be read only in plaintext or with the key.
  // Failing that, a sealed seed is said as what it is: rekeyed away from this configuration, or sealed for the setting before this one.
  const rebuild = (why: string) =>
    sealedFor !== null && sealedBad === null
      ? retired
        ? sealedForOtherRecipients(M, sealedFor.recipients)
        : sealedForOldSetting(M, sealedFor, o.sealTo, identity ?? null, unsealFailure)
      : replayKeyFailure !== null
        ? previousSealed(M, replayKeyFailure)
        : cannotRebuild(M, badSeed === null ? why : `${why} (${badSeed})`, encryptedDir && o.key === undefined, badSeed !== null);
  const raw = await readRegularFile(path.join(o.dataDir, SNAPSHOT_FILE), 'utf8').catch((err: unknown) => (err instanceof BriError ? Promise.reject(err) : null));
  if (raw === null) throw rebuild('there is no seed for it and no snapshot.jss in the data directory');
  if (isEncryptedSnapshot(raw) && o.key === undefined) throw rebuild('the data directory is encrypted and no key was given');
  const snap = await readSnapshot(o.dataDir, o.key);
  const snapAbs = snap!.walLine + o.removedLines;
  if (snapAbs > M) throw rebuild(`no seed for it, and the data directory's snapshot is already at line ${snapAbs}`);
  const rec = await recover(o.dataDir, { encryptionKey: o.key, untilLine: M - o.removedLines }).catch((err: unknown) => {
    // A cold document written after M: its file holds a later value, so the state at M is not in this directory.
    if (!isColdValueUnknown(err)) throw err;
    const at = (err.details.line as number) + o.removedLines;
    throw rebuild(`no seed for it, and the data directory's cold tier holds ${err.details.key} (${err.details.file as string}) as written at line ${at} or later: its value at line ${M} is kept nowhere (the directory's state is exact from line ${at} on)`);
  });
  return {
    walLine: M,
    snapshotText: stateSnapshotText(rec.state, M, o.timestamp, encryptedDir ? o.key : undefined),
    snapshotVersion: SNAPSHOT_MEMBER_VERSION,
    encrypted: encryptedDir && o.key !== undefined,
    state: rec.state,
    ...counts(rec.state),
    coldDocuments: rec.coldDocuments,
    source: snapAbs === M ? 'data-dir-snapshot' : 'replay',
  };
}

/** The first KiB of a text given as chunks (what tells an encrypted snapshot). */
function headText(chunks: Buffer[]): string {
  const head = Buffer.concat(chunks.slice(0, 2)).subarray(0, 1024);
  return head.toString('utf8');
}

