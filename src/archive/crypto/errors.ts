/** The errors every reader of age-encrypted archives gives when it has no identity: one wording, one code (exit 12). */
import { BriError, ErrorCodes } from '../../errors.js';

/** `what` (an archive, a shipment) is encrypted with age and no identity was given. */
export function identityMissing(what: string): BriError {
  return new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, `${what} is encrypted with age: reading it needs an identity`, {
    hint: 'Pass --identity FILE (an age identity file, as age-keygen writes it) or set BRI_AGE_IDENTITY; a passphrase-encrypted archive reads BRI_AGE_PASSPHRASE. Verify and repair work without it.',
    details: { what },
  });
}

/** A rekey without the identity that opens what it rewraps (it said "rekeying archives is encrypted with age"). */
export function rekeyNeedsIdentity(): BriError {
  return new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, 'a rekey needs the age identity that reads the encrypted archives: it unwraps each one\'s file key with it and wraps it again for the new recipients', {
    hint: 'Pass --identity FILE (an age identity file, as age-keygen writes it) or set BRI_AGE_IDENTITY; archives that are not encrypted are left as they are.',
    details: { what: 'rekey' },
  });
}
