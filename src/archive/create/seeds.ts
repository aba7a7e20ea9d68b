/**
 * Seeds: the state at the end of the last archive, kept beside the archives
 * (`<archiveDir>/.seeds/<instanceId>.<line>.jss.zst`) so that the next archive
 * can start from it without replaying history. Written before the archive is
 * renamed into place, so an archive never exists without the seed after it.
 */
import { joinedPieces } from '../../format/text-pieces.js';
import { BriError, ErrorCodes } from '../../errors.js';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { openRegularFile, readRegularFile } from '../../store/files/regular-file.js';
import { decompressChunks } from '../package/compress.js';
import { compressOffThread } from '../package/compress-worker.js';
import { clearName, commitFile, makeOwnDir, writeFileDurable } from '../../store/durable-fs.js';
import { timeSlicer } from '../../store/time-slice.js';
import type { AgeIdentity, AgeRecipients } from '../crypto/age-keys.js';
import { decryptChunks, encryptToFile } from '../crypto/age-stream.js';
import { fileOpensWith, rekeyHeader } from '../crypto/age-rekey.js';
import { HashCounter } from '../package/compress.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressStream } from 'zstd-napi';
import { fileSha256 } from '../copies/upload.js';
import { createHash } from 'node:crypto';

export const SEEDS_DIR = '.seeds';
export const MAX_SEED_BYTES = 64 * 1024 * 1024 * 1024;

const SEED_SUFFIX = '.jss.zst';
/** A seed encrypted with age: kept as the archive member it becomes (the machine that makes archives cannot open it). */
const SEALED_SUFFIX = '.jss.zst.age';

export function seedPath(archiveDir: string, instanceId: string, line: number, sealed = false): string {
  return path.join(archiveDir, SEEDS_DIR, `${instanceId}.${line}${sealed ? SEALED_SUFFIX : SEED_SUFFIX}`);
}

function factsPath(archiveDir: string, instanceId: string, line: number): string {
  return path.join(archiveDir, SEEDS_DIR, `${instanceId}.${line}.facts.json`);
}

/**
 * What the next archive's manifest needs from a seed without decoding it (decoding a large
 * state holds the writers' thread for as long as it takes; the seed's bytes are checked by
 * zstd's frame checksum when read).
 */
export interface SeedFacts {
  documents: number;
  collections: number;
  /** The snapshot version of the seed's text (seeds written before it was recorded are version 2). */
  version?: 1 | 2;
  /** The seed file as a member: an archive at the same level takes it as it is (no decompress and compress again). */
  member?: SeedMemberFacts;
}

/** What the manifest says of a plain seed file taken as a snapshot member. */
export interface SeedMemberFacts {
  level: number;
  originalSize: number;
  contentSha256: string;
  compressedSize: number;
  sha256: string;
}

/** The zstd level plain seeds are written at. */
export const SEED_LEVEL = 3;

/** What the manifest says of a sealed (age-encrypted) seed's member, and whom it is encrypted for. */
export interface SealedSeedMember {
  originalSize: number;
  contentSha256: string;
  /** Size and sha256 of the age file as stored. */
  compressedSize: number;
  sha256: string;
  /** The snapshot text inside is BRI's own at-rest encryption. */
  briEncrypted: boolean;
  recipients: string[];
  passphrase: boolean;
  /** The recipients it was sealed for before a rekey: a configuration still naming them was read before the rekey. */
  rekeyedFrom?: string[];
}

/** The facts go first: a seed under its name always has the facts beside it (when there are any). */
async function writeFacts(archiveDir: string, instanceId: string, line: number, facts: SeedFacts | undefined, sealed?: SealedSeedMember): Promise<void> {
  if (!facts && !sealed) return;
  const counted = facts ? { documents: facts.documents, collections: facts.collections, ...(facts.version ? { version: facts.version } : {}), ...(facts.member ? { member: facts.member } : {}) } : {};
  await writeFileDurable(factsPath(archiveDir, instanceId, line), JSON.stringify({ ...counted, ...(sealed ? { sealed } : {}) }));
}

