/** From a raw WAL line to its plaintext entry and operation, decrypting where needed. */
import { BriError, ErrorCodes } from '../../errors.js';
import { decryptText, hasCiphertextForm, type EncryptionKey } from '../../format/encryption.js';
import { decodeOperation, type Operation } from '../../format/operation.js';
import { entryAad, type WalLine } from '../../format/wal-line.js';

/** Whether a stored entry is ciphertext in the spec's form; anything else is plaintext, which the decoder then accepts or calls corrupt. */
export function isEncryptedEntry(entry: string): boolean {
  return hasCiphertextForm(entry);
}

/** The plaintext JSS of a line's entry. Throws ENCRYPTION_KEY_MISSING or DECRYPTION_FAILED. */
export function entryPlaintext(line: WalLine, key: EncryptionKey | undefined): string {
  if (!isEncryptedEntry(line.entry)) return line.entry;
  if (key === undefined) {
    throw new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, 'the WAL is encrypted and no key was given', {
      hint: 'Set BRI_ENCRYPTION_KEY (64 hex chars) or pass encryptionKey.',
    });
  }
  return decryptText(key, line.entry, entryAad(line.timestamp, line.pointer));
}

export function lineOperation(line: WalLine, key: EncryptionKey | undefined): Operation {
  return decodeOperation(entryPlaintext(line, key));
}
