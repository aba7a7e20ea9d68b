/**
 * The seed a restore leaves for the restored directory's next archive: a new instance's starting state,
 * or the state at the end of the archive a continuing chain goes on from. Written before the swap, so
 * that no kill leaves a restored directory without it.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { SwapJournal } from '../../store/dir-swap.js';
import type { ArchiveState } from '../../store/archive-state.js';
import { literalDocumentPiece } from '../../format/literal-state.js';
import { decodeSnapshot, encodeSnapshot, snapshotTextChunks } from '../../format/snapshot-file.js';
import { WAL_DIR } from '../../store/layout.js';
import { recover } from '../../store/recovery.js';
import { writeSnapshot } from '../../store/snapshot-store.js';
import { decryptChunks } from '../crypto/age-stream.js';
import { SNAPSHOT_MEMBER_VERSION, stateSnapshotText } from '../create/start-state.js';
import { removeSeed, SEEDS_DIR, writeSealedSeed, writeSeedMember } from '../create/seeds.js';
import { decompressChunks } from '../package/compress.js';
import type { Built } from './build.js';
import type { RestoreOptions } from './execute.js';
import type { RestorePlan } from './plan.js';

/**
 * A new instance that does not start at line 0 (a clone, a restore to an earlier point) keeps the
 * restore's starting state as a seed: its first archive then starts where the restore did and holds
 * every restored line, whatever the data directory's snapshot has become. Written before the swap, where
 * the swap takes it along (the new directory; for an archive directory carried over, staged in the new
 * directory and moved in by the swap's journal); an archive directory outside the target gets it directly,
 * keyed by the new instance, and the returned removal takes it away if the restore fails. A seed that
 * cannot be written is a warning: the first archive then starts at the data directory's snapshot.
 */
export async function keepStartAsSeed(plan: RestorePlan, state: ArchiveState, built: Built, opts: RestoreOptions, journal: SwapJournal, warnings: string[]): Promise<(() => Promise<void>) | null> {
  const m = plan.archive?.manifest;
  if (m && opts.seedDir && state.last !== null) return keepEndAsSeed(plan, state, built, opts, journal, warnings);
  if (!m || !opts.seedDir || state.last !== null || state.removedLines === 0 || built.startSnapshot === null) return null;
  const s = m.contents.snapshot;
  // (The version goes with the counts: the next manifest says which version its snapshot member is.)
  // A plain member is described as one too: the first archive at the same level takes it as it is.
  const stored = { originalSize: s.originalSize, contentSha256: s.contentSha256, compressedSize: s.compressedSize, sha256: s.sha256 };
  const member = m.encryption ? undefined : { level: m.compression.level, ...stored };
  const facts = m.stats.documentsAtSnapshot !== null && m.stats.collectionsAtSnapshot !== null ? { documents: m.stats.documentsAtSnapshot, collections: m.stats.collectionsAtSnapshot, version: s.version, ...(member ? { member } : {}) } : undefined;
  // An encrypted member is kept as it is (its recipients with it): the next archive, encrypted for them, takes it unopened.
  const sealed = m.encryption ? { ...stored, briEncrypted: s.encrypted, recipients: m.encryption.recipients, passphrase: m.encryption.passphrase } : undefined;
  const place = seedPlace(opts.seedDir, journal);
  const remove = () => removeSeed(place.dir, state.instanceId, state.removedLines);
  try {
    await writeSeedMember(place.dir, state.instanceId, state.removedLines, built.startSnapshot, facts, sealed);
  } catch (err) {
    if (place.outside) await remove().catch(() => undefined);
    warnings.push(`the starting state could not be kept in ${opts.seedDir} (${(err as Error).message}); the first archive will start at the data directory's snapshot`);
    return null;
  }
  if (place.moveIn) journal.moveIn = [place.moveIn];
  return place.outside ? remove : null;
}

/**
 * A continuing chain's next archive starts at the end of the archive restored. Encrypted with age, that state
 * is in that archive only, and the restored app holds public keys only (as it should): once its snapshot
 * moved past that line (shipped lines restored after the archive, or any later snapshot) no archive could be
 * made again. The restore had the identity: the state there, replayed from the archive's start and the
 * restored WAL, is kept sealed for the archive's recipients. A passphrase archive needs nothing kept (the
 * app holds the passphrase, it replays the archive itself). Not kept: a warning, the restore stands.
 */