/** Writes the snapshot text (whole, or streamed in pieces) of the state at absolute `line` durably, with its facts. */
export async function writeSeed(archiveDir: string, instanceId: string, line: number, snapshotText: string | Iterable<string>, facts?: SeedFacts): Promise<void> {
  const dir = path.join(archiveDir, SEEDS_DIR);
  await makeOwnDir(dir);
  await sweepPlainSeedTmps(archiveDir);
  const target = seedPath(archiveDir, instanceId, line);
  const pieces = typeof snapshotText === 'string' ? [snapshotText] : snapshotText;
  // Encoded a piece at a time with turns for the event loop between pieces; zstd and both hashes on the worker.
  const z = await compressOffThread(encodedPieces(pieces), target + '.tmp', SEED_LEVEL, 0, { owned: 'whole' });
  // The facts before the seed takes its name, with what they say of the file (checked again when it is taken as a member).
  const member: SeedMemberFacts = { level: SEED_LEVEL, originalSize: z.originalSize, contentSha256: z.contentSha256, compressedSize: z.compressedSize, sha256: z.sha256 };
  await writeFacts(archiveDir, instanceId, line, facts ? { ...facts, member } : undefined);
  await commitFile(target + '.tmp', target, { synced: true });
}

/** Whether a seed exists at that line (a create that fails removes only a seed it wrote itself). */
export async function seedExists(archiveDir: string, instanceId: string, line: number): Promise<boolean> {
  const exists = (p: string) => fsp.stat(p).then(() => true, () => false);
  return (await exists(seedPath(archiveDir, instanceId, line))) || exists(seedPath(archiveDir, instanceId, line, true));
}

/** Removes the seed at that line and its facts (a create that failed after writing them leaves nothing). */
export async function removeSeed(archiveDir: string, instanceId: string, line: number): Promise<void> {
  for (const sealed of [false, true]) {
    await fsp.rm(seedPath(archiveDir, instanceId, line, sealed), { force: true });
    await fsp.rm(seedPath(archiveDir, instanceId, line, sealed) + '.tmp', { force: true });
  }
  await fsp.rm(factsPath(archiveDir, instanceId, line), { force: true });
  await sweepPlainSeedTmps(archiveDir);
}

/** The plaintext zstd a sealed seed was staged as before it was streamed into age: a kill left it behind. */
const LEGACY_PLAIN_TMP = `${SEALED_SUFFIX}.zst.tmp`;
const SEALED_ZSTD = { compressionLevel: SEED_LEVEL, nbWorkers: 0, checksumFlag: true, contentSizeFlag: true };

/** Removes the plaintext staging files of sealed seeds older versions' kills left, of any instance (none is written now). */
async function sweepPlainSeedTmps(archiveDir: string): Promise<void> {
  const dir = path.join(archiveDir, SEEDS_DIR);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const n of names) if (n.endsWith(LEGACY_PLAIN_TMP)) await fsp.rm(path.join(dir, n), { force: true });
}

/**
 * Writes a sealed seed: the snapshot text compressed and encrypted for `to`, stored as the archive
 * member it will become, with what the manifest needs of it (the next create never opens it).
 * zstd streams straight into age: the state never touches the disk in the clear (it was staged as
 * `<seed>.zst.tmp` first, left there by a kill until a later create).
 */
export async function writeSealedSeed(archiveDir: string, instanceId: string, line: number, snapshotText: string | Iterable<string>, facts: SeedFacts | undefined, to: AgeRecipients, briEncrypted: boolean): Promise<void> {
  await makeOwnDir(path.join(archiveDir, SEEDS_DIR));
  const target = seedPath(archiveDir, instanceId, line, true);
  await sweepPlainSeedTmps(archiveDir);
  const pieces = typeof snapshotText === 'string' ? [snapshotText] : snapshotText;
  const tmp = target + '.tmp';
  // What stands at the name goes first (a link would be followed by encryptToFile's open; commitFile refuses one put there since).
  await clearName(tmp);
  const plain = new HashCounter();
  let e: { size: number; sha256: string } | undefined;
  // On this thread, at the seed's fast level: age encryption runs here anyway, and costs more than zstd at level 3.
  await pipeline(Readable.from(encodedPieces(pieces), { objectMode: false }), plain, new CompressStream(SEALED_ZSTD), async (zstd: AsyncIterable<Buffer>) => {
    e = await encryptToFile(zstd, tmp, to, true, `seed ${path.basename(target)}`);
  });
  const sealed: SealedSeedMember = { originalSize: plain.bytes, contentSha256: plain.digest(), compressedSize: e!.size, sha256: e!.sha256, briEncrypted, recipients: to.recipients, passphrase: to.passphrase !== undefined };
  await writeFacts(archiveDir, instanceId, line, facts, sealed);
  await commitFile(tmp, target, { synced: true });
}

