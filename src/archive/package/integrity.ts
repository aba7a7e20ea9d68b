/**
 * Are an archive's bytes the ones it was written with? Two questions, kept
 * apart because their answers lead to different things:
 *
 * - the protected prefix (everything before `recovery.par2`: tar headers,
 *   members, padding): compared block by block with the PAR2 slice checksums,
 *   so that damage anywhere is found, padding included, not only damage the
 *   member checksums happen to cover. When the PAR2 data cannot be used, the
 *   member checksums (and the tar headers' own checksums) vouch for the
 *   members and the padding must be zeros, as the writer leaves it;
 * - the recovery data (`recovery.par2` and the end of the tar): every packet
 *   intact, every copy, no byte outside a packet.
 *
 * Intact data with hurt recovery data is restorable as it is, and repair
 * writes the recovery data again from it; hurt data is repaired from the
 * recovery data when it is usable.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { ErrorCodes, isHostFault, type BriError } from '../../errors.js';
import { contentDigestInput, parseChecksums } from '../../format/checksums.js';
import { CHECKSUMS_MEMBER, MANIFEST_MEMBER, type Manifest } from '../../format/manifest.js';
import { auditPar2File, chooseSliceLayout, readPar2Set, sliceIsRecorded, verifyPar2, type KnownSlices, type Par2Set, type Par2VerifyResult } from '../par2/index.js';
import { readPackage, type MemberInfo } from './reader.js';

export const TAR_BLOCK = 512;
const padded = (n: number) => Math.ceil(n / TAR_BLOCK) * TAR_BLOCK;

/** The name the PAR2 set gives the protected prefix of an archive. */
export function protectedName(archiveId: string): string {
  return `${archiveId}.tar`;
}

export interface MemberSpan {
  name: string;
  /** Offset of its tar header, of its data, and the data's size. */
  header: number;
  offset: number;
  size: number;
}

export interface PackageLayout {
  /** Members read, in file order, manifest first; recovery.par2 apart. */
  members: MemberSpan[];
  /** Set once every member before recovery.par2 was read to its end: the protected prefix is [0, prefixBytes). */
  prefixBytes: number | null;
  recovery: MemberSpan | null;
  /** Why the read stopped after the data members: recovery.par2's header damaged, the file cut before it... */
  recoveryError: string | null;
}

/** Records where the members are as readPackage goes (verify's visitor and repair's both feed it). */
export class LayoutRecorder {
  readonly layout: PackageLayout = { members: [], prefixBytes: null, recovery: null, recoveryError: null };

  manifest(size: number): void {
    this.layout.members.push({ name: MANIFEST_MEMBER, header: 0, offset: TAR_BLOCK, size });
  }

  member(info: MemberInfo): void {
    const span = { name: info.name, header: info.offset - TAR_BLOCK, offset: info.offset, size: info.size };
    if (info.kind === 'recovery') this.layout.recovery = span;
    else this.layout.members.push(span);
  }

  /** After the member's bytes were consumed: the last data member ends the protected prefix. */
  memberRead(info: MemberInfo): void {
    if (info.kind === 'checksums') this.layout.prefixBytes = info.offset + padded(info.size);
  }

  /**
   * True when the error is damage past the data, in the recovery data (recorded as such). A member
   * that has no business there (ARCHIVE_INVALID), or anything after the data of an archive made
   * without recovery data, stays the read's error: that is a hostile or foreign file, not damage.
   */
  readFailed(err: BriError, manifest: Manifest | null): boolean {
    if (this.layout.prefixBytes === null || !manifest?.errorCorrection.enabled || err.code !== ErrorCodes.ARCHIVE_CORRUPTED) return false;
    const missing = (err.details as { missing?: unknown }).missing;
    this.layout.recoveryError = Array.isArray(missing) ? 'recovery.par2 is missing: the file ends where it begins' : `recovery.par2: ${err.message}`;
    return true;
  }
}

/** What checksums.sha256 and the manifest say against the members' hashes (`computed`, by name). */
export function checksumProblems(m: Manifest, computed: Map<string, string>, text: string | null): string[] {
  const out: string[] = [];
  if (text === null) return [`${CHECKSUMS_MEMBER} is missing`];
  let listed: Map<string, string>;
  try {
    listed = parseChecksums(text);
  } catch (err) {
    return [(err as BriError).message];
  }
  for (const [name, hash] of listed) {
    if (computed.get(name) !== hash) out.push(`${CHECKSUMS_MEMBER}: ${name} is listed as ${hash}, the member hashes to ${computed.get(name) ?? '(absent)'}`);
  }
  for (const name of Object.keys(m.integrity.members)) if (!listed.has(name)) out.push(`${CHECKSUMS_MEMBER} does not list ${name}`);
  if (!listed.has(MANIFEST_MEMBER)) out.push(`${CHECKSUMS_MEMBER} does not list ${MANIFEST_MEMBER}`);
  const content = createHash('sha256').update(contentDigestInput(m.integrity.members)).digest('hex');
  if (content !== m.integrity.contentSha256) out.push('integrity.contentSha256 does not match the members');
  return out;
}

