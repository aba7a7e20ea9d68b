/**
 * The cold tier: documents BRI evicted from memory to `cold/<TYPE>/<id>.jss`
 * (left out of its snapshot). Each file holds the stored string of one document,
 * encrypted as a whole with encryption at rest. The key is `<TYPE>_<id>` unless the
 * file name already carries the `<TYPE>_` prefix.
 */
import type { Dirent } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { decryptText, looksEncrypted, type EncryptionKey } from '../format/encryption.js';
import { COLD_DIR } from './layout.js';
import { snapshotIsEncrypted } from './snapshot-store.js';
import { BriError, ErrorCodes, isBriError, shellArg } from '../errors.js';
import { clearName } from './durable-fs.js';

export interface ColdDocument {
  key: string;
  value: string;
  /** Path relative to the data directory. */
  file: string;
  /** Whether the file was ciphertext (encryption at rest); a plaintext one in an encrypted directory is read all the same. */
  encrypted: boolean;
}

/** One key that two cold files name (`<id>.jss` and `<TYPE>_<id>.jss`): the one read, and the ones left unread. */
export interface ColdDuplicate {
  key: string;
  served: string;
  ignored: string[];
}

export function coldKey(type: string, fileName: string): string {
  const id = fileName.replace(/\.jss$/, '');
  return id.startsWith(`${type}_`) ? id : `${type}_${id}`;
}

/** Where BRI evicts a document to (relative to the data directory): what to name when its file is missing. */
export function coldFileOf(key: string): string {
  const cut = key.indexOf('_');
  return cut > 0 ? path.posix.join(COLD_DIR, key.slice(0, cut), `${key.slice(cut + 1)}.jss`) : path.posix.join(COLD_DIR, '<TYPE>', `${key}.jss`);
}

/** Lists the cold-tier files (relative paths), without reading them; a symbolic link named `<id>.jss` is listed too. */
export async function listColdFiles(dataDir: string): Promise<string[]> {
  return (await scanColdTier(dataDir)).files;
}

/**
 * The cold tier's `.jss` entries, and the symbolic links among its type folders and files (BRI makes
 * neither: it writes a temporary file and renames it). A link is listed, never followed here.
 */
async function scanColdTier(dataDir: string): Promise<{ files: string[]; links: string[] }> {
  const root = path.join(dataDir, COLD_DIR);
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], links: [] };
    throw err;
  }
  const files: string[] = [];
  const links = entries.filter((d) => d.isSymbolicLink()).map((d) => path.posix.join(COLD_DIR, d.name));
  for (const type of entries.filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const inType = (await fsp.readdir(path.join(root, type), { withFileTypes: true })).filter((d) => d.name.endsWith('.jss'));
    for (const f of inType.filter((d) => d.isFile() || d.isSymbolicLink()).sort(byName)) {
      const rel = path.posix.join(COLD_DIR, type, f.name);
      files.push(rel);
      if (f.isSymbolicLink()) links.push(rel);
    }
  }
  return { files, links: links.sort() };
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Keys that more than one cold file names. The file BRI writes and reads back (`cold/<TYPE>/<id>.jss`,
 * coldFileOf) is the one served: BRI never reads the `<TYPE>_<id>.jss` spelling, so a document BRI
 * evicted again went to its own name. When neither is BRI's name, the first in lexical order is.
 */
export function coldDuplicates(files: readonly string[]): ColdDuplicate[] {
  const byKey = new Map<string, string[]>();
  for (const rel of files) byKey.set(keyOfColdFile(rel), [...(byKey.get(keyOfColdFile(rel)) ?? []), rel]);
  const out: ColdDuplicate[] = [];
  for (const [key, rels] of byKey) {
    if (rels.length < 2) continue;
    const served = rels.includes(coldFileOf(key)) ? coldFileOf(key) : rels[0]!;
    out.push({ key, served, ignored: rels.filter((r) => r !== served) });
  }
  return out;
}

/** The keys the cold tier holds, told by the files' names (nothing decrypted: a damaged file still names its document). */
export async function coldKeysOnDisk(dataDir: string): Promise<Set<string>> {
  return new Set((await listColdFiles(dataDir)).map(keyOfColdFile));
}

function keyOfColdFile(rel: string): string {
  const [, type, name] = rel.split('/') as [string, string, string];
  return coldKey(type, name);
}

/**
 * Reads every cold document. Encrypted ones need the key (ENCRYPTION_KEY_MISSING without it). A file that
 * does not decrypt (DECRYPTION_FAILED) or does not hold a document (SNAPSHOT_CORRUPTED: torn, emptied) is
 * named: served as it is, a fragment would pass for the document. `snapshotDecoded`: the caller decoded
 * snapshot.jss with this key; when that snapshot is encrypted, a file the key does not open is damaged, not
 * read with a wrong key, and the error says so.
 */