/** The sealed seed at that line when it is encrypted for exactly `to` (another set of recipients could not read it). */
export async function readSealedSeed(archiveDir: string, instanceId: string, line: number, to: AgeRecipients): Promise<{ path: string; member: SealedSeedMember; facts: SeedFacts | null } | null> {
  const file = seedPath(archiveDir, instanceId, line, true);
  if (!fs.existsSync(file)) return null;
  const raw = await readFactsFile(archiveDir, instanceId, line);
  const member = raw.sealed as SealedSeedMember | undefined;
  if (!member || !sameRecipients(member, to)) return null;
  // Its bytes become a member as they are: checked against the facts (an interrupted rekey may have left them apart).
  const { size, sha256 } = await fileSha256(file);
  if (size !== member.compressedSize || sha256 !== member.sha256) return null;
  // Every passphrase's facts say the same: one changed without a rekey would leave its snapshot for the old passphrase only.
  if (to.passphrase !== undefined && !(await fileOpensWith(file, { identities: [], passphrases: [to.passphrase], source: 'archive.encryption.passphrase' }))) return null;
  return { path: file, member, facts: factsOf(raw) };
}

/** Whom the sealed seed at that line is sealed for (recipients [] when its facts are unreadable); null when there is none. */
export type SealedFor = Pick<SealedSeedMember, 'recipients' | 'passphrase' | 'rekeyedFrom'>;

export async function sealedSeedAt(archiveDir: string, instanceId: string, line: number): Promise<SealedFor | null> {
  if (!fs.existsSync(seedPath(archiveDir, instanceId, line, true))) return null;
  const member = (await readFactsFile(archiveDir, instanceId, line)).sealed as SealedSeedMember | undefined;
  return member && Array.isArray(member.recipients) ? member : { recipients: [], passphrase: false };
}

/** Whether `to` is what the seed was sealed for before a rekey (a configuration read before the rekey, not a new setting). */
export function rekeyedAwayFrom(sealed: SealedFor, to: AgeRecipients | undefined): boolean {
  if (!to || !sealed.rekeyedFrom || to.passphrase !== undefined) return false;
  return [...sealed.rekeyedFrom].sort().join('\n') === [...to.recipients].sort().join('\n');
}

/**
 * The snapshot text of the sealed seed at that line, opened with `identity` (the state the previous archive
 * ended with, for an archive whose encryption setting changed since): DECRYPTION_FAILED / ENCRYPTION_KEY_MISSING
 * as decryptChunks says them; the text is checked against the facts' content hash when they have one.
 */
export async function openSealedSeed(archiveDir: string, instanceId: string, line: number, identity: AgeIdentity | null): Promise<Buffer[]> {
  const file = seedPath(archiveDir, instanceId, line, true);
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  const plain = decryptChunks((await openRegularFile(file)).createReadStream(), identity, `seed ${path.basename(file)}`);
  for await (const c of decompressChunks(plain, path.basename(file), MAX_SEED_BYTES)) {
    hash.update(c);
    chunks.push(c);
  }
  const expected = ((await readFactsFile(archiveDir, instanceId, line)).sealed as SealedSeedMember | undefined)?.contentSha256;
  if (expected && hash.digest('hex') !== expected) {
    throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `the seed ${file} does not match its checksum`, { hint: 'Remove it: the next archive then starts from the previous archive (replayed) or the data directory.', details: { file } });
  }
  return chunks;
}

/** What a rekey did to an instance's sealed seeds: how many it rewrapped, and each it could not (left as it was). */
export interface SealedSeedsRekey {
  rekeyed: number;
  failed: Array<{ seed: string; error: unknown }>;
}

/**
 * Gives each sealed seed of the instance a new age header for `to` (rekey). One that cannot be rewrapped is
 * left as it was and said, and the others still go (a rekey stopped there said nothing of what it had done).
 */
export async function rekeySealedSeeds(archiveDir: string, instanceId: string, identity: AgeIdentity | null, to: AgeRecipients): Promise<SealedSeedsRekey> {
  const out: SealedSeedsRekey = { rekeyed: 0, failed: [] };
  for (const line of await seedLines(archiveDir, instanceId)) {
    const file = seedPath(archiveDir, instanceId, line, true);
    if (!fs.existsSync(file)) continue;
    try {
      if (await rekeySealedSeed(archiveDir, instanceId, line, file, identity, to)) out.rekeyed++;
    } catch (error) {
      out.failed.push({ seed: path.basename(file), error });
    }
  }
  return out;
}

