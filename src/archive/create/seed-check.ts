/**
 * What a plain seed really holds, read without decoding its documents: a seed becomes the next archive's
 * snapshot member, and its facts its manifest's counts, so a seed that is empty, damaged, at another line
 * or described by facts that do not match would make an archive its own verify (or a restore) refuses.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { EncryptionKey } from '../../format/encryption.js';
import { decryptText, looksEncrypted } from '../../format/encryption.js';
import { openRegularFile } from '../../store/files/regular-file.js';
import { decompressChunks } from '../package/compress.js';
import { MAX_SEED_BYTES, type SeedFacts } from './seeds.js';

const HEADER_RE = /^\{"version":([12]),"walLine":(\d+),/;

/**
 * Counts the entries of the top-level "documents" and "collections" objects of a snapshot text fed in
 * pieces (a colon at depth 2 outside strings is one entry), and whether the text is one whole object.
 * Bytes are looked at in place: the structural characters are ASCII, never part of a UTF-8 sequence.
 */
export class SnapshotShape {
  documents = 0;
  collections = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private expectKey = false;
  private key: number[] | null = null;
  private lastKey = '';
  private section: 'documents' | 'collections' | null = null;
  private closed = false;
  private broken = false;

  push(b: Buffer): void {
    for (let i = 0; i < b.length && !this.broken; i++) {
      const c = b[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.key !== null) this.lastKey = Buffer.from(this.key).toString('utf8');
          this.key = null;
          continue;
        }
        if (this.key !== null && this.key.length < 64) this.key.push(c);
        continue;
      }
      if (this.closed && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) this.broken = true;
      else if (c === 0x22) {
        this.inString = true;
        if (this.depth === 1 && this.expectKey) this.key = [];
        this.expectKey = false;
      } else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 0 && c !== 0x7b) this.broken = true;
        this.depth++;
        if (this.depth === 1) this.expectKey = true;
        if (this.depth === 2) this.section = c === 0x7b && (this.lastKey === 'documents' || this.lastKey === 'collections') ? this.lastKey : null;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth < 0) this.broken = true;
        if (this.depth === 0) this.closed = true;
      } else if (c === 0x2c) {
        if (this.depth === 1) this.expectKey = true;
      } else if (c === 0x3a) {
        if (this.depth === 2 && this.section === 'documents') this.documents++;
        else if (this.depth === 2 && this.section === 'collections') this.collections++;
      } else if (this.depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) this.broken = true;
    }
  }

  /** True when the text fed was one whole object and nothing after it. */
  get whole(): boolean {
    return this.closed && !this.broken && !this.inString;
  }
}

/** A plain seed file as read: its text's size and hash, its header, and its counts (null: encrypted, no key to look inside). */
export interface SeedScan {
  originalSize: number;
  contentSha256: string;
  encrypted: boolean;
  version: 1 | 2 | null;
  walLine: number | null;
  counts: { documents: number; collections: number } | null;
  whole: boolean;
  chunks?: Buffer[];
}

/** Reads the plain seed `file` through once (kept in memory only when `keep`); decompression errors are thrown. */
export async function scanSeedFile(file: string, key: EncryptionKey | undefined, keep: boolean): Promise<SeedScan> {
  const hash = createHash('sha256');
  const shape = new SnapshotShape();
  const held: Buffer[] = [];
  let size = 0;
  let head = '';
  let encrypted: boolean | null = null;
  for await (const c of decompressChunks((await openRegularFile(file)).createReadStream(), path.basename(file), MAX_SEED_BYTES)) {
    hash.update(c);
    size += c.length;
    if (head.length < 64) head += c.subarray(0, 64).toString('utf8');
    if (encrypted === null && head.trimStart().length > 0) encrypted = looksEncrypted(head);
    // An encrypted text is looked inside as a whole (with the key): its pieces are kept until the end.
    if (keep || encrypted !== false) held.push(c);
    if (encrypted === false) shape.push(c);
  }
  const scan: SeedScan = { originalSize: size, contentSha256: hash.digest('hex'), encrypted: encrypted === true, version: null, walLine: null, counts: null, whole: false };
  if (keep) scan.chunks = held;
  return lookInside(scan, shape, encrypted ? null : head, held, key);
}

/** The same of a seed's text already in memory (a sealed seed opened): its hash is not taken (the seal's facts checked it). */
export function scanChunks(chunks: Buffer[], key: EncryptionKey | undefined): SeedScan {
  const head = Buffer.concat(chunks.slice(0, 2)).subarray(0, 1024).toString('utf8');
  const encrypted = looksEncrypted(head);
  const shape = new SnapshotShape();
  if (!encrypted) for (const c of chunks) shape.push(c);
  const scan: SeedScan = { originalSize: chunks.reduce((a, c) => a + c.length, 0), contentSha256: '', encrypted, version: null, walLine: null, counts: null, whole: false, chunks };
  return lookInside(scan, shape, encrypted ? null : head, chunks, key);
}

/** Header and counts into `scan`: an encrypted text is decrypted whole with the key (without it, nothing is known of it). */
function lookInside(scan: SeedScan, shape: SnapshotShape, head: string | null, held: Buffer[], key: EncryptionKey | undefined): SeedScan {
  let plain = head;
  if (scan.encrypted && key !== undefined) {
    plain = decryptText(key, Buffer.concat(held).toString('utf8'));
    shape.push(Buffer.from(plain, 'utf8'));
  }
  if (plain === null) return scan;
  const m = HEADER_RE.exec(plain.slice(0, 64));
  if (m) {
    scan.version = m[1] === '1' ? 1 : 2;
    scan.walLine = Number(m[2]);
  }
  scan.whole = shape.whole;
  if (shape.whole) scan.counts = { documents: shape.documents, collections: shape.collections };
  return scan;
}

/**
 * Why the facts do not describe the seed at absolute `line` as read (null: they do). A text that could not be
 * looked inside (encrypted, no key) is checked by its hash against the facts' member, when they have one.
 */
export function factsDisagree(scan: SeedScan, facts: SeedFacts, line: number): string | null {
  if (scan.originalSize === 0) return 'it holds nothing';
  const m = facts.member;
  if (m && (m.originalSize !== scan.originalSize || m.contentSha256 !== scan.contentSha256)) return 'its text is not the one its facts describe';
  if (scan.encrypted && !scan.whole) return 'it is encrypted and no key was given to look inside';
  if (!scan.whole || scan.counts === null) return 'its text is not one whole snapshot';
  if (scan.walLine !== line) return `its snapshot is at line ${scan.walLine ?? 'unknown'}, not ${line}`;
  if (scan.version !== (facts.version ?? 2)) return `its snapshot is version ${scan.version ?? 'unknown'}, its facts say ${facts.version ?? 2}`;
  if (scan.counts.documents !== facts.documents || scan.counts.collections !== facts.collections) {
    return `it holds ${scan.counts.documents} documents and ${scan.counts.collections} sets, its facts say ${facts.documents} and ${facts.collections}`;
  }
  return null;
}