/** Layout and member hashes without decompressing anything (what repair needs when PAR2 cannot vouch for the data). */
export async function readLayout(file: string, tap?: (chunk: Buffer) => void): Promise<{ manifest: Manifest | null; layout: PackageLayout; membersMatch: boolean; error: BriError | null }> {
  const rec = new LayoutRecorder();
  const computed = new Map<string, string>();
  let manifest: Manifest | null = null;
  let checksums: string | null = null;
  let mismatch = false;
  let error: BriError | null = null;
  try {
    await readPackage(file, {
      manifest(m, sha, size) {
        manifest = m;
        computed.set(MANIFEST_MEMBER, sha);
        rec.manifest(size);
      },
      async member(info, data) {
        rec.member(info);
        if (info.kind === 'recovery') return;
        const hash = createHash('sha256');
        const parts: Buffer[] = [];
        for await (const c of data) {
          hash.update(c);
          if (info.kind === 'checksums') parts.push(c);
        }
        const digest = hash.digest('hex');
        computed.set(info.name, digest);
        if (info.kind === 'checksums') checksums = Buffer.concat(parts).toString('utf8');
        else if (manifest!.integrity.members[info.name] !== digest) mismatch = true;
        rec.memberRead(info);
      },
    }, tap ? { tap } : {});
  } catch (err) {
    const e = err as BriError;
    if (!rec.readFailed(e, manifest)) error = e;
  }
  const m = manifest as Manifest | null;
  const membersMatch = m !== null && error === null && !mismatch && checksumProblems(m, computed, checksums).length === 0;
  return { manifest: m, layout: rec.layout, membersMatch, error };
}

export interface Par2Status {
  /** Whether the archive carries usable PAR2 data. */
  present: boolean;
  intact: boolean;
  repairable: boolean;
  damagedBlocks: number;
  totalBlocks: number;
  recoveryBlocksAvailable: number;
}

export interface ByteCheck {
  /** What the PAR2 data says of the protected prefix (null: no usable PAR2 data). */
  par2: Par2Status | null;
  /** Every byte before recovery.par2 is the original one. */
  dataIntact: boolean;
  /** Damage found in those bytes (damaged PAR2 blocks and where they are, padding that is not zero). */
  dataProblems: string[];
  /** What is wrong with the recovery data (null: intact, or the archive has none). */
  recoveryProblem: string | null;
  /** Whether repair gives back the original file. */
  repairable: boolean;
  /** The usable PAR2 set and its verdict on the prefix, for the repair that follows. */
  set: Par2Set | null;
  verified: Par2VerifyResult | null;
  /** Zeroing the tar padding (as the writer leaves it) is part of the repair. */
  zeroPadding: boolean;
  /** Damaged blocks left for the PAR2 data to rebuild once the padding is zeroed. */
  blocksToRebuild: number;
}

/** Create plans the slice size from an estimate of the protected bytes, a little above them (create/write-package.ts). */
const PLAN_SLACK_BYTES = 64 * 1024;

/**
 * The slice size BRI's writer chooses for `length` protected bytes, at most: a set with larger slices is
 * not one it wrote (a crafted one: 4 GiB slices over a few KiB), and checking or rewriting it at that size
 * would allocate a whole slice.
 */
export function largestWriterSlice(length: number): number {
  return chooseSliceLayout(length + PLAN_SLACK_BYTES, { redundancy: 0 }).blockSize;
}

async function usableSet(file: string, layout: PackageLayout, archiveId: string | null, known: KnownSlices | undefined): Promise<{ set: Par2Set; verified: Par2VerifyResult } | { why: string }> {
  // The recovery member when the tar says where it is; else the whole file (packets are found by their magic).
  const source = layout.recovery ? { path: file, offset: layout.recovery.offset, length: layout.recovery.size } : file;
  try {
    const set = await readPar2Set([source]);
    const entry = set.files[0];
    if (set.files.length !== 1 || !entry) return { why: `the PAR2 set protects ${set.files.length} files, an archive's protects one` };
    if (archiveId !== null && entry.name !== protectedName(archiveId)) return { why: `the PAR2 set protects ${entry.name}, not ${protectedName(archiveId)}` };
    if (entry.checksums === undefined) return { why: 'every copy of the slice checksums (IFSC packet) is damaged' };
    const largest = largestWriterSlice(entry.length);
    if (set.blockSize > largest) return { why: `its slices are ${set.blockSize} bytes, more than the ${largest} BRI writes for ${entry.length} protected bytes` };
    const size = (await fsp.stat(file)).size;
    return { set, verified: await verifyPar2(set, { path: file, offset: 0, length: Math.min(entry.length, size) }, known ? { known } : {}) };
  } catch (err) {
    // A file the host would not open or read (a permission, too many open files) says nothing of its recovery data.
    if (isHostFault(err)) throw err;
    return { why: (err as Error).message };
  }
}

