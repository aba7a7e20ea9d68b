/**
 * One member of an archive copy, read alone: members are contiguous in the tar, in the order the
 * manifest lists them, so each one's offset follows from the manifest member's size (its tar header,
 * the first 512 bytes) and the sizes the manifest gives. A local copy is read at that offset; a remote
 * one with a ranged GET of exactly that member, never the whole object. The stored bytes are hashed
 * as they pass and checked against the manifest at the end: a damaged member is said, naming it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import type { CatalogArchive } from '../copies/catalog.js';
import type { LocalMember } from '../package/decoder/member-decoder.js';
import { LOCAL_SOURCE, type ArchiveSources } from '../copies/sources.js';

const BLOCK = 512;
const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** Where each data member's bytes start in the file, from the manifest member's size. */
export function memberOffsets(m: Manifest, manifestBytes: number): Map<string, { offset: number; size: number }> {
  const out = new Map<string, { offset: number; size: number }>();
  let at = BLOCK + padded(manifestBytes);
  const add = (name: string, size: number) => {
    out.set(name, { offset: at + BLOCK, size });
    at += BLOCK + padded(size);
  };
  add(m.contents.snapshot.file, m.contents.snapshot.compressedSize);
  for (const s of m.contents.segments) add(s.file, s.compressedSize);
  return out;
}

/** The size a ustar header at the start of `head` gives (octal, bytes 124..135). */
function headerSize(head: Buffer, name: string): number {
  const field = head.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim();
  if (head.length < BLOCK || !/^[0-7]+$/.test(field)) throw damagedMember(name, 'its first tar header does not read');
  return parseInt(field, 8);
}

function damagedMember(name: string, why: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${name}: ${why}`, {
    hint: 'The archive copy is damaged: `bri archive verify` says where, `bri archive repair` mends it from its PAR2 data.',
    details: { member: name },
  });
}

/** Counts the bytes read from each source (what a time-travel query cost). */
export interface ReadCounter {
  bytes: number;
  requests: number;
}

/** Reads single members of one archive from the first copy that can be read (local first, then the remotes in order). */
export class MemberSource {
  private offsets: Promise<Map<string, { offset: number; size: number }>> | null = null;
  private copy: { source: string; file?: string; key?: string } | null = null;

  constructor(
    private readonly archive: CatalogArchive,
    private readonly sources: ArchiveSources,
    private readonly order: string[],
    private readonly counter: ReadCounter,
    /** A verified (or repaired) local copy to read instead of the catalog's copies. */
    private readonly goodCopy?: string,
  ) {}

  private async range(start: number, end: number): Promise<AsyncIterable<Buffer>> {
    const c = this.copy!;
    this.counter.requests++;
    if (c.file !== undefined) return fs.createReadStream(c.file, { start, end, highWaterMark: 1 << 20 });
    return (await this.sources.remote(c.source)!.store.get(c.key!, { range: { start, end } })) as AsyncIterable<Buffer>;
  }

  /** Finds a copy and the members' offsets (one 512-byte read, shared by the members read at once). */
  private open(): Promise<Map<string, { offset: number; size: number }>> {
    this.offsets ??= this.find();
    return this.offsets;
  }

  private async find(): Promise<Map<string, { offset: number; size: number }>> {
    const copies = this.archive.copies.filter((c) => !c.damaged && !c.frozen);
    const ranked =
      this.goodCopy !== undefined
        ? [{ source: LOCAL_SOURCE, file: this.goodCopy }]
        : this.order.flatMap((s) => copies.filter((c) => c.source === s)).map((c) => (c.source === LOCAL_SOURCE ? { source: c.source, file: c.file ?? c.location } : { source: c.source, ...(c.key ? { key: c.key } : {}) }));
    let last: unknown = null;
    for (const c of ranked) {
      this.copy = c;
      if (this.copy.file === undefined && this.copy.key === undefined) continue;
      try {
        const head = await collect(await this.range(0, BLOCK - 1), this.counter);
        return memberOffsets(this.archive.manifest, headerSize(head, 'manifest.jss'));
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no readable copy of archive ${this.archive.manifest.archiveId}`, { hint: '`bri archive list` shows where its copies are.' });
  }

  /**
   * The member whole, not checked here: its bytes (a remote copy's, fetched with one ranged read) or where it
   * lies in a local copy, with what the manifest says its bytes are, for the decoder thread to read and check.
   */
  async whole(name: string): Promise<{ data: Buffer | LocalMember; stored: { sha256: string; size: number } }> {
    const at = (await this.open()).get(name);
    const sha256 = this.archive.manifest.integrity.members[name];
    if (!at || sha256 === undefined) throw damagedMember(name, 'the manifest lists no such member');
    const c = this.copy!;
    const stored = { sha256, size: at.size };
    if (c.file !== undefined) {
      this.counter.requests++;
      this.counter.bytes += at.size;
      return { data: { path: c.file, offset: at.offset, size: at.size }, stored };
    }
    const data = at.size === 0 ? Buffer.alloc(0) : await collect(await this.range(at.offset, at.offset + at.size - 1), this.counter);
    if (data.length !== at.size) throw damagedMember(name, `the source sent ${data.length} of its ${at.size} bytes`);
    return { data, stored };
  }

  /** The member's stored bytes, hashed as they pass; ARCHIVE_CORRUPTED at the end when they do not match the manifest. */
  async *stored(name: string): AsyncGenerator<Buffer> {
    const at = (await this.open()).get(name);
    if (!at) throw damagedMember(name, 'the manifest lists no such member');
    const hash = createHash('sha256');
    let n = 0;
    for await (const c of at.size === 0 ? [] : await this.range(at.offset, at.offset + at.size - 1)) {
      hash.update(c);
      n += c.length;
      this.counter.bytes += c.length;
      yield c;
    }
    if (n !== at.size || hash.digest('hex') !== this.archive.manifest.integrity.members[name]) throw damagedMember(name, 'its bytes do not match the manifest (damaged copy)');
  }
}

/** The whole of `data` in one buffer of its own memory (it can move to a decoder thread), counted as read when a counter is given. */
export async function collect(data: AsyncIterable<Buffer>, counter?: ReadCounter): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of data) {
    parts.push(c);
    n += c.length;
    if (counter) counter.bytes += c.length;
  }
  const out = Buffer.allocUnsafeSlow(n);
  let at = 0;
  for (const c of parts) {
    c.copy(out, at);
    at += c.length;
  }
  return out;
}
