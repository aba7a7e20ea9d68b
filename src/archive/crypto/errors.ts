/** The errors every reader of age-encrypted archives gives when it has no identity: one wording, one code (exit 12). */
import { BriError, ErrorCodes } from '../../errors.js';
import type { AgeIdentity } from './age-keys.js';

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

/**
 * An archive whose bytes are intact that the identity given does not open. One encrypted with a passphrase
 * opens with BRI_AGE_PASSPHRASE alone (an identity file never does): said as a restore says it (it said
 * "pass the identity of one of them" of a passphrase).
 */
export function wrongAgeIdentity(archiveId: string, file: string, encryption: { recipients: string[]; passphrase: boolean } | undefined, age: AgeIdentity): BriError {
  const passphrase = encryption?.passphrase === true;
  const hint = passphrase
    ? `It is encrypted with a passphrase: set BRI_AGE_PASSPHRASE to it${age.passphrases.length > 0 ? ' (the one given is not it)' : ''}.`
    : `It is encrypted for ${encryption?.recipients.join(', ') ?? 'other recipients'}; pass the identity of one of them (--identity FILE or BRI_AGE_IDENTITY).`;
  return new BriError(ErrorCodes.DECRYPTION_FAILED, `archive ${archiveId} cannot be decrypted with the age identity given: its bytes are intact, so it is encrypted ${passphrase ? 'with another passphrase' : 'for other recipients'}`, {
    hint,
    details: { archiveId, file },
  });
}
