/**
 * Key rotation of one archive file: each data member keeps its payload byte for byte and gets a
 * new age header for the new recipients (the file key unwrapped with an old identity); the manifest
 * (sizes, sha256s, recipients), the checksums and the PAR2 data are written again for the new bytes.
 * The archive keeps its id: it holds the same lines, readable by other keys.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { contentDigestInput } from '../../format/checksums.js';
import type { Manifest } from '../../format/manifest.js';
import type { AgeIdentity, AgeRecipients } from '../crypto/age-keys.js';
import { rekeyHeader } from '../crypto/age-rekey.js';
import { writeArchivePackage } from '../create/create.js';
import { readPackage } from '../package/reader.js';
import type { RecoveryWriter } from '../package/recovery.js';
import { verifyArchive } from '../package/verify.js';
import { freshFile } from '../../store/durable-fs.js';

/** An age header is a few hundred bytes per recipient: the first piece of this size holds it. */
const HEAD_BYTES = 64 * 1024;

interface Restaged {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

/** Writes `data` with its age header replaced into `out`; its size and sha256 as written. */
async function restage(data: AsyncIterable<Buffer>, out: string, name: string, identity: AgeIdentity | null, to: AgeRecipients): Promise<Restaged> {
  const hash = createHash('sha256');
  const fh = await freshFile(out, 0o600);
  let size = 0;
  const write = async (b: Buffer) => {
    hash.update(b);
    size += b.length;
    await fh.write(b);
  };
  try {
    let head: Buffer[] = [];
    let headSize = 0;
    let rekeyed = false;
    const flushHead = async () => {
      const h = Buffer.concat(head);
      const { header, oldHeaderLength } = await rekeyHeader(h, identity, to, name);
      await write(header);
      await write(h.subarray(oldHeaderLength));
      rekeyed = true;
      head = [];
    };
    for await (const c of data) {
      if (rekeyed) {
        await write(c);
        continue;
      }
      head.push(c);
      headSize += c.length;
      if (headSize >= HEAD_BYTES) await flushHead();
    }
    if (!rekeyed) await flushHead();
  } finally {
    await fh.close();
  }
  return { name, path: out, size, sha256: hash.digest('hex') };
}

export interface RekeyedPackage {
  /** The new package (in `stageDir`), fsynced, to be renamed over the old one or uploaded. */
  path: string;
  bytes: number;
  manifest: Manifest;
}

/**
 * Rewrites the archive at `file` for `to` into `stageDir`. Refuses an archive whose stored bytes are
 * damaged (new PAR2 data over damaged bytes would make the damage permanent: repair it first) and one
 * that is not encrypted with age (nothing to rotate).
 */
export async function rekeyPackage(file: string, stageDir: string, identity: AgeIdentity | null, to: AgeRecipients, recovery: RecoveryWriter | undefined): Promise<RekeyedPackage> {
  const before = await verifyArchive(file, {});
  if (!before.dataIntact) {
    throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${before.archiveId ?? file} is damaged: ${before.problems[0] ?? 'its bytes do not match'}`, {
      hint: 'Repair it first (`bri archive repair <id> --in-place`): new recovery data over damaged bytes would keep the damage for good.',
      details: { file },
    });
  }
  await fsp.mkdir(stageDir, { recursive: true });
  const staged = new Map<string, Restaged>();
  let n = 0;
  const m = await readPackage(file, {
    manifest(m) {
      if (!m.encryption) throw new BriError(ErrorCodes.USAGE, `archive ${m.archiveId} is not encrypted with age: there is no key to rotate`, { hint: 'Rekey rotates the recipients of encrypted archives; set archive.encryption for new ones.' });
    },
    async member(info, data) {
      if (info.kind !== 'snapshot' && info.kind !== 'wal') return;
      staged.set(info.name, await restage(data, path.join(stageDir, `member-${n++}`), info.name, identity, to));
    },
  });
  const next: Manifest = structuredClone(m);
  const members: Record<string, string> = { ...next.integrity.members };
  const stored = (name: string) => staged.get(name)!;
  const snap = stored(next.contents.snapshot.file);
  next.contents.snapshot = { ...next.contents.snapshot, compressedSize: snap.size, sha256: snap.sha256 };
  members[snap.name] = snap.sha256;
  next.contents.segments = next.contents.segments.map((s) => {
    const r = stored(s.file);
    members[s.file] = r.sha256;
    return { ...s, compressedSize: r.size, sha256: r.sha256 };
  });
  next.compression.compressedSize = [...staged.values()].reduce((a, s) => a + s.size, 0);
  next.integrity = { ...next.integrity, members, contentSha256: createHash('sha256').update(contentDigestInput(members)).digest('hex') };
  next.encryption = { scheme: 'age', recipients: [...to.recipients], passphrase: to.passphrase !== undefined };
  next.errorCorrection = { ...next.errorCorrection, enabled: recovery !== undefined, algorithm: recovery ? 'par2' : null, redundancy: recovery?.redundancy ?? 0, blockSize: null, recoveryBlockCount: null };
  const segments = next.contents.segments.map((s) => ({ file: s.file, stagedPath: stored(s.file).path, compressedSize: s.compressedSize }));
  const written = await writeArchivePackage(next, snap.path, segments, stageDir, recovery, () => undefined);
  for (const s of staged.values()) await fsp.rm(s.path, { force: true });
  // Whatever is written, its own reader must accept: the new file is verified as stored before it replaces anything.
  const after = await verifyArchive(written.path, {});
  if (!after.ok) throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the rekeyed archive ${m.archiveId} does not verify: ${after.problems[0]}`, { hint: 'Nothing was replaced; report this as a bug.' });
  return { path: written.path, bytes: written.bytes, manifest: written.manifest };
}