/** Rewraps one sealed seed for `to`; false when it already is for them. */
async function rekeySealedSeed(archiveDir: string, instanceId: string, line: number, file: string, identity: AgeIdentity | null, to: AgeRecipients): Promise<boolean> {
  const raw = await readFactsFile(archiveDir, instanceId, line);
  const bytes = await readRegularFile(file);
  const was = raw.sealed as SealedSeedMember | undefined;
  const head = bytes.subarray(0, Math.min(bytes.length, 64 * 1024));
  // Already for `to`, whole (a rekey run again after it stopped half way): the old identity would not open it. Every passphrase's facts say the same: the new one must open it.
  const newKey = to.passphrase === undefined ? null : { identities: [], passphrases: [to.passphrase], source: 'the new passphrase' };
  if (was && sameRecipients(was, to) && createHash('sha256').update(bytes).digest('hex') === was.sha256 && (newKey === null || (await rekeyHeader(head, newKey, to, file).then(() => true, () => false)))) return false;
  const { header, oldHeaderLength } = await rekeyHeader(head, identity, to, path.basename(file));
  const next = Buffer.concat([header, bytes.subarray(oldHeaderLength)]);
  if (was) {
    // Whom it was sealed for before: a create still configured for them is told of the rekey, not opened for them again.
    const member: SealedSeedMember = { ...was, compressedSize: next.length, sha256: createHash('sha256').update(next).digest('hex'), recipients: [...to.recipients], passphrase: to.passphrase !== undefined, rekeyedFrom: was.recipients };
    await writeFileDurable(factsPath(archiveDir, instanceId, line), JSON.stringify({ ...raw, sealed: member }));
  }
  await writeFileDurable(file, next);
  return true;
}

function sameRecipients(member: SealedSeedMember, to: AgeRecipients): boolean {
  const a = [...member.recipients].sort().join('\n');
  const b = [...to.recipients].sort().join('\n');
  return a === b && member.passphrase === (to.passphrase !== undefined);
}

/**
 * Keeps an archive's snapshot member (zstd of the snapshot text at absolute `line`) as the seed
 * at that line, as stored: a restore's starting state becomes its new instance's first seed.
 */
export async function writeSeedMember(archiveDir: string, instanceId: string, line: number, compressed: readonly Buffer[], facts?: SeedFacts, sealed?: SealedSeedMember): Promise<void> {
  const dir = path.join(archiveDir, SEEDS_DIR);
  await makeOwnDir(dir);
  await writeFacts(archiveDir, instanceId, line, facts, sealed);
  const target = seedPath(archiveDir, instanceId, line, sealed !== undefined);
  await writeFileDurable(target, Buffer.concat(compressed));
}

/** The facts written with a seed; null when there are none or they do not parse (the caller decodes the seed instead). */
export async function readSeedFacts(archiveDir: string, instanceId: string, line: number): Promise<SeedFacts | null> {
  return factsOf(await readFactsFile(archiveDir, instanceId, line));
}

/** The facts file as written (an empty object when there is none or it does not parse). */
async function readFactsFile(archiveDir: string, instanceId: string, line: number): Promise<Record<string, unknown>> {
  return readRegularFile(factsPath(archiveDir, instanceId, line), 'utf8').then(
    (t) => JSON.parse(t) as Record<string, unknown>,
    () => ({}),
  ).catch(() => ({}));
}

/** The counts of a facts file, when they are there and valid. */
function factsOf(v: Record<string, unknown>): SeedFacts | null {
  if (!count(v.documents) || !count(v.collections)) return null;
  const member = memberOf(v.member);
  return { documents: v.documents, collections: v.collections, version: v.version === 1 ? 1 : 2, ...(member ? { member } : {}) };
}

const count = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const sha = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

function memberOf(v: unknown): SeedMemberFacts | null {
  if (v === null || typeof v !== 'object') return null;
  const m = v as Record<string, unknown>;
  if (!count(m.level) || !count(m.originalSize) || !count(m.compressedSize) || !sha(m.sha256) || !sha(m.contentSha256)) return null;
  return { level: m.level, originalSize: m.originalSize, compressedSize: m.compressedSize, sha256: m.sha256, contentSha256: m.contentSha256 };
}

/**
 * The plain seed at `line` as an archive member, when its facts describe it at `level` and its bytes
 * still match them (a seed rewritten after its facts, or damaged, is read the long way instead).
 */
export async function seedMemberAsIs(archiveDir: string, instanceId: string, line: number, facts: SeedFacts, level: number): Promise<({ path: string } & SeedMemberFacts) | null> {
  const m = facts.member;
  if (!m || m.level !== level) return null;
  const file = seedPath(archiveDir, instanceId, line);
  // Streamed: a piece hashed per read, the writers' thread never held for the whole file.
  const read = await fileSha256(file).catch(() => null);
  return read !== null && read.size === m.compressedSize && read.sha256 === m.sha256 ? { path: file, ...m } : null;
}