async function keepEndAsSeed(plan: RestorePlan, state: ArchiveState, built: Built, opts: RestoreOptions, journal: SwapJournal, warnings: string[]): Promise<(() => Promise<void>) | null> {
  const m = plan.archive!.manifest;
  const end = m.timeRange.walLines.end;
  if (!m.encryption || m.encryption.passphrase || state.last?.endLine !== end || built.lastLine < end) return null;
  const place = seedPlace(opts.seedDir!, journal);
  const remove = () => removeSeed(place.dir, state.instanceId, end);
  const scratch = path.join(journal.newDir, END_STATE_SCRATCH);
  try {
    const text = stateBuiltAtArchiveEnd(plan, built, opts) ?? (await stateAtArchiveEnd(plan, built, opts, journal.newDir, scratch));
    const facts = { documents: text.documents, collections: text.collections, version: SNAPSHOT_MEMBER_VERSION };
    await writeSealedSeed(place.dir, state.instanceId, end, text.snapshot, facts, { recipients: m.encryption.recipients }, opts.key !== undefined);
  } catch (err) {
    await remove().catch(() => undefined);
    warnings.push(`the state at line ${end} (the end of ${m.archiveId}, where the next archive starts) could not be kept sealed in ${opts.seedDir} (${(err as Error).message}); the next archive needs an identity that opens ${m.archiveId} (BRI_AGE_IDENTITY) once`);
    return null;
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
  if (place.moveIn) journal.moveIn = [place.moveIn];
  return place.outside ? remove : null;
}

/**
 * The snapshot text at the archive's last line when the build ended there (no shipped line after it): the
 * state the build replayed, written as the build writes its own snapshot (documents as their literals), so
 * that the archive is not replayed a second time.
 */
function stateBuiltAtArchiveEnd(plan: RestorePlan, built: Built, opts: RestoreOptions): { snapshot: string | Iterable<string>; documents: number; collections: number } | null {
  const m = plan.archive!.manifest;
  const state = built.expected;
  if (state === null || built.lastLine !== m.timeRange.walLines.end) return null;
  const snapshot = { version: SNAPSHOT_MEMBER_VERSION, walLine: m.timeRange.walLines.end, timestamp: m.timeRange.end.getTime(), state };
  // BRI's own encryption at rest needs the whole text; otherwise the pieces stream into zstd and age.
  const text = opts.key ? encodeSnapshot(snapshot, opts.key, literalDocumentPiece) : snapshotTextChunks(snapshot, literalDocumentPiece);
  return { snapshot: text, documents: state.documents.size, collections: state.collections.size };
}

/**
 * The snapshot text at the archive's last line: its starting state (the snapshot member, opened with the
 * restore's identity; empty at line 0) with the restored WAL replayed up to that line, in a scratch directory
 * that shares the restored directory's segments (whose chain the build checked against the archive's).
 */
async function stateAtArchiveEnd(plan: RestorePlan, built: Built, opts: RestoreOptions, builtDir: string, scratch: string): Promise<{ snapshot: string; documents: number; collections: number }> {
  const m = plan.archive!.manifest;
  const { start, end } = m.timeRange.walLines;
  await fsp.rm(scratch, { recursive: true, force: true });
  await fsp.mkdir(path.join(scratch, WAL_DIR), { recursive: true });
  for (const name of await fsp.readdir(path.join(builtDir, WAL_DIR))) await fsp.link(path.join(builtDir, WAL_DIR, name), path.join(scratch, WAL_DIR, name));
  if (built.startSnapshot === null && (m.stats.documentsAtSnapshot !== 0 || m.stats.collectionsAtSnapshot !== 0)) {
    throw new Error('the archive starts from a snapshot at line 0 that the restore did not keep');
  }
  if (built.startSnapshot !== null) {
    const parts: Buffer[] = [];
    const member = m.contents.snapshot.file;
    for await (const c of decompressChunks(decryptChunks(fromBuffers(built.startSnapshot), opts.age ?? null, member), member, m.contents.snapshot.originalSize)) parts.push(c);
    const snap = decodeSnapshot(Buffer.concat(parts).toString('utf8'), opts.key);
    // The restored directory numbers its lines from the archive's start (removedLines): the start state is its line 0.
    await writeSnapshot(scratch, { version: snap.version, walLine: 0, timestamp: snap.timestamp, state: snap.state }, opts.key);
  }
  const rec = await recover(scratch, { untilLine: end - start, ignoreSnapshot: built.startSnapshot === null, ...(opts.key ? { encryptionKey: opts.key } : {}) });
  if (rec.appliedThrough !== end - start) throw new Error(`the restored WAL replays to line ${start + rec.appliedThrough}, the archive ends at line ${end}`);
  return { snapshot: stateSnapshotText(rec.state, end, m.timeRange.end.getTime(), opts.key), documents: rec.state.documents.size, collections: rec.state.collections.size };
}

async function* fromBuffers(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

/** Where the restored directory's archives live, relative to the target; null when outside it. */
function insideTarget(dir: string, target: string): string | null {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const rel = path.relative(real(target), real(dir));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : null;
}

/** The directory a new instance's seed is written into before the swap, and how it gets where the restored directory looks for it. */
function seedPlace(seedDir: string, j: SwapJournal): { dir: string; outside: boolean; moveIn: { from: string; to: string } | null } {
  const rel = insideTarget(seedDir, j.target);
  if (rel === null) return { dir: seedDir, outside: true, moveIn: null };
  const carried = j.oldDir !== null && j.carryOver.some((c) => rel === c || rel.startsWith(c + path.sep));
  if (!carried) return { dir: path.join(j.newDir, rel), outside: false, moveIn: null };
  return { dir: path.join(j.newDir, STAGED_SEEDS), outside: false, moveIn: { from: path.join(STAGED_SEEDS, SEEDS_DIR), to: path.join(rel, SEEDS_DIR) } };
}

/** Where, in the new directory, the state at an archive's end is replayed (removed before the swap; a kill before it takes the new directory). */
const END_STATE_SCRATCH = '.restore-end-state';

/** Where, in the new directory, the seed for a carried-over archive directory waits for the swap. */
const STAGED_SEEDS = '.restore-seeds';
