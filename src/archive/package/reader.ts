/**
 * Reading an archive package without trusting it: only regular-file members
 * with the expected names, in the expected order, each once, with sizes that
 * agree with the manifest. Anything else stops the read with a typed error;
 * nothing is ever written by this module.
 */
import { constants as bufferConstants } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { asBriError, BriError, ErrorCodes, isBriError, isHostFault } from '../../errors.js';
import {
  CHECKSUMS_MEMBER,
  decodeManifest,
  ENCRYPTED_SNAPSHOT_MEMBER,
  MANIFEST_MEMBER,
  RECOVERY_MEMBER,
  SNAPSHOT_MEMBER,
  WAL_MEMBER_RE,
  type Manifest,
  type ManifestSegment,
} from '../../format/manifest.js';

export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
export const MAX_CHECKSUMS_BYTES = 16 * 1024 * 1024;
/**
 * BRI's longest WAL line and snapshot, in bytes: Node cannot make a longer buffer into a string
 * (buffer.constants.MAX_STRING_LENGTH, 2^29-24 on 64-bit), so no store wrote one and none could read it.
 */
export const MAX_TEXT_BYTES = bufferConstants.MAX_STRING_LENGTH;

/** Refuses, before a byte of it is inflated, a snapshot declared longer than any store could have written. */
export function checkSnapshotSize(m: Manifest): void {
  const declared = m.contents.snapshot.originalSize;
  if (declared <= MAX_TEXT_BYTES) return;
  const member = m.contents.snapshot.file ?? SNAPSHOT_MEMBER;
  throw new BriError(ErrorCodes.ARCHIVE_INVALID, `${member} declares ${declared} bytes once decompressed, more than BRI's largest snapshot (${MAX_TEXT_BYTES} bytes, the longest text Node can read); it was not unpacked`, {
    hint: 'No BRI store writes such a snapshot: the archive is hostile or not BRI\'s. Restore an earlier archive or use another copy.',
    details: { member, declared },
  });
}

export type MemberKind = 'snapshot' | 'wal' | 'checksums' | 'recovery';

export interface MemberInfo {
  name: string;
  /** Where the member's data starts in the file. */
  offset: number;
  kind: MemberKind;
  size: number;
  /** For wal members: the manifest's entry for the segment. */
  segment?: ManifestSegment;
}

export interface PackageVisitor {
  /** Called once the manifest is read and validated, before any other member (`size`: its bytes, for the layout). */
  manifest?(manifest: Manifest, rawSha256: string, size: number): void | Promise<void>;
  /** Called for each member after the manifest; `data` must be consumed or left (it is drained). */
  member?(info: MemberInfo, data: AsyncIterable<Buffer>): void | Promise<void>;
}

/** Errors thrown by the caller's visitor pass through as they are: they say nothing about the archive. */
class VisitorFailure {
  constructor(readonly error: unknown) {}
}

async function callVisitor<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new VisitorFailure(err);
  }
}

export function invalid(message: string, details: Record<string, unknown> = {}): BriError {
  return new BriError(ErrorCodes.ARCHIVE_INVALID, message, {
    hint: 'This file is not a valid BRI archive, or it is damaged: try `bri archive repair`, or another copy.',
    details,
  });
}

/** Why a member name is refused before it is even compared with the expected one. */
function unsafeName(name: string): string | null {
  if (name.length === 0) return 'an empty name';
  if (name.includes('\0')) return 'a NUL byte in its name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  if (name.includes('\\')) return 'a backslash in its name';
  if (name.split('/').some((p) => p === '..')) return 'a path that climbs out (..)';
  return null;
}

/**
 * The member's bytes for a visitor. Errors while reading (a truncated file) are damage, wherever
 * they surface; and a visitor that stops early does not destroy the member (the reader drains it
 * through the same iterator, so the tar stream can go on to the next member).
 */
function guarded(it: AsyncIterator<Buffer>, member: string): AsyncIterable<Buffer> {
  return {
    [Symbol.asyncIterator]: () => ({
      async next() {
        try {
          return await it.next();
        } catch (err) {
          throw damaged(member, err);
        }
      },
      async return() {
        return { done: true, value: undefined };
      },
    }),
  };
}

