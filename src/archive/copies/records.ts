/**
 * Where each archive's copies are: one small file per (archive, remote) in
 * `<archiveDir>/.copies/`, written durably only after the remote confirmed the
 * size and a checksum of what it stored. A half-finished upload never gets a
 * record, so it never counts as a copy (WAL cleanup trusts these records).
 * One file per copy: concurrent uploads to several remotes never race on a file.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isMissingObject } from '../../remote/index.js';
import type { ChecksumAlgorithm, ObjectHead, ProviderName, RemoteStore } from '../../remote/remote.js';
import { fsyncDir, makeOwnDir, writeFileDurable } from '../../store/durable-fs.js';
import { assertArchiveId } from '../package/ids.js';
import { remotePlace } from './locations.js';
import { objectLocation, type RemoteSource } from './sources.js';

export const COPIES_DIR = '.copies';

export interface CopyRecord {
  version: 1;
  archiveId: string;
  source: string;
  provider: ProviderName;
  /** Where the copy is (the source's location and the key; no credentials). */
  location: string;
  /**
   * Where the source pointed, canonical (`remotePlace`): the record counts only while the remote
   * points there. Records written before it have none: their `location` is compared instead.
   */
  place?: string;
  key: string;
  /** Size and SHA-256 of the archive file, as confirmed by the remote. */
  size: number;
  sha256: string;
  /** The checksum the remote itself reported and that matched. */
  checksum: { algorithm: ChecksumAlgorithm; value: string };
  confirmedAt: string;
  /**
   * The object's last-modified time as the remote gave it once confirmed (the remote's clock: a server ahead of
   * ours made every copy look written after `confirmedAt`). Records written before it have none: `confirmedAt` then.
   */
  objectModified?: string;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,31}$/;

function recordFile(archiveDir: string, archiveId: string, source: string): string {
  if (!NAME_RE.test(source)) throw new Error(`bad source name ${source}`);
  return path.join(archiveDir, COPIES_DIR, `${assertArchiveId(archiveId)}.${source}.json`);
}

function isRecord(x: unknown, archiveId: string, source: string): x is CopyRecord {
  const r = x as Partial<CopyRecord> | null;
  return (
    !!r &&
    r.version === 1 &&
    r.archiveId === archiveId &&
    r.source === source &&
    typeof r.key === 'string' &&
    Number.isSafeInteger(r.size) &&
    typeof r.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(r.sha256) &&
    typeof r.checksum?.value === 'string' &&
    (r.place === undefined || typeof r.place === 'string') &&
    (r.objectModified === undefined || typeof r.objectModified === 'string')
  );
}

export async function writeCopyRecord(archiveDir: string, record: CopyRecord): Promise<void> {
  await makeOwnDir(path.join(archiveDir, COPIES_DIR));
  await writeFileDurable(recordFile(archiveDir, record.archiveId, record.source), JSON.stringify(record, null, 2) + '\n');
}

/** The confirmed copy of an archive on a source, or null (no record, or a damaged one: not a copy). */
export async function readCopyRecord(archiveDir: string, archiveId: string, source: string): Promise<CopyRecord | null> {
  try {
    const parsed: unknown = JSON.parse(await fsp.readFile(recordFile(archiveDir, archiveId, source), 'utf8'));
    return isRecord(parsed, archiveId, source) ? parsed : null;
  } catch {
    return null;
  }
}

/** Every confirmed copy record, by archive id. */
export async function readAllCopyRecords(archiveDir: string): Promise<Map<string, CopyRecord[]>> {
  const out = new Map<string, CopyRecord[]>();
  let names: string[];
  try {
    names = await fsp.readdir(path.join(archiveDir, COPIES_DIR));
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const m = /^(.+)\.([a-z][a-z0-9-]*)\.json$/.exec(name);
    if (!m) continue;
    let rec: CopyRecord | null = null;
    try {
      rec = await readCopyRecord(archiveDir, m[1]!, m[2]!);
    } catch {
      rec = null; // an invalid id in a file name is not a record
    }
    if (rec) out.set(rec.archiveId, [...(out.get(rec.archiveId) ?? []), rec]);
  }
  return out;
}

