/**
 * Encryption at rest as BRI writes it: AES-256-GCM, text = base64(IV[12] + authTag[16] + ciphertext).
 * WAL entries bind "<timestamp>|<pointer>" as AAD; snapshots use none.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BriError, ErrorCodes } from '../errors.js';

export type EncryptionKey = Buffer & { readonly __brand?: 'EncryptionKey' };

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The shortest text BRI's encryption writes: the IV and the tag around nothing, in padded base64. */
const MIN_CIPHERTEXT_CHARS = Math.ceil((IV_BYTES + TAG_BYTES) / 3) * 4;
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

/** Parses a 64-hex-char key (as in BRI_ENCRYPTION_KEY). */
export function parseEncryptionKey(hex: string): EncryptionKey {
  const clean = hex.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(clean)) {
    throw new BriError(ErrorCodes.USAGE, 'encryption key must be 64 hex characters (32 bytes)', {
      hint: 'Set BRI_ENCRYPTION_KEY to the key BRI was configured with.',
    });
  }
  return Buffer.from(clean, 'hex');
}

export function encryptText(key: EncryptionKey, plaintext: string, aad?: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function decryptText(key: EncryptionKey, encoded: string, aad?: string): string {
  const raw = Buffer.from(encoded.trim(), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) {
    throw new BriError(ErrorCodes.DECRYPTION_FAILED, 'encrypted text is too short', {
      hint: 'The data is damaged or not encrypted.',
    });
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new BriError(ErrorCodes.DECRYPTION_FAILED, 'decryption failed: wrong key or altered data', {
      hint: 'Check BRI_ENCRYPTION_KEY; if the key is right, the data was modified.',
      cause: err,
    });
  }
}

/** Whether a text looks like BRI's base64 ciphertext rather than plaintext JSS. */
export function looksEncrypted(text: string): boolean {
  // Only the start is looked at (a snapshot can be a hundred MiB: no trim of the whole text).
  const t = text.slice(0, 1024).trimStart();
  return t.length > 0 && t[0] !== '{' && t[0] !== '[' && /^[A-Za-z0-9+/=\s]+$/.test(t.slice(0, 256));
}

/**
 * Whether a text has the form of one encrypted WAL entry: padded base64 of at least an IV and a tag. Anything
 * else is plaintext, a JSS object or a corrupt line: `[1,2]` is reported as corrupt, never as encrypted and unchecked.
 */
export function hasCiphertextForm(text: string): boolean {
  const n = text.length;
  // A plaintext entry ('{') is told at its first character: this runs for every line of a restore.
  if (text.charCodeAt(0) === 0x7b || n < MIN_CIPHERTEXT_CHARS || n % 4 !== 0) return false;
  const pad = text.indexOf('=');
  return (pad === -1 || (pad >= n - 2 && text.charCodeAt(n - 1) === 0x3d)) && !NOT_BASE64.test(text);
}
