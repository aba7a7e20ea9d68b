/**
 * Getting archives back from an archive tier: a lifecycle rule
 * (`glacierAfterDays`) moves old archives to S3 Glacier or Azure Archive,
 * where they cannot be read until restored (hours). `thaw` asks each remote
 * for its copy of one archive, or of every archive it holds (found by
 * listing keys: a frozen copy's manifest cannot be read), and says where
 * each stands.
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { ThawOptions, ThawOutcome } from '../../remote/remote.js';
import { isMissingObject } from '../../remote/index.js';
import { ARCHIVE_KEY_PREFIX, archiveIdFromKey, archiveObjectKey, type ArchiveSources } from './sources.js';

export interface ThawStatus {
  archiveId: string;
  source: string;
  /** 'readable' now, a restore 'requested' just now, or one 'in-progress'; absent with `error`. */
  outcome?: ThawOutcome | 'no-copy';
  error?: BriError;
}

async function archiveIdsOn(sources: ArchiveSources, name: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const o of sources.remote(name)!.store.list(ARCHIVE_KEY_PREFIX)) {
    const id = archiveIdFromKey(o.key);
    if (id) ids.push(id);
  }
  return ids;
}

/** Thaws `archiveId` (or every archive, without it) on each remote named in `only`. */
export async function thawArchives(sources: ArchiveSources, only: readonly string[], archiveId: string | undefined, opts: ThawOptions & { onStatus?: (s: ThawStatus) => void } = {}): Promise<ThawStatus[]> {
  const remotes = only.filter((n) => sources.remote(n) !== undefined);
  if (remotes.length === 0) {
    throw new BriError(ErrorCodes.USAGE, 'no remote to thaw from: the archive directory is always readable', { hint: 'Configure a remote (--config), or name one with --source.' });
  }
  const out: ThawStatus[] = [];
  const report = (s: ThawStatus) => {
    out.push(s);
    opts.onStatus?.(s);
  };
  for (const source of remotes) {
    let ids: string[];
    try {
      ids = archiveId !== undefined ? [archiveId] : await archiveIdsOn(sources, source);
    } catch (err) {
      if (!isBriError(err)) throw err;
      report({ archiveId: archiveId ?? '*', source, error: err });
      continue;
    }
    const store = sources.remote(source)!.store;
    for (const id of ids) {
      try {
        report({ archiveId: id, source, outcome: await store.thaw(archiveObjectKey(id), opts) });
      } catch (err) {
        if (isMissingObject(err)) report({ archiveId: id, source, outcome: 'no-copy' });
        else if (isBriError(err)) report({ archiveId: id, source, error: err });
        else throw err;
      }
    }
  }
  return out;
}