/**
 * Whether a record was made where `remote` points now. A remote re-pointed under the same name
 * (another bucket, prefix, endpoint or directory) holds none of the old place's copies: their
 * records are no copy there (the archive is uploaded to the new place, the WAL waits for it).
 */
export function isRecordedHere(rec: CopyRecord, remote: RemoteSource): boolean {
  return rec.place !== undefined ? rec.place === remotePlace(remote.store.describe()) : rec.location === objectLocation(remote, rec.key);
}

/**
 * What is wrong with a recorded copy now, asked with a HEAD: gone, or no longer vouched for (`unvouched`).
 * A record only says what was confirmed once: a lifecycle rule, a person or a failing disk may have removed,
 * replaced or rewritten the object since. A HEAD that fails (the remote down) is thrown: it says nothing about the copy.
 */
export async function recordedCopyProblem(store: RemoteStore, rec: CopyRecord, signal?: AbortSignal): Promise<string | null> {
  const head = await store.head(rec.key, signal ? { signal } : {}).catch((err: unknown) => {
    if (isMissingObject(err)) return null;
    throw err;
  });
  return head === null ? `the copy recorded at ${rec.location} is gone` : unvouched(rec, head);
}

/**
 * Why the record no longer vouches for the object a listing or a HEAD shows (null: it does): another size, another
 * SHA-256 (where the remote reports one), or written after the upload was confirmed. The last is the one that tells a
 * copy rewritten in place: a local remote's HEAD reports the SHA-256 its sidecar saved at upload, not one of the
 * bytes now. Upload, isStoredEverywhere (and the WAL cleanup that trusts it) and the listing all ask this, so that
 * they give one answer about one copy.
 */
export function unvouched(rec: CopyRecord, obj: Pick<ObjectHead, 'size' | 'lastModified'> & { checksums?: ObjectHead['checksums'] }): string | null {
  const other = headProblem({ size: obj.size, checksums: obj.checksums ?? {} }, rec);
  if (other !== null) return other;
  // Not "after": a record whose times do not read vouches for nothing.
  if (!(obj.lastModified.getTime() <= Date.parse(rec.objectModified ?? rec.confirmedAt))) return `the copy recorded at ${rec.location} was written again (${obj.lastModified.toISOString()}) after its upload was confirmed (${rec.objectModified ?? rec.confirmedAt})`;
  return null;
}

/**
 * The remotes whose recorded copy of an archive is not confirmed by a HEAD now: gone, no longer vouched for, or not
 * answering (its upload then says the failure). No archive file is read for it.
 */
export async function doubtedCopies(have: CopyRecord[], remotes: RemoteSource[], signal?: AbortSignal): Promise<string[]> {
  const asked = await Promise.all(
    remotes.map(async (r) => {
      const rec = have.find((c) => c.source === r.name && isRecordedHere(c, r));
      const doubt = rec !== undefined && (await recordedCopyProblem(r.store, rec, signal).then((p) => p !== null, () => true));
      return doubt ? [r.name] : [];
    }),
  );
  return asked.flat();
}

/** What a HEAD says is wrong with a copy that should be `want` (another size, another SHA-256 where the remote reports one); null: nothing. */
export function headProblem(head: Pick<ObjectHead, 'size' | 'checksums'>, want: Pick<CopyRecord, 'location' | 'size' | 'sha256'>): string | null {
  if (head.size !== want.size) return `the copy recorded at ${want.location} holds ${head.size} bytes, not the ${want.size} confirmed at upload`;
  const sha256 = head.checksums.sha256;
  if (sha256 !== undefined && sha256 !== want.sha256) return `the copy recorded at ${want.location} is another file (its SHA-256 is not the one confirmed at upload)`;
  return null;
}

export async function removeCopyRecord(archiveDir: string, archiveId: string, source: string): Promise<void> {
  await fsp.rm(recordFile(archiveDir, archiveId, source), { force: true });
  await fsyncDir(path.join(archiveDir, COPIES_DIR)).catch(() => undefined);
}
