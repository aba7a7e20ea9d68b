/**
 * Getting a good copy of an archive: the sources are tried in priority order;
 * a copy that is missing, cannot be fetched (the source is down), holds
 * another archive, or fails its checksums beyond PAR2 repair is skipped with
 * the reason, and the next source is tried. Downloads go to a temporary file
 * (hashed on the way) that the caller removes once it is done with it.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { readCopyRecord } from './copies.js';
import { readManifest } from './package-reader.js';
import type { ProgressListener } from './progress.js';
import type { ArchiveRepairer } from './restore.js';
import type { ArchiveCopy, CatalogArchive, SourceFailure } from './source-catalog.js';
import { LOCAL_SOURCE, type ArchiveSources, type RemoteSource } from './sources.js';
import { verifyArchive } from './verify.js';
import { isColdObject } from '../remote/index.js';

/** Why a source was passed over. */
export interface SourceProblem {
  source: string;
  reason: string;
  code?: string;
}

export interface FetchedCopy {
  file: string;
  source: string;
  repaired: { damagedBlocks: number; repairedBlocks: number } | null;
  /** Files this fetch made (downloads, repaired copies): the caller removes them. */
  temporary: string[];
  /** Sources tried before this one, and why they were not used. */
  skipped: SourceProblem[];
}

export interface FetchOptions {
  sources: ArchiveSources;
  archiveDir: string;
  /** Source names in the order to try. */
  order: string[];
  /** Where downloads go (a directory on the file system where the copy is needed). */
  workDir: string;
  key?: EncryptionKey;
  /** Verify the copy (default true); without it, any copy that downloads is taken. */
  verify?: boolean;
  repair?: ArchiveRepairer;
  /** Sources the listing could not reach, with the error. */
  unreachable?: SourceFailure[];
  onProblem?: (p: SourceProblem) => void;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

async function download(remote: RemoteSource, copy: ArchiveCopy, to: string, opts: FetchOptions): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      opts.onProgress?.({ operation: 'restore', phase: 'prepare', doneBytes: size, totalBytes: copy.bytes, item: `download from ${remote.name}` });
      cb(null, chunk);
    },
  });
  const body = await remote.store.get(copy.key!, opts.signal ? { signal: opts.signal } : {});
  await pipeline(body, tap, fs.createWriteStream(to, { mode: 0o600 }));
  return { sha256: hash.digest('hex'), size };
}

/** Checks a copy on disk; repairs it into a temp file when it can. Throws a BriError saying what is wrong. */
async function check(file: string, entry: CatalogArchive, opts: FetchOptions, made: string[]): Promise<{ file: string; repaired: FetchedCopy['repaired'] }> {
  const id = entry.manifest.archiveId;
  if (opts.verify === false) {
    const m = await readManifest(file);
    if (m.archiveId !== id) throw new BriError(ErrorCodes.ARCHIVE_INVALID, `the copy holds archive ${m.archiveId}, not ${id}`);
    return { file, repaired: null };
  }
  const report = await verifyArchive(file, { ...(opts.key ? { key: opts.key } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  if (report.ok && report.archiveId === id) return { file, repaired: null };
  if (report.ok) throw new BriError(ErrorCodes.ARCHIVE_INVALID, `the copy holds archive ${report.archiveId}, not ${id}`);
  const fixed = opts.repair ? await opts.repair(file) : null;
  if (fixed) {
    made.push(fixed.file);
    const again = await verifyArchive(fixed.file, opts.key ? { key: opts.key } : {});
    if (again.ok && again.archiveId === id) return { file: fixed.file, repaired: { damagedBlocks: fixed.damagedBlocks, repairedBlocks: fixed.repairedBlocks } };
  }
  throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `the copy is damaged${opts.repair ? ' beyond repair' : ''}: ${report.problems[0] ?? report.error?.message ?? 'unknown damage'}`, {
    details: { archiveId: id, problems: report.problems },
  });
}

/** The first good copy of `entry` in `opts.order`. Throws ARCHIVE_CORRUPTED / ARCHIVE_NOT_FOUND listing every source's reason. */
export async function fetchGoodCopy(entry: CatalogArchive, opts: FetchOptions): Promise<FetchedCopy> {
  const id = entry.manifest.archiveId;
  const skipped: SourceProblem[] = [];
  const skip = (p: SourceProblem) => {
    skipped.push(p);
    opts.onProblem?.(p);
  };
  for (const source of opts.order) {
    const down = opts.unreachable?.find((u) => u.source === source);
    if (down) {
      skip({ source, reason: `unreachable: ${down.error.message}`, code: down.error.code });
      continue;
    }
    const copy = entry.copies.find((c) => c.source === source);
    if (!copy) {
      skip({ source, reason: 'has no copy of this archive', code: ErrorCodes.ARCHIVE_NOT_FOUND });
      continue;
    }
    const made: string[] = [];
    try {
      let file: string;
      if (source === LOCAL_SOURCE) file = copy.file!;
      else {
        const remote = opts.sources.remote(source)!;
        file = path.join(opts.workDir, `.bri-fetch-${id}-${source}-${randomBytes(3).toString('hex')}.bri`);
        made.push(file);
        await fsp.mkdir(opts.workDir, { recursive: true });
        const got = await download(remote, copy, file, opts);
        // A mismatch with our own upload record is damage; PAR2 may still repair it, so it is checked below.
        const rec = await readCopyRecord(opts.archiveDir, id, source);
        if (rec && (rec.sha256 !== got.sha256 || rec.size !== got.size) && opts.verify === false) {
          throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `the copy's SHA-256 differs from the one confirmed at upload`, { details: { expected: rec.sha256, actual: got.sha256 } });
        }
      }
      const good = await check(file, entry, opts, made);
      return { file: good.file, source, repaired: good.repaired, temporary: made, skipped };
    } catch (err) {
      await Promise.all(made.map((f) => fsp.rm(f, { force: true })));
      if (!isBriError(err) && !(err instanceof Error)) throw err;
      const e = err as BriError;
      const thaw = isColdObject(e) ? `; \`bri archive thaw ${id} --source ${source}\` asks for it back` : '';
      skip({ source, reason: e.message + thaw, ...(isBriError(e) ? { code: e.code } : {}) });
    }
  }
  const anyCopy = skipped.some((p) => p.code !== ErrorCodes.ARCHIVE_NOT_FOUND);
  throw new BriError(anyCopy ? ErrorCodes.ARCHIVE_CORRUPTED : ErrorCodes.ARCHIVE_NOT_FOUND, `no good copy of archive ${id}: ${skipped.map((p) => `${p.source}: ${p.reason}`).join('; ')}`, {
    hint: anyCopy ? 'Every copy failed; `bri archive verify` and `bri archive repair` on a copy may tell more, or restore an earlier archive.' : 'No source holds it; `bri archive list` shows where each archive is.',
    details: { archiveId: id, tried: skipped },
  });
}
