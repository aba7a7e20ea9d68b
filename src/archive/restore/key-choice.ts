/**
 * Which of the archives that hold one moment to read. Two hold it when it falls between an archive's last
 * line and its seal (the next one starts at that line): both give the same state, so the one the caller
 * can read is taken, told from the manifests alone (nothing is decrypted to find out).
 */
import { identityRecipients, type AgeIdentity } from '../crypto/age-keys.js';
import type { Manifest } from '../../format/manifest.js';

/** Whether an archive can be read here: by the manifest alone, before any member is fetched. */
export type OpensArchive = (m: Manifest) => boolean;

/** Whether reading an archive needs nothing but the archive: no age identity, no BRI_ENCRYPTION_KEY. */
export const needsNoKey: OpensArchive = (m) => m.encryption === undefined && !m.contents.snapshot.encrypted;

/**
 * The archives sealed with age that `age` opens: one of its keys' recipients is one the manifest lists, or
 * it holds a passphrase and a passphrase sealed the archive (which one cannot be told without trying).
 */
export async function opensWithIdentity(age: AgeIdentity | null): Promise<OpensArchive> {
  if (age === null) return () => false;
  // A key whose recipient cannot be derived opens nothing this test can vouch for.
  const mine = new Set(await identityRecipients(age).catch(() => [] as string[]));
  return (m) => m.encryption !== undefined && (m.encryption.passphrase ? age.passphrases.length > 0 : m.encryption.recipients.some((r) => mine.has(r)));
}

/**
 * Of archives holding one moment (oldest first), the one to read: the newest that needs no key (a plaintext
 * archive before an encrypted one must not ask for an identity), else the newest the identity given opens,
 * else the newest (whose reading then says which identity it needs).
 */
export function easiestToRead<A extends { manifest: Manifest }>(holding: readonly A[], opens?: OpensArchive): A | undefined {
  const newest = (test: OpensArchive) => holding.filter((a) => test(a.manifest)).pop();
  return newest(needsNoKey) ?? (opens ? newest(opens) : undefined) ?? holding[holding.length - 1];
}
