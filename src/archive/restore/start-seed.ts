/**
 * The seed a restore that starts a new instance leaves for that instance's first archive: written
 * before the swap, so that no kill leaves a restored directory without it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SwapJournal } from '../../store/dir-swap.js';
import type { ArchiveState } from '../../store/archive-state.js';
import { removeSeed, SEEDS_DIR, writeSeedMember } from '../create/seeds.js';
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

/** Where, in the new directory, the seed for a carried-over archive directory waits for the swap. */
const STAGED_SEEDS = '.restore-seeds';
