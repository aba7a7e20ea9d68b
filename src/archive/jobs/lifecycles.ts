/**
 * The remotes' own lifecycle rules: `glacierAfterDays` installed once per remote per process, before the
 * uploads of a create. Only the transition to a cold tier: expiry stays with our pruning.
 */
import type { ArchiveSources } from '../copies/sources.js';
import type { ReplicationEvent } from '../copies/upload.js';

/**
 * Installs `glacierAfterDays` as the bucket's lifecycle rule where the provider
 * supports it (once per remote per process). Only the transition: expiry is
 * our pruning's job, because a provider rule would also delete permanent archives.
 */
export async function applyLifecycles(sources: ArchiveSources, done: Set<string>, onEvent?: (e: ReplicationEvent) => void): Promise<void> {
  for (const r of sources.remotes) {
    if (done.has(r.name) || r.config.glacierAfterDays === undefined) continue;
    done.add(r.name);
    try {
      const res = await r.store.applyLifecycle({ transitionAfterDays: r.config.glacierAfterDays });
      onEvent?.({ kind: 'lifecycle', source: r.name, applied: res.applied, ...(res.reason ? { reason: res.reason } : {}) });
    } catch (err) {
      // Not fatal: the archives are stored either way; the next process tries again.
      done.delete(r.name);
      onEvent?.({ kind: 'lifecycle', source: r.name, applied: false, reason: (err as Error).message });
    }
  }
}
