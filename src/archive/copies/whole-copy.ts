/**
 * Whether a local archive file still IS the archive, read and hashed, before anything goes on its word:
 * an upload over the remote's copy, a remote copy pruned or deleted because this one stays, WAL lines
 * removed because it holds them. A file that stats, and whose manifest reads, may still have rotted
 * members. One read gives the file's SHA-256 too (what an upload sends and records).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes } from '../../errors.js';
import type { ArchiveCopy } from './catalog.js';
import { headProblem, type CopyRecord } from './records.js';
import { LOCAL_SOURCE, type ArchiveSources } from './sources.js';
import { readLayout } from '../package/integrity.js';

export async function fileSha256(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

export interface LocalCopyCheck {
  sha256: string;
  size: number;
  /** What is wrong with the copy (null: every member matches the manifest's checksums, and the manifest names the archive). */
  problem: string | null;
}

export async function checkLocalCopy(file: string, archiveId: string): Promise<LocalCopyCheck> {
  const hash = createHash('sha256');
  let size = 0;
  const read = await readLayout(file, (c) => {
    hash.update(c);
    size += c.length;
  });
  const st = await fsp.stat(file);
  // The tar walk may stop before the file's end (a cut, junk after it): the digest is then the whole file's, read again.
  const digest = size === st.size ? { sha256: hash.digest('hex'), size } : await fileSha256(file);
  const problem =
    read.manifest === null ? (read.error?.message ?? 'its manifest cannot be read')
    : read.manifest.archiveId !== archiveId ? `it holds archive ${read.manifest.archiveId}`
    : !read.membersMatch ? (read.error?.message ?? 'its members do not match their checksums')
    : null;
  return { ...digest, problem };
}

/** The typed error of a local copy that cannot be relied on. */
export function damagedLocalCopy(archiveId: string, file: string, problem: string, what: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `the local copy of archive ${archiveId} is damaged (${problem}): ${what}`, {
    hint: `Run \`bri archive repair ${archiveId} --in-place\` (or \`bri archive download ${archiveId} <file>\` from a whole copy, then put it in its place), then try again.`,
    details: { archiveId, file },
  });
}

/**
 * Whether one of the copies that stay is still the archive, before other copies go on their word. The
 * local copy is read and hashed (a file that stats, whose manifest reads, may have rotted members). A
 * cloud copy is asked (one HEAD), as WAL cleanup asks it (headProblem): the size and the SHA-256
 * recorded with the object at upload must be the archive's (that metadata alone says nothing of an
 * object cut short since), else the checksum the remote confirmed then. A copy on a local remote (a NAS,
 * a USB disk, where bits rot unseen) is read and hashed. The archive's size and SHA-256 are the ones the
 * upload confirmed (the local file's, when no record says them).
 */
export async function someCopyWhole(staying: ArchiveCopy[], all: ArchiveCopy[], archiveId: string, sources: ArchiveSources, records: ReadonlyArray<CopyRecord>): Promise<boolean> {
  const local = all.find((c) => c.source === LOCAL_SOURCE);
  const stays = staying.find((c) => c.source === LOCAL_SOURCE);
  if (stays?.file !== undefined && (await checkLocalCopy(stays.file, archiveId).catch(() => null))?.problem === null) return true;
  let localDigest: Promise<{ sha256: string; size: number } | null> | undefined;
  const archiveDigest = (record: CopyRecord | undefined) => (record ? Promise.resolve(record) : (localDigest ??= local?.file === undefined ? Promise.resolve(null) : fileSha256(local.file).catch(() => null)));
  for (const c of staying) {
    const store = sources.remote(c.source)?.store;
    if (c.source === LOCAL_SOURCE || c.key === undefined || store === undefined) continue;
    const record = records.find((r) => r.source === c.source);
    const want = await archiveDigest(record);
    if (want === null) continue;
    try {
      if (c.provider !== 'local') {
        const head = await store.head(c.key);
        if (headProblem(head, { location: c.location, size: want.size, sha256: want.sha256 }) !== null) continue;
        // A remote that keeps no SHA-256 must answer the checksum it confirmed at upload: a size alone is no proof.
        if (head.checksums.sha256 !== undefined || (record !== undefined && head.checksums[record.checksum.algorithm] === record.checksum.value)) return true;
        continue;
      }
      const hash = createHash('sha256');
      for await (const chunk of await store.get(c.key)) hash.update(chunk as Buffer);
      if (hash.digest('hex') === want.sha256) return true;
    } catch {
      continue;
    }
  }
  return false;
}
