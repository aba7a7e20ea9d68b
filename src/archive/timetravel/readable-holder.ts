/**
 * The archive a scan for a moment starts from, when two hold it (it falls between one's last line and its
 * seal, where the next one starts): both give the same state, and the plan weighed only the identity the
 * configuration names, not the one the query was given. The one that identity opens is read instead.
 */
import type { AgeIdentity } from '../crypto/age-keys.js';
import type { Manifest } from '../../format/manifest.js';
import { needsNoKey, opensWithIdentity } from '../restore/key-choice.js';

/** `planned`, unless it needs a key and another archive of `own` holding `ts` is one the identity opens (the newest such). */
export async function readableHolder<A extends { manifest: Manifest }>(own: readonly A[], planned: A, ts: number, identity: () => Promise<AgeIdentity | null>): Promise<A> {
  const holding = own.filter((a) => a.manifest.timeRange.start.getTime() <= ts && ts <= a.manifest.timeRange.sealedAt.getTime());
  if (holding.length < 2 || needsNoKey(planned.manifest)) return planned;
  // An identity that cannot be read decides nothing here: reading the archive says what is wrong with it.
  const opens = await opensWithIdentity(await identity().catch(() => null));
  if (opens(planned.manifest)) return planned;
  return holding.filter((a) => opens(a.manifest)).pop() ?? planned;
}
