/**
 * Which identity a verify uses. Without one, an archive encrypted with age is verified as stored
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
  if (opts.identity !== undefined && typeof opts.identity !== 'string') return opts.identity;
  if (opts.identity !== undefined) return loadIdentity({ identityFile: opts.identity });
  if (!opts.deep) return null;
  return loadIdentity(configuredFile !== undefined ? { identityFile: configuredFile } : {});
}
