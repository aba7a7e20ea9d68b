/**
 * A time-travel answer over a damaged copy: a query reads single members of the first copy it can
 * read, and a member that fails its checksum (or a copy that cannot be read) stops the scan. Then,
 * as a restore does, a good copy of that archive is found (verified, repaired from its PAR2 data into
 * a scratch file, or fetched whole from the next source) and the scan runs again reading that archive
 * from it. The copy itself is left as it is, and the caller is told. Only when no good copy exists is
 * the failure the answer, naming the damaged member and every source tried.
 */
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { CatalogArchive } from '../copies/catalog.js';
import { NO_COPY_THERE, type FetchedCopy, type SourceProblem } from '../copies/fetch.js';
import { LOCAL_SOURCE } from '../copies/sources.js';
import { UnreadableArchive, type ScanInput } from './scan.js';

/** Finds a verified (or repaired) copy of an archive, trying the sources in order; throws when none is good. */
export type GoodCopyFinder = (archive: CatalogArchive) => Promise<FetchedCopy>;

/** The failure to report when no good copy could be found: the scan's own (it names the member), with what was tried. */
function noGoodCopy(cause: unknown, search: unknown): unknown {
  // A key that is missing, or does not open an intact copy, is the answer: every copy would say the same.
  if (isBriError(search, ErrorCodes.DECRYPTION_FAILED) || isBriError(search, ErrorCodes.ENCRYPTION_KEY_MISSING)) return search;
  if (!isBriError(cause)) return cause;
  const why = search instanceof Error ? search.message : String(search);
  return new BriError(cause.code, `${cause.message}; no good copy to read instead (${why})`, {
    hint: isBriError(search) && search.hint ? search.hint : cause.hint,
    details: { ...cause.details, ...(isBriError(search) ? { tried: search.details.tried } : {}) },
    cause,
  });
}

/**
 * Runs `scan` (which reads `input`), and when reading an archive fails, runs it again with a good copy
 * of that archive (each archive at most once). Scratch files made for it are removed at the end.
 */
export async function withGoodCopies<T>(input: ScanInput, find: GoodCopyFinder | undefined, onProblem: ((p: SourceProblem) => void) | undefined, scan: () => Promise<T>): Promise<T> {
  const copies = new Map<string, string>();
  input.goodCopies = copies;
  const temporary: string[] = [];
  try {
    for (;;) {
      try {
        return await scan();
      } catch (err) {
        if (!(err instanceof UnreadableArchive)) throw err;
        const archive = input.archives.find((a) => a.manifest.archiveId === err.archiveId);
        // Already read from a good copy: the failure is not the copy's (or the good copy is no better).
        if (find === undefined || archive === undefined || copies.has(err.archiveId)) throw err.cause;
        let got: FetchedCopy;
        try {
          got = await find(archive);
        } catch (search) {
          throw noGoodCopy(err.cause, search);
        }
        temporary.push(...got.temporary);
        // A local copy keepLocal removed was not tried: not said, as a restore does not say it. (A remote listed with no
        // copy may hold one the listing could not read: said.)
        for (const p of got.skipped) if (!(p.reason === NO_COPY_THERE && p.source === LOCAL_SOURCE)) onProblem?.(p);
        const why = err.cause instanceof Error ? err.cause.message : String(err.cause);
        if (got.repaired) {
          onProblem?.({
            source: got.source,
            reason: `archive ${err.archiveId}: ${why}; repaired from its PAR2 data to answer (${got.repaired.repairedBlocks} block(s)); the copy is left as it is: \`bri archive repair ${err.archiveId}\` mends it`,
          });
        }
        copies.set(err.archiveId, got.file);
      }
    }
  } finally {
    await Promise.all(temporary.map((f) => fsp.rm(f, { force: true })));
  }
}
