/**
 * The cold tier: documents BRI evicted from memory to `cold/<TYPE>/<id>.jss`
 * (left out of its snapshot). Each file holds the stored string of one document,
 * encrypted as a whole with encryption at rest. The key is `<TYPE>_<id>` unless the
 * file name already carries the `<TYPE>_` prefix.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { decryptText, looksEncrypted, type EncryptionKey } from '../format/encryption.js';
import { COLD_DIR } from './layout.js';
import { BriError, ErrorCodes } from '../errors.js';

export interface ColdDocument {
  key: string;
  value: string;
  /** Path relative to the data directory. */
  file: string;
}

export function coldKey(type: string, fileName: string): string {
  const id = fileName.replace(/\.jss$/, '');
  return id.startsWith(`${type}_`) ? id : `${type}_${id}`;
}

/** Lists the cold-tier files (relative paths), without reading them. */
export async function listColdFiles(dataDir: string): Promise<string[]> {
  const root = path.join(dataDir, COLD_DIR);
  let types: string[];
  try {
    types = (await fsp.readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const type of types.sort()) {
    const files = await fsp.readdir(path.join(root, type), { withFileTypes: true });
    for (const f of files.filter((d) => d.isFile() && d.name.endsWith('.jss')).map((d) => d.name).sort()) {
      out.push(path.posix.join(COLD_DIR, type, f));
    }
  }
  return out;
}

/** Reads every cold document. Encrypted ones need the key. */
export async function readColdTier(dataDir: string, key?: EncryptionKey): Promise<ColdDocument[]> {
  const out: ColdDocument[] = [];
  for (const rel of await listColdFiles(dataDir)) {
    const [, type, name] = rel.split('/') as [string, string, string];
    let text = await fsp.readFile(path.join(dataDir, rel), 'utf8');
    if (looksEncrypted(text)) {
      if (key === undefined) {
        throw new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, `cold document ${rel} is encrypted and no key was given`, {
          hint: 'Set BRI_ENCRYPTION_KEY (64 hex chars) or pass encryptionKey.',
        });
      }
      text = decryptText(key, text);
    }
    out.push({ key: coldKey(type, name), value: text.replace(/\n$/, ''), file: rel });
  }
  return out;
}

/**
 * Removes the cold files of documents the state no longer holds (deleted, or renamed away), once a
 * snapshot without them is durable: recovery loads every cold document its snapshot lacks, so such a
 * file would bring a deleted document back at the next open.
 */
export async function dropObsoleteCold(dataDir: string, documents: ReadonlyMap<string, unknown>): Promise<void> {
  for (const rel of await listColdFiles(dataDir)) {
    const [, type, name] = rel.split('/') as [string, string, string];
    if (!documents.has(coldKey(type, name))) await fsp.rm(path.join(dataDir, rel), { force: true });
  }
}
