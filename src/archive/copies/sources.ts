/**
 * The places archives are kept: the local archive directory (source `local`)
 * and the configured remotes, each with a name, in the priority order that
 * restore and download follow (`restoreSources`).
 */
import { BriError, ErrorCodes } from '../../errors.js';
import { createRemote, PROVIDERS, type RemoteConfig } from '../../remote/registry.js';
import type { RemoteDescription, RemoteStore } from '../../remote/remote.js';
import type { RetryOptions } from '../../remote/retry.js';
import { ARCHIVE_EXTENSION, assertArchiveId } from '../package/ids.js';
import type { RemotePlace } from './locations.js';
import type { Manifest } from '../../format/manifest.js';

export const LOCAL_SOURCE = 'local';
/** Archives live under this key prefix, inside the remote's own prefix. */
export const ARCHIVE_KEY_PREFIX = 'archives/';

export interface RemoteSource {
  name: string;
  store: RemoteStore;
  config: RemoteConfig;
}

/** Object key of an archive on a remote, from a validated id. */
export function archiveObjectKey(archiveId: string): string {
  return `${ARCHIVE_KEY_PREFIX}${assertArchiveId(archiveId)}${ARCHIVE_EXTENSION}`;
}

/** A remote's location and an object key as one human-readable place. */
export function objectLocation(remote: RemoteSource, key: string): string {
  const loc = remote.store.describe().location;
  return loc.endsWith('/') ? loc + key : `${loc}/${key}`;
}

/** The archive id an object key names, or null for any other object (never trusted as a path). */
export function archiveIdFromKey(key: string): string | null {
  if (!key.startsWith(ARCHIVE_KEY_PREFIX) || !key.endsWith(ARCHIVE_EXTENSION)) return null;
  const id = key.slice(ARCHIVE_KEY_PREFIX.length, -ARCHIVE_EXTENSION.length);
  try {
    return assertArchiveId(id);
  } catch {
    return null;
  }
}

/** Names remotes: their `name`, else the provider's, numbered (`s3-2`) when taken; `local` is the archive directory's. */
export function nameRemotes(configs: RemoteConfig[]): string[] {
  const taken = new Set<string>([LOCAL_SOURCE]);
  return configs.map((c, i) => {
    let name = c.name ?? c.provider;
    // restoreSources and --source take a provider's name for its remotes: a local remote named 's3' took the place
    // of every S3 remote there, and a restore that looked only at it said there was no archive.
    if (c.name !== undefined && c.name !== c.provider && c.name !== LOCAL_SOURCE && (PROVIDERS as readonly string[]).includes(c.name)) {
      throw new BriError(ErrorCodes.CONFIG_INVALID, `archive.remotes[${i}].name: '${name}' is the name of a provider, and this remote is ${c.provider}: restoreSources and --source would take it for the ${name} remotes`, {
        hint: `give this remote another name (e.g. '${c.provider}-${name}')`,
        details: { key: `remotes[${i}].name` },
      });
    }
    if (c.name !== undefined && taken.has(name)) {
      throw new BriError(ErrorCodes.CONFIG_INVALID, `archive.remotes[${i}].name: '${name}' is used twice${name === LOCAL_SOURCE ? " ('local' is the archive directory)" : ''}`, {
        hint: 'give each remote its own name',
        details: { key: `remotes[${i}].name` },
      });
    }
    for (let n = 2; taken.has(name); n++) name = `${c.provider}-${n}`;
    taken.add(name);
    return name;
  });
}

export class ArchiveSources {
  readonly remotes: RemoteSource[];
  /** Source names in the order restore and download try them. */
  readonly order: string[];

  constructor(configs: RemoteConfig[], restoreSources?: string[], retry?: RetryOptions | false) {
    const names = nameRemotes(configs);
    this.remotes = configs.map((config, i) => ({ name: names[i]!, config, store: createRemote(config, retry !== undefined ? { retry } : {}) }));
    this.order = restoreSources ? this.resolveOrder(restoreSources) : [LOCAL_SOURCE, ...names];
  }

  private resolveOrder(wanted: string[]): string[] {
    const out: string[] = [];
    for (const w of wanted) {
      const names = this.select(w, 'restoreSources');
      for (const n of names) if (!out.includes(n)) out.push(n);
    }
    return out;
  }

  /** The sources a name means: that source, or every remote of that provider. Throws REMOTE_NOT_FOUND naming the known ones. */
  select(nameOrProvider: string, what = '--source'): string[] {
    if (nameOrProvider === LOCAL_SOURCE) return [LOCAL_SOURCE];
    const byName = this.remotes.filter((r) => r.name === nameOrProvider);
    const found = byName.length ? byName : this.remotes.filter((r) => r.config.provider === nameOrProvider);
    if (found.length === 0) {
      throw new BriError(ErrorCodes.REMOTE_NOT_FOUND, `${what}: no source "${nameOrProvider}" is configured`, {
        hint: `Known sources: ${[LOCAL_SOURCE, ...this.remotes.map((r) => r.name)].join(', ')}. Remotes come from the archive config (remote, remotes; --config for the CLI).`,
        details: { source: nameOrProvider },
      });
    }
    return found.map((r) => r.name);
  }

  /** Every source: `local`, then the remotes as configured (what listings show). */
  get all(): string[] {
    return [LOCAL_SOURCE, ...this.remotes.map((r) => r.name)];
  }

  /** The sources `--source` names, or every one. */
  selectOrAll(nameOrProvider: string | undefined): string[] {
    return nameOrProvider === undefined ? this.all : this.select(nameOrProvider);
  }

  remote(name: string): RemoteSource | undefined {
    return this.remotes.find((r) => r.name === name);
  }

  /** Each remote as the location check names it. */
  places(): RemotePlace[] {
    return this.remotes.map((r) => ({ setting: `archive remote '${r.name}'`, description: r.store.describe() }));
  }

  describe(name: string): RemoteDescription | { provider: 'local'; location: string } {
    const r = this.remote(name);
    return r ? r.store.describe() : { provider: 'local', location: LOCAL_SOURCE };
  }

  async close(): Promise<void> {
    await Promise.all(this.remotes.map((r) => r.store.close()));
  }
}

/**
 * The remotes an archive belongs on, among `manifests`: every one, except a remote whose own retentionDays it is
 * past (its prune just removed it there: each run sent it back, then removed it). An instance's newest archive
 * is never pruned: it goes everywhere, whatever its age. Prune keeps a local copy until these all hold it.
 */
export function remotesWanting(manifests: ReadonlyArray<Manifest>, sources: ArchiveSources, now: Date): (m: Manifest) => RemoteSource[] {
  const newest = new Map<string, number>();
  for (const m of manifests) newest.set(m.instanceId, Math.max(newest.get(m.instanceId) ?? -1, m.timeRange.walLines.end));
  const pastRetention = (m: Manifest, days: number | undefined) =>
    days !== undefined && !m.permanent && m.retentionUntil === null && newest.get(m.instanceId) !== m.timeRange.walLines.end && m.timeRange.sealedAt.getTime() < now.getTime() - days * 86_400_000;
  return (m) => sources.remotes.filter((r) => !pastRetention(m, r.config.retentionDays));
}

/** Object metadata that lets a person (or a listing) tell what an archive holds without opening it. */
export function archiveMetadata(m: Manifest): Record<string, string> {
  return {
    archive_id: m.archiveId,
    instance_id: m.instanceId,
    first_line: String(m.timeRange.walLines.start + 1),
    last_line: String(m.timeRange.walLines.end),
    time_start: m.timeRange.start.toISOString(),
    time_end: m.timeRange.end.toISOString(),
  };
}