/** Which parts of the package [start, end) touches, for a person. */
function regionsOf(layout: PackageLayout, start: number, end: number): string[] {
  const out: string[] = [];
  const hit = (a: number, b: number, what: string) => a < end && start < b && b > a && out.push(what);
  for (const m of layout.members) {
    hit(m.header, m.offset, `the tar header of ${m.name}`);
    hit(m.offset, m.offset + m.size, m.name);
    hit(m.offset + m.size, m.offset + padded(m.size), `the tar padding after ${m.name}`);
  }
  return out.length ? out : [`bytes ${start}..${end - 1}`];
}

function describeBlocks(v: Par2VerifyResult, blockSize: number, layout: PackageLayout): string {
  const runs: Array<[number, number]> = [];
  for (const b of v.damagedBlocks) {
    const last = runs[runs.length - 1];
    if (last && last[1] === b) last[1] = b + 1;
    else runs.push([b, b + 1]);
  }
  const where = runs.slice(0, 4).map(([a, b]) => {
    const start = a * blockSize;
    const end = Math.min(b * blockSize, v.expectedLength);
    return `bytes ${start}..${end - 1} (${regionsOf(layout, start, end).join(', ')})`;
  });
  const more = runs.length > 4 ? `, and ${runs.length - 4} more ranges` : '';
  const cut = v.missingBlocks ? `; the file is cut: ${v.missingBlocks} blocks are missing` : '';
  return `PAR2: ${v.damagedBlocks.length} of ${v.totalBlocks} blocks damaged: ${where.join(', ')}${more}${cut}`;
}

async function nonZero(fh: fsp.FileHandle, start: number, end: number): Promise<number> {
  if (end <= start) return 0;
  const buf = Buffer.alloc(end - start);
  const { bytesRead } = await fh.read(buf, 0, buf.length, start);
  let n = end - start - bytesRead; // missing bytes count as damage
  for (let i = 0; i < bytesRead; i++) if (buf[i] !== 0) n++;
  return n;
}

function paddingOf(layout: PackageLayout): Array<{ name: string; start: number; end: number }> {
  return layout.members.map((m) => ({ name: m.name, start: m.offset + m.size, end: m.offset + padded(m.size) })).filter((r) => r.end > r.start);
}

/**
 * The damaged blocks that zeros in the tar padding do not mend. Each block is read, its padding
 * zeroed, and checked against its PAR2 checksum: only the recorded bytes pass, so this trusts
 * nothing but the PAR2 data (many members' padding hit at once can exceed the redundancy, yet
 * need no recovery block at all).
 */