/** Text is encoded for the compressor into buffers of this many bytes (each one its own, transferable). */
const BATCH_BYTES = 256 * 1024;
/** A text longer than this many characters is cut (it may not fit a batch: a UTF-16 unit is up to 3 bytes). */
const LONG = Math.floor(BATCH_BYTES / 3);

/** Where a long string may be cut near `at` without splitting a surrogate pair. */
function cutAt(text: string, at: number): number {
  if (at >= text.length) return text.length;
  const c = text.charCodeAt(at - 1);
  return c >= 0xd800 && c <= 0xdbff ? at - 1 : at;
}

/**
 * UTF-8 buffers of about BATCH_BYTES from pieces of text (small ones joined: format/text-pieces.ts; a long one cut), each a
 * view of memory of its own (never read again here: compressOffThread's 'whole' transfers it), with a
 * turn for the event loop once a slice of time is used.
 */
export async function* encodedPieces(pieces: Iterable<string>): AsyncGenerator<Buffer> {
  const slicer = timeSlicer();
  let buf = Buffer.allocUnsafeSlow(BATCH_BYTES);
  let used = 0;
  const full = (): Buffer => {
    const out = buf.subarray(0, used);
    buf = Buffer.allocUnsafeSlow(BATCH_BYTES);
    used = 0;
    return out;
  };
  /** Encodes text into the batch, giving the batch up first when the text may not fit. */
  const put = function* (text: string): Generator<Buffer> {
    for (let at = 0; at < text.length; ) {
      const end = cutAt(text, Math.min(text.length, at + LONG));
      if (used + (end - at) * 3 > BATCH_BYTES && used > 0) yield full();
      used += buf.write(at === 0 && end === text.length ? text : text.slice(at, end), used);
      at = end;
    }
  };
  for (const text of joinedPieces(pieces)) {
    yield* put(text);
    const turn = slicer.maybeYield();
    if (turn) await turn;
  }
  if (used > 0) yield full();
}

/** The decompressed bytes of the seed at absolute `line` (each chunk in a buffer of its own), or null when none is kept. */
export async function readSeedChunks(archiveDir: string, instanceId: string, line: number): Promise<Buffer[] | null> {
  const file = seedPath(archiveDir, instanceId, line);
  if (!fs.existsSync(file)) return null;
  const chunks: Buffer[] = [];
  for await (const c of decompressChunks((await openRegularFile(file)).createReadStream(), path.basename(file), MAX_SEED_BYTES)) chunks.push(c);
  return chunks;
}

/** The snapshot text of the state at absolute `line`, or null when no seed is kept for it. */
export async function readSeed(archiveDir: string, instanceId: string, line: number): Promise<string | null> {
  const chunks = await readSeedChunks(archiveDir, instanceId, line);
  return chunks === null ? null : Buffer.concat(chunks).toString('utf8');
}

/** The lines this instance has seeds at (a state that can start an archive without a replay). */
export async function seedLines(archiveDir: string, instanceId: string): Promise<number[]> {
  const names = await fsp.readdir(path.join(archiveDir, SEEDS_DIR)).catch(() => [] as string[]);
  const out: number[] = [];
  for (const n of names) {
    if (!n.startsWith(`${instanceId}.`)) continue;
    const suffix = n.endsWith(SEED_SUFFIX) ? SEED_SUFFIX : n.endsWith(SEALED_SUFFIX) ? SEALED_SUFFIX : null;
    if (suffix === null) continue;
    const line = Number(n.slice(instanceId.length + 1, -suffix.length));
    if (Number.isSafeInteger(line) && line >= 0) out.push(line);
  }
  return out;
}

/** Removes this instance's seeds other than the one at `keepLine`. */
export async function pruneSeeds(archiveDir: string, instanceId: string, keepLine: number): Promise<void> {
  const dir = path.join(archiveDir, SEEDS_DIR);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const keep = new Set([path.basename(seedPath(archiveDir, instanceId, keepLine)), path.basename(seedPath(archiveDir, instanceId, keepLine, true)), path.basename(factsPath(archiveDir, instanceId, keepLine))]);
  for (const n of names) if (n.startsWith(`${instanceId}.`) && !keep.has(n)) await fsp.rm(path.join(dir, n), { force: true });
}