export async function readColdTier(dataDir: string, key?: EncryptionKey, snapshotDecoded = false): Promise<ColdDocument[]> {
  const { files, links } = await scanColdTier(dataDir);
  // Skipped, a linked document would be silently absent (and left out of the next snapshot); followed, a link
  // may lead out of the data directory, or dangle once the file it names is removed as obsolete.
  if (links.length > 0) throw await coldLinkRefused(dataDir, links[0]!, links.length);
  const unread = new Set(coldDuplicates(files).flatMap((d) => d.ignored));
  const out: ColdDocument[] = [];
  for (const rel of files.filter((f) => !unread.has(f))) {
    out.push({ key: keyOfColdFile(rel), file: rel, ...(await readColdText(dataDir, rel, key, snapshotDecoded)) });
  }
  return out;
}

async function coldLinkRefused(dataDir: string, rel: string, count: number): Promise<BriError> {
  const abs = path.join(dataDir, rel);
  const q = shellArg(abs);
  const target = await fsp.readlink(abs).catch(() => '?');
  const folder = rel.split('/').length === 2;
  const more = count > 1 ? ` (and ${count - 1} more link(s) in cold/)` : '';
  return new BriError(ErrorCodes.SNAPSHOT_CORRUPTED, `cold ${folder ? 'folder' : 'document'} ${rel} is a symbolic link to ${target}${more}: BRI writes the cold tier as plain ${folder ? 'folders' : 'files'}, and the store does not follow a link it did not make (it may lead out of the data directory)`, {
    hint: `If what it points to is that ${folder ? 'type folder' : 'document'}, put a copy in its place (${folder ? `t="$(readlink -f ${q})" && rm ${q} && cp -R "$t" ${q}` : `cp --remove-destination "$(readlink -f ${q})" ${q}`}); else remove the link. Then \`bri data verify\` checks the cold tier again.`,
    details: { file: rel, target, reason: 'cold-link' },
  });
}

async function readColdText(dataDir: string, rel: string, key: EncryptionKey | undefined, snapshotDecoded: boolean): Promise<{ value: string; encrypted: boolean }> {
  let text = await fsp.readFile(path.join(dataDir, rel), 'utf8');
  // A plaintext file under a key is read all the same: it holds a whole document (checked below), a directory that
  // turned encryption on keeps its earlier evictions so, and refusing it would keep the whole database closed;
  // `bri data verify` names it (unencrypted on disk, and not authenticated as ciphertext is).
  const encrypted = looksEncrypted(text);
  if (encrypted) {
    if (key === undefined) {
      throw new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, `cold document ${rel} is encrypted and no key was given`, {
        hint: 'Set BRI_ENCRYPTION_KEY (64 hex chars) or pass encryptionKey.',
        details: { file: rel },
      });
    }
    try {
      text = decryptText(key, text);
    } catch (err) {
      if (!isBriError(err, ErrorCodes.DECRYPTION_FAILED)) throw err;
      const keyOpensSnapshot = snapshotDecoded && (await snapshotIsEncrypted(dataDir));
      throw new BriError(ErrorCodes.DECRYPTION_FAILED, `cold document ${rel} cannot be decrypted${keyOpensSnapshot ? ' with the key that opens snapshot.jss: the file is damaged' : ': wrong key or altered file'}`, {
        hint: `${keyOpensSnapshot ? '' : 'Check BRI_ENCRYPTION_KEY; if it opens snapshot.jss (`bri data verify` says), the file is damaged. '}Put ${rel} back from a copy of the data directory, or restore the directory from its archives (\`bri restore latest\`).`,
        details: { file: rel },
        cause: err,
      });
    }
  }
  const value = text.replace(/\n$/, '');
  if (!holdsDocument(value)) throw coldFileDamaged(rel);
  return { value, encrypted };
}


/** A stored document is JSS, which always parses as JSON, and is an object or an array: a torn or emptied file is neither. */
function holdsDocument(value: string): boolean {
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null;
  } catch {
    return false;
  }
}

function coldFileDamaged(rel: string): BriError {
  return new BriError(ErrorCodes.SNAPSHOT_CORRUPTED, `cold document ${rel} does not hold a document (it does not parse as JSS: a torn or emptied file)`, {
    hint: `Put ${rel} back from a copy of the data directory, or restore the directory from its archives (\`bri restore latest\`).`,
    details: { file: rel },
  });
}

/**
 * Removes the cold files of documents the state no longer holds (deleted, or renamed away), once a
 * snapshot without them is durable: recovery loads every cold document its snapshot lacks, so such a
 * file would bring a deleted document back at the next open.
 */
export async function dropObsoleteCold(dataDir: string, documents: ReadonlyMap<string, unknown>): Promise<void> {
  for (const rel of await listColdFiles(dataDir)) {
    if (!documents.has(keyOfColdFile(rel))) await clearName(path.join(dataDir, rel));
  }
}
