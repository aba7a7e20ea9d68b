/**
 * The package of an archive (manifest, members, checksums, recovery) written whole into the stage
 * directory and fsynced, the manifest first read back: create and rekey both end here.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../../errors.js';
import { formatChecksums } from '../../format/checksums.js';
import { CHECKSUMS_MEMBER, decodeManifest, encodeManifest, MANIFEST_MEMBER, type Manifest } from '../../format/manifest.js';
import type { RecoveryWriter } from '../package/recovery.js';
import { writePackage, type PackageMember } from '../package/writer.js';
import { MAX_MANIFEST_BYTES } from '../package/reader.js';
export async function writeArchivePackage(
  manifest: Manifest,
  snapshotPath: string,
  segments: Array<{ file: string; stagedPath: string; compressedSize: number }>,
  stageDir: string,
  recovery: RecoveryWriter | undefined,
  emit: (phase: 'recovery', done: number, total: number) => void,
): Promise<{ path: string; bytes: number; manifest: Manifest }> {
  const checksums = formatChecksums(Object.entries(manifest.integrity.members));
  if (recovery) {
    // The protected prefix is every member before recovery.par2: its size is known before writing.
    const pad = (n: number) => 512 + Math.ceil(n / 512) * 512;
    const estimate =
      pad(encodeManifest(manifest).length + 256) +
      pad(manifest.contents.snapshot.compressedSize) +
      segments.reduce((a, s) => a + pad(s.compressedSize), 0) +
      pad(checksums.length + 128);
    const plan = recovery.plan(estimate);
    manifest.errorCorrection.blockSize = plan.blockSize;
    manifest.errorCorrection.recoveryBlockCount = plan.recoveryBlockCount;
  }
  const manifestText = encodeManifest(manifest);
  readBackManifest(manifestText, manifest.contents.segments.length);
  const manifestSha = createHash('sha256').update(manifestText).digest('hex');
  const checksumText = formatChecksums([[MANIFEST_MEMBER, manifestSha]]) + checksums;
  const members: PackageMember[] = [
    { name: MANIFEST_MEMBER, data: Buffer.from(manifestText, 'utf8'), size: Buffer.byteLength(manifestText) },
    { name: manifest.contents.snapshot.file, path: snapshotPath, size: manifest.contents.snapshot.compressedSize },
    ...segments.map((s) => ({ name: s.file, path: s.stagedPath, size: s.compressedSize })),
    { name: CHECKSUMS_MEMBER, data: Buffer.from(checksumText, 'utf8'), size: Buffer.byteLength(checksumText) },
  ];
  const out = path.join(stageDir, 'package.bri');
  const result = await writePackage(out, members, {
    mtime: manifest.createdAt,
    ...(recovery
      ? {
          finalMember: async (prefixBytes: number, ready: (end: number) => Promise<void>) => {
            // Named alone: the PAR2 writer tells no progress here (0 of 0, not the WAL's bytes as if all were done).
            emit('recovery', 0, 0);
            const par2Path = path.join(stageDir, 'recovery.par2');
            const plan = { blockSize: manifest.errorCorrection.blockSize!, recoveryBlockCount: manifest.errorCorrection.recoveryBlockCount! };
            const bytes = await recovery.write(out, prefixBytes, par2Path, plan, `${manifest.archiveId}.tar`, ready);
            return { name: 'recovery.par2', path: par2Path, size: bytes };
          },
        }
      : {}),
  });
  return { path: out, bytes: result.bytes, manifest };
}

/**
 * Whatever is written, the reader must accept: a manifest the reader would refuse makes an
 * archive that can never be restored, so it is checked before the package exists.
 */
function readBackManifest(text: string, segments: number): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_MANIFEST_BYTES) {
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the archive's manifest would be ${bytes} bytes, over the ${MAX_MANIFEST_BYTES} its readers accept (it lists ${segments} WAL segments)`, {
      hint: 'Nothing was written. Archive more often (fewer WAL segments per archive), or raise walSegmentSize so that each segment holds more lines.',
      details: { manifestBytes: bytes, maxManifestBytes: MAX_MANIFEST_BYTES },
    });
  }
  try {
    decodeManifest(text);
  } catch (err) {
    throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the archive's manifest would not read back: ${(err as Error).message}`, {
      hint: 'Nothing was written. A value given to create (name, retention, instance id in bri-archive.json) breaks the manifest rules.',
      cause: err,
    });
  }
}