function damaged(member: string, err: unknown): BriError {
  if (err instanceof BriError) return err;
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `member "${member}" cannot be read: ${(err as Error).message}`, {
    hint: 'The archive is truncated or damaged; try `bri archive repair` or another copy.',
    details: { member },
    cause: err,
  });
}

/**
 * A fault of the host that keeps `file` from being read (a permission, too many open files, a disk error):
 * IO_ERROR naming the errno and the file with what to do, never "damaged", since its bytes were never read.
 * A wrong path (nothing there, a directory) and an error that is no system call's are answered as they are.
 */
function unreadableFile(file: string, err: unknown): unknown {
  return isHostFault(err) ? asBriError(err, `cannot read archive ${file}`, file) : err;
}

function archiveNotFound(file: string, err: unknown): BriError {
  return new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `cannot read archive ${file}: ${(err as Error).message}`, {
    hint: 'Check the path; `bri archive list` shows the archives there are.',
    details: { file },
    cause: err,
  });
}

async function readAll(data: AsyncIterable<Buffer>, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of data) {
    n += c.length;
    if (n > limit) throw invalid(`${what} is larger than ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

interface Expectation {
  kind: MemberKind | 'manifest';
  name: string;
  size?: number;
  segment?: ManifestSegment;
  optional?: boolean;
}

function expectations(m: Manifest): Expectation[] {
  const out: Expectation[] = [{ kind: 'snapshot', name: m.contents.snapshot.file, size: m.contents.snapshot.compressedSize }];
  for (const s of m.contents.segments) out.push({ kind: 'wal', name: s.file, size: s.compressedSize, segment: s });
  out.push({ kind: 'checksums', name: CHECKSUMS_MEMBER });
  if (m.errorCorrection.enabled) out.push({ kind: 'recovery', name: RECOVERY_MEMBER });
  return out;
}

export interface ReadPackageOptions {
  /** Stop after the manifest (inspect, catalog). */
  manifestOnly?: boolean;
  /** Read this stream (a remote object) instead of opening `file`, which then only names it in errors. */
  input?: Readable;
  /** Sees every byte of the file as it is read, in order, from the first (a verify hashes the PAR2 slices there: one read, not two). */
  tap?: (chunk: Buffer) => void;
}

/** Streams the package, validating every header, calling the visitor for each member. */
export async function readPackage(file: string, visitor: PackageVisitor = {}, options: ReadPackageOptions = {}): Promise<Manifest> {
  let input: Readable;
  if (options.input) input = options.input;
  else try {
    await fs.promises.access(file, fs.constants.R_OK);
    // Listing reads only the first member: a small buffer keeps a catalog scan cheap.
    input = fs.createReadStream(file, { highWaterMark: options.manifestOnly ? 64 * 1024 : 1 << 20 });
  } catch (err) {
    const host = unreadableFile(file, err);
    throw isBriError(host) ? host : archiveNotFound(file, err);
  }
  const extract = tar.extract();
  // A file of ours that cannot be opened or read (too many open files, a failing disk) is the host's fault, not damage.
  input.on('error', (err) => extract.destroy(options.input ? err : (unreadableFile(file, err) as Error)));
  if (options.tap) input.on('data', options.tap);
  input.pipe(extract);
  let manifest: Manifest | null = null;
  let plan: Expectation[] = [];
  let index = 0;
  // Where the next header must start: members are contiguous, as we write them. A gap (zero
  // blocks, junk) would make `tar -xf` stop or read something else than what is checked here.
  let nextHeader = 0;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const raw = (entry as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const body = guarded(raw, h.name);
      const offset = (entry as unknown as { offset: number }).offset;

      const name = h.name;
      const bad = unsafeName(name);
      if (bad) throw invalid(`member "${name}" refused: ${bad}`, { member: name });
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        throw invalid(`member "${name}" refused: it is a ${h.type ?? 'special entry'}, not a regular file`, { member: name, type: h.type });
      }
      if (h.pax || (extract as unknown as { _paxGlobal: unknown })._paxGlobal) {
        throw invalid(`member "${name}" refused: pax extended headers are not used by BRI archives (they can rename members for other tar readers)`, { member: name });
      }
      if (offset !== nextHeader) {
        throw invalid(`member "${name}" refused: it starts at byte ${offset}, the previous member ends at ${nextHeader}`, { member: name, offset, expected: nextHeader });
      }
      nextHeader = offset + 512 + Math.ceil((h.size ?? 0) / 512) * 512;
      const size = h.size ?? 0;
      if (manifest === null) {
        if (name !== MANIFEST_MEMBER) throw invalid(`the first member must be ${MANIFEST_MEMBER}, found "${name}"`, { member: name });
        const raw = await readAll(body, MAX_MANIFEST_BYTES, MANIFEST_MEMBER);
        manifest = decodeManifest(raw.toString('utf8'));
        if (!options.manifestOnly) checkSnapshotSize(manifest);
        plan = expectations(manifest);
        const sha = createHash('sha256').update(raw).digest('hex');
        await callVisitor(() => visitor.manifest?.(manifest!, sha, raw.length));
        if (options.manifestOnly) return manifest;
        continue;
      }
      const exp = plan[index];
      if (exp === undefined) throw invalid(`unexpected member "${name}" after the last expected one`, { member: name });
      if (name !== exp.name) {
        const known = name === MANIFEST_MEMBER || name === SNAPSHOT_MEMBER || name === ENCRYPTED_SNAPSHOT_MEMBER || name === CHECKSUMS_MEMBER || name === RECOVERY_MEMBER || WAL_MEMBER_RE.test(name);
        throw invalid(
          known ? `member "${name}" is out of order or repeated (expected "${exp.name}")` : `unexpected member "${name}" (expected "${exp.name}")`,
          { member: name, expected: exp.name },
        );
      }
      if (exp.size !== undefined && size !== exp.size) {
        throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `member "${name}" is ${size} bytes, the manifest says ${exp.size}`, {
          hint: 'The archive is damaged; try `bri archive repair` or another copy.',
          details: { member: name, size, declared: exp.size },
        });
      }
      if (exp.kind === 'checksums' && size > MAX_CHECKSUMS_BYTES) throw invalid(`${CHECKSUMS_MEMBER} is larger than ${MAX_CHECKSUMS_BYTES} bytes`);
      index++;
      const info: MemberInfo = { name, offset: offset + 512, kind: exp.kind as MemberKind, size, ...(exp.segment ? { segment: exp.segment } : {}) };
      await callVisitor(() => visitor.member?.(info, body));
      // Drain what the visitor left, through the same iterator.
      for (;;) {
        const r = await raw.next().catch((err: unknown) => Promise.reject(damaged(name, err)));
        if (r.done) break;
      }
    }
  } catch (err) {
    if (err instanceof VisitorFailure) throw err.error;
    if (err instanceof BriError) throw err;
    throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file} is not a readable tar archive: ${(err as Error).message}`, {
      hint: 'The file is truncated or damaged; try `bri archive repair` or another copy.',
      details: { file },
      cause: err,
    });
  } finally {
    input.destroy();
    extract.destroy();
  }
  if (manifest === null) throw invalid(`${file} holds no ${MANIFEST_MEMBER}`, { file });
  const missing = plan.slice(index).filter((e) => !e.optional);
  if (missing.length > 0) {
    throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file} ends before member "${missing[0]!.name}"`, {
      hint: 'The archive is truncated; try `bri archive repair` or another copy.',
      details: { missing: missing.map((e) => e.name) },
    });
  }
  return manifest;
}

/** Reads and validates only the manifest (fast: the first member). */
export function readManifest(file: string): Promise<Manifest> {
  return readPackage(file, {}, { manifestOnly: true });
}

/** The same from a stream of the file's first bytes (a ranged read of a remote copy); `name` names it in errors. */
export function readManifestFrom(input: Readable, name: string): Promise<Manifest> {
  return readPackage(name, {}, { manifestOnly: true, input });
}
