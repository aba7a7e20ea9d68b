/**
 * Crafted archives: a real archive re-packed with some members replaced and its manifest edited,
 * everything else made consistent (member sizes and sha256s, the manifest's integrity, checksums.sha256,
 * and PAR2 data written by the writer create uses), so that only what a test means is wrong is wrong.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { writeArchivePackage } from '../../../src/archive/create/write-package.js';
import { par2RecoveryWriter, type RecoveryWriter } from '../../../src/archive/package/recovery.js';
import { contentDigestInput } from '../../../src/format/checksums.js';
import { decodeManifest, type Manifest } from '../../../src/format/manifest.js';
import { tarMembers } from '../../support/hostile-tar.js';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The members of an archive file, by name (the manifest decoded). */
export async function archiveMembers(file: string): Promise<{ manifest: Manifest; members: Map<string, Buffer> }> {
  const members = tarMembers(await fsp.readFile(file));
  return { manifest: decodeManifest(members.get('manifest.jss')!.toString('utf8')), members };
}

export interface RepackOptions {
  /** Stored (compressed) bytes to put in place of members, by name. */
  replace?: Record<string, Buffer>;
  /** Changes to the manifest, made after the sizes and hashes are set. */
  edit?: (m: Manifest) => void;
  /** PAR2 redundancy (default 0.1). */
  redundancy?: number;
  /** Writes the recovery data instead of the real writer (a crafted PAR2 set). */
  recovery?: RecoveryWriter;
  /** Where to write it (default: over `file`). */
  out?: string;
}

/** Re-packs the archive `file` (see the file's comment). */
export async function repack(file: string, opts: RepackOptions = {}): Promise<Manifest> {
  const { manifest, members } = await archiveMembers(file);
  const m = structuredClone(manifest);
  const stage = await fsp.mkdtemp(path.join(path.dirname(file), '.craft-'));
  try {
    const bytesOf = (name: string) => opts.replace?.[name] ?? members.get(name)!;
    const snap = bytesOf(m.contents.snapshot.file);
    Object.assign(m.contents.snapshot, { compressedSize: snap.length, sha256: sha256(snap) });
    m.integrity.members = { [m.contents.snapshot.file]: sha256(snap) };
    const snapPath = path.join(stage, 'snapshot');
    await fsp.writeFile(snapPath, snap);
    const segs = [];
    for (const s of m.contents.segments) {
      const b = bytesOf(s.file);
      Object.assign(s, { compressedSize: b.length, sha256: sha256(b) });
      m.integrity.members[s.file] = s.sha256;
      const stagedPath = path.join(stage, s.file.replace('/', '_'));
      await fsp.writeFile(stagedPath, b);
      segs.push({ file: s.file, stagedPath, compressedSize: b.length });
    }
    m.integrity.contentSha256 = sha256(contentDigestInput(m.integrity.members));
    m.compression.compressedSize = snap.length + segs.reduce((a, s) => a + s.compressedSize, 0);
    opts.edit?.(m);
    const res = await writeArchivePackage(m, snapPath, segs, stage, opts.recovery ?? par2RecoveryWriter(opts.redundancy ?? 0.1), () => {});
    await fsp.rename(res.path, opts.out ?? file);
    return res.manifest;
  } finally {
    await fsp.rm(stage, { recursive: true, force: true });
  }
}
