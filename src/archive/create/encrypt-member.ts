/**
 * A staged member, compressed, becomes an age file for the archive's recipients: the stored bytes
 * (what the manifest's sha256 and size, the checksums and PAR2 cover) are the ciphertext, so an
 * archive can be verified and repaired by someone who cannot read it.
 */
import * as fsp from 'node:fs/promises';
import type { AgeRecipients } from '../crypto/age-keys.js';
import { encryptFile } from '../crypto/age-stream.js';

export interface StagedMember {
  stagedPath: string;
  compressedSize: number;
  sha256: string;
}

/** Encrypts the staged file beside it (`.age`), removes the plaintext one, and says what is stored now. */
export async function encryptStaged<T extends StagedMember>(member: T, to: AgeRecipients): Promise<T> {
  const out = `${member.stagedPath}.age`;
  // Staged members go into the package, which is fsynced whole: no fsync of their own.
  const r = await encryptFile(member.stagedPath, out, to, false);
  await fsp.rm(member.stagedPath, { force: true });
  return { ...member, stagedPath: out, compressedSize: r.size, sha256: r.sha256 };
}