async function stillDamaged(file: string, set: Par2Set, damaged: number[], layout: PackageLayout): Promise<number[]> {
  const entry = set.files[0]!;
  const B = set.blockSize;
  const pads = paddingOf(layout);
  const fh = await fsp.open(file, 'r');
  try {
    const out: number[] = [];
    const buf = Buffer.alloc(B);
    for (const b of damaged) {
      const start = b * B;
      const want = Math.min(B, entry.length - start);
      buf.fill(0);
      const { bytesRead } = await fh.read(buf, 0, want, start);
      let touched = false;
      for (const p of pads) {
        const from = Math.max(p.start, start);
        const to = Math.min(p.end, start + B);
        if (from < to) {
          buf.fill(0, from - start, to - start);
          touched = true;
        }
      }
      if (!touched || bytesRead < want || !sliceIsRecorded(entry, b, buf)) out.push(b);
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** The writer leaves zeros between a member's end and the next header: anything else is damage. */
async function paddingProblems(file: string, layout: PackageLayout): Promise<string[]> {
  const fh = await fsp.open(file, 'r');
  try {
    const out: string[] = [];
    for (const p of paddingOf(layout)) {
      const n = await nonZero(fh, p.start, p.end);
      if (n) out.push(`the tar padding after ${p.name} is not zero (${n} bytes)`);
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** After recovery.par2: zeros to the end of its block, then the tar's two end blocks, then nothing. */
async function tailProblem(file: string, rec: MemberSpan): Promise<string | null> {
  const end = rec.offset + padded(rec.size) + 2 * TAR_BLOCK;
  const fh = await fsp.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size < end) return `the file ends ${end - size} bytes before the end of the tar`;
    const n = await nonZero(fh, rec.offset + rec.size, end);
    if (n) return `${n} bytes of the tar's end (after recovery.par2) are not zero`;
    if (size > end) return `${size - end} bytes follow the end of the tar`;
    return null;
  } finally {
    await fh.close();
  }
}

async function recoveryProblemOf(file: string, layout: PackageLayout, manifest: Manifest | null, set: Par2Set | null): Promise<string | null> {
  if (layout.recoveryError) return layout.recoveryError;
  const rec = layout.recovery;
  if (!rec) return null;
  const expected = manifest?.errorCorrection.recoveryBlockCount ?? set?.recoverySlices.length ?? 0;
  const audit = await auditPar2File(file, rec.offset, rec.size, expected);
  if (!audit.intact) return `recovery.par2: ${audit.problems.join('; ')}`;
  return tailProblem(file, rec);
}

/**
 * Checks the bytes of `file` given what a read of it found: its layout, and whether every member
 * matched its checksum (`membersMatch`, which vouches for the data when the PAR2 data cannot).
 */
export async function checkArchiveBytes(
  file: string,
  read: { manifest: Manifest | null; layout: PackageLayout; membersMatch: boolean; known?: KnownSlices },
): Promise<ByteCheck> {
  const { manifest, layout } = read;
  const withEc = manifest === null || manifest.errorCorrection.enabled;
  // The PAR2 set must protect this archive's file name, as the manifest gives it, only when the members
  // (the manifest among them) match their checksums: a flipped byte in the manifest's archive id must not
  // make an archive beyond repair. A set meant for another file is refused by its block hashes then.
  const expectedId = read.membersMatch ? (manifest?.archiveId ?? null) : null;
  const found = withEc ? await usableSet(file, layout, expectedId, read.known) : { why: 'the archive was made without recovery data' };
  const set = 'set' in found ? found.set : null;
  let recoveryProblem = await recoveryProblemOf(file, layout, manifest, set);
  if (!set && withEc && recoveryProblem === null) {
    const why = (found as { why: string }).why;
    // Without a manifest nothing says whether the archive was made with recovery data: both are said.
    if (manifest === null && layout.recovery === null) recoveryProblem = `no recovery data found (an archive made without PAR2, or its recovery.par2 lost too): ${why}`;
    else recoveryProblem = layout.prefixBytes !== null && !layout.recovery ? 'recovery.par2 is missing' : `recovery.par2 cannot be used: ${why}`;
  }
  // Every member matches its SHA-256 and checksums.sha256 the manifest's: those vouch for the data, so PAR2
  // blocks that still disagree (padding zeroed) mean the recovery data is not this archive's, not that the data
  // is damaged; "repairing" the data from it would write other contents over intact ones.
  const vouched = read.membersMatch && layout.prefixBytes !== null;
  const v = 'set' in found ? found.verified : null;
  const rest = v === null || v.intact ? [] : await stillDamaged(file, (found as { set: Par2Set }).set, v.damagedBlocks, layout);
  if (v !== null && vouched && rest.length > 0) {
    recoveryProblem ??= `recovery.par2 does not describe this archive: ${rest.length} of its ${v.totalBlocks} blocks disagree with members that match their SHA-256 (manifest and ${CHECKSUMS_MEMBER})`;
  } else if ('set' in found && v !== null) {
    const repairable = v.intact ? recoveryProblem !== null : rest.length <= v.recoveryBlocksAvailable && found.set.files.length === 1;
    return {
      par2: { present: true, intact: v.intact, repairable: v.intact || repairable, damagedBlocks: v.damagedBlocks.length, totalBlocks: v.totalBlocks, recoveryBlocksAvailable: v.recoveryBlocksAvailable },
      dataIntact: v.intact,
      dataProblems: v.intact ? [] : [describeBlocks(v, found.set.blockSize, layout) + (rest.length < v.damagedBlocks.length ? ` (${v.damagedBlocks.length - rest.length} of them are damaged only in the tar padding, which zeros mend)` : '')],
      recoveryProblem,
      repairable,
      set: found.set,
      verified: v,
      zeroPadding: rest.length < v.damagedBlocks.length,
      blocksToRebuild: rest.length,
    };
  }
  // No usable PAR2 data: the member checksums and the tar headers' own vouch for the members, the padding must be zeros.
  const dataProblems = vouched ? await paddingProblems(file, layout) : [];
  return {
    par2: null,
    dataIntact: vouched && dataProblems.length === 0,
    dataProblems,
    recoveryProblem,
    repairable: vouched && withEc && (dataProblems.length > 0 || recoveryProblem !== null),
    set: null,
    verified: null,
    zeroPadding: dataProblems.length > 0,
    blocksToRebuild: 0,
  };
}
