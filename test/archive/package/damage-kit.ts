/** Real archives and the ways the recovery tests hurt them: where the members, the padding and the PAR2 packets lie. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createDB } from '../../../src/db.js';
import type { Manifest } from '../../../src/format/manifest.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import { BLOCK, tarLayout, type MemberLayout } from '../../support/hostile-tar.js';
import { flipByte } from '../../support/tools.js';

export interface Archived {
  dataDir: string;
  file: string;
  id: string;
  manifest: Manifest;
  original: Buffer;
  /** The state the archive restores to. */
  expected: PlainState;
  members: MemberLayout[];
  recovery: MemberLayout;
  /** Where recovery.par2's packets are, with their type (`Main`, `FileDesc`, `IFSC`, `Creator`, `RecvSlic`). */
  packets: Array<{ at: number; type: string; length: number }>;
  /** Where the protected prefix ends (recovery.par2's tar header). */
  prefixBytes: number;
  blockSize: number;
}

/** A data directory under `root` with one archive of `docs` documents (its archives in `<dataDir>/archives`). */
export async function archivedDb(root: string, opts: { docs?: number; key?: string; name?: string } = {}): Promise<Archived> {
  const dataDir = path.join(root, opts.name ?? 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 32 * 1024, ...(opts.key ? { encryptionKey: opts.key } : {}) } });
  let created;
  let expected: PlainState;
  try {
    const docs = opts.docs ?? 3000;
    for (let i = 0; i < docs; i += 500) await Promise.all(Array.from({ length: Math.min(500, docs - i) }, (_, j) => db.set(`DOC_${i + j}`, { i: i + j, body: `text ${i + j} `.repeat(1 + ((i + j) % 7)) })));
    created = await db.archive.create({ level: 3 });
    expected = toPlainState(db.state);
  } finally {
    await db.close();
  }
  const original = await fsp.readFile(created.file);
  const { members } = tarLayout(original);
  const recovery = members.find((m) => m.name === 'recovery.par2')!;
  return {
    dataDir,
    file: created.file,
    id: created.archiveId,
    manifest: created.manifest,
    original,
    expected,
    members: members.filter((m) => m !== recovery),
    recovery,
    packets: packetsIn(original, recovery.dataOffset, recovery.dataOffset + recovery.size),
    prefixBytes: recovery.headerOffset,
    blockSize: created.manifest.errorCorrection.blockSize!,
  };
}

export function packetsIn(buf: Buffer, from: number, to: number): Array<{ at: number; type: string; length: number }> {
  const out: Array<{ at: number; type: string; length: number }> = [];
  for (let at = buf.indexOf('PAR2\0PKT', from, 'latin1'); at >= 0 && at < to; at = buf.indexOf('PAR2\0PKT', at + 8, 'latin1')) {
    out.push({ at, type: buf.toString('latin1', at + 56, at + 64).replace(/\0+$/, ''), length: Number(buf.readBigUInt64LE(at + 8)) });
  }
  return out;
}

/** Flips `bytes` bytes inside every packet of a type (past its 64-byte header: the MD5 then fails). */
export function hurtEveryPacket(a: Archived, buf: Buffer, type: string, bytes = 2): number {
  let n = 0;
  for (const p of a.packets.filter((x) => x.type === type)) {
    for (let k = 0; k < bytes; k++) flipByte(buf, p.at + 64 + k, 0xa5);
    n++;
  }
  return n;
}

/** The padding regions of the protected members (between a member's end and the next header). */
export function paddingRegions(a: Archived): Array<{ name: string; start: number; end: number }> {
  return a.members.map((m) => ({ name: m.name, start: m.dataOffset + m.size, end: m.dataOffset + Math.ceil(m.size / BLOCK) * BLOCK })).filter((r) => r.end > r.start);
}

/** Flips `count` bytes spread over the padding; returns the PAR2 blocks they fall in. */
export function hurtPadding(a: Archived, buf: Buffer, count: number): Set<number> {
  const regions = paddingRegions(a);
  const blocks = new Set<number>();
  let done = 0;
  for (let round = 0; done < count; round++) {
    let progressed = false;
    for (const r of regions) {
      const at = r.start + round;
      if (at >= r.end || done >= count) continue;
      flipByte(buf, at, 0x41);
      blocks.add(Math.floor(at / a.blockSize));
      done++;
      progressed = true;
    }
    if (!progressed) throw new Error(`only ${done} bytes of padding to flip`);
  }
  return blocks;
}

/** A directory holding only this damaged copy, under the archive's own name (an archive directory for the CLI). */
export async function copyDir(root: string, name: string, a: Archived, bytes: Buffer): Promise<{ dir: string; file: string }> {
  const dir = path.join(root, name);
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, path.basename(a.file));
  await fsp.writeFile(file, bytes);
  return { dir, file };
}
