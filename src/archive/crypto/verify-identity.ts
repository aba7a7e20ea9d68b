/**
 * Which identity a reader of encrypted archives uses, and which a verify uses. Without one, an archive encrypted with age is verified as stored
 * (checksums, sizes, PAR2: an operator scrubs backups it cannot read); `deep` asks for its
 * contents too, and then an identity must be found (the one given, the configuration's file,
 * or $BRI_AGE_IDENTITY / $BRI_AGE_PASSPHRASE).
 */
import { loadIdentity, type AgeIdentity } from './age-keys.js';

export interface VerifyIdentityOptions {
  /** An identity file's path, or identities already read: the contents of an archive encrypted with age are checked with it. */
  identity?: string | AgeIdentity;
  /** Check the contents of an archive encrypted with age (ENCRYPTION_KEY_MISSING when no identity is found). */
  deep?: boolean;
}

export async function verifyIdentity(opts: VerifyIdentityOptions, configuredFile: string | undefined): Promise<AgeIdentity | null> {
  if (opts.identity === undefined && !opts.deep) return null;
  return resolveIdentity(opts.identity, configuredFile);
}

/**
 * The one order every reader of encrypted archives looks for an identity in: the one given (a file's
 * path, or identities already read), else the configuration's identityFile, else $BRI_AGE_IDENTITY /
 * $BRI_AGE_PASSPHRASE; null when there is none.
 */
export async function resolveIdentity(given: string | AgeIdentity | undefined, configuredFile?: string): Promise<AgeIdentity | null> {
  if (given !== undefined && typeof given !== 'string') return given;
  const file = given ?? configuredFile;
  return loadIdentity(file !== undefined ? { identityFile: file } : {});
}
