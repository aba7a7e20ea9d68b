/**
 * Key rotation without re-encrypting the payload. An age file is a text header (version line,
 * recipient stanzas, `--- MAC`) and a payload keyed only from the file key; the header is the file
 * key wrapped for each recipient. Rotating recipients therefore rewrites the header alone: unwrap
 * the file key with an old identity, wrap it for the new recipients, MAC the new header.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Stanza } from 'age-encryption';
import { assertRecipients, corrupted, headerError, identityMissingError, tracedDecrypter, type AgeIdentity, type AgeRecipients } from './age-keys.js';

const MAGIC = new TextEncoder().encode('age-encryption.org/v1\n');
/** The library's default scrypt work factor (log2 N), which `Encrypter` uses for passphrases too. */
const SCRYPT_LOG_N = 18;

/** Whether bytes start like an age file (binary header 'age-encryption.org/v1\n'); age-stream re-exports it. */
export function isAgeFile(head: Uint8Array): boolean {
  if (head.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (head[i] !== MAGIC[i]) return false;
  return true;
}

/**
 * Length of the header (through the '--- MAC\n' line) of an age file whose first bytes are `head`.
 * Base64 has no '-', and stanza lines start with '-> ', so the first line starting with '--- ' ends
 * the header; header bytes are printable ASCII, so a stray binary byte stops the scan early.
 */
export function ageHeaderLength(head: Uint8Array, member: string): number {
  if (!isAgeFile(head)) throw corrupted(member, 'is not an age-encrypted file (no age header)');
  let start = MAGIC.length;
  for (;;) {
    const nl = head.indexOf(0x0a, start);
    if (nl < 0) throw corrupted(member, `no end of its age header within its first ${head.length} bytes (truncated or damaged)`);
    for (let i = start; i < nl; i++) {
      const b = head[i]!;
      if (b < 0x20 || b > 0x7e) throw corrupted(member, `its age header is damaged (a non-text byte at offset ${i})`);
    }
    // '--- ' then the MAC: 32 bytes, 43 base64 characters.
    if (nl - start >= 4 && head[start] === 0x2d && head[start + 1] === 0x2d && head[start + 2] === 0x2d && head[start + 3] === 0x20) return nl + 1;
    start = nl + 1;
  }
}

/** The parts of age-encryption that wrap a given file key: exported by its modules but not by its `exports` map. */
interface Wrapper {
  wrapFileKey(fileKey: Uint8Array): Stanza[] | Promise<Stanza[]>;
}
interface AgeInternals {
  X25519Recipient: new (s: string) => Wrapper;
  HybridRecipient: new (s: string) => Wrapper;
  ScryptRecipient: new (passphrase: string, logN: number) => Wrapper;
  encodeHeader(stanzas: Stanza[], mac: Uint8Array): Uint8Array;
  encodeHeaderNoMAC(stanzas: Stanza[]): Uint8Array;
}

let internals: Promise<AgeInternals> | undefined;

/**
 * Loads dist/recipients.js and dist/format.js beside the package's entry point, by file URL (the
 * same module instances the package itself uses), and checks that they still have what we use, so
 * that a library upgrade that moves them fails here with a clear message rather than deep inside.
 */
function loadInternals(): Promise<AgeInternals> {
  internals ??= (async () => {
    const entry = pathToFileURL(createRequire(import.meta.url).resolve('age-encryption'));
    const recipients = (await import(new URL('./recipients.js', entry).href)) as Partial<AgeInternals>;
    const format = (await import(new URL('./format.js', entry).href)) as Partial<AgeInternals>;
    const all = { ...recipients, ...format } as Partial<AgeInternals>;
    for (const name of ['X25519Recipient', 'HybridRecipient', 'ScryptRecipient', 'encodeHeader', 'encodeHeaderNoMAC'] as const) {
      if (typeof all[name] !== 'function') throw new Error(`age-encryption no longer has ${name} in dist/recipients.js or dist/format.js: age-rekey.ts needs updating`);
    }
    return all as AgeInternals;
  })();
  return internals;
}

/** Stanzas wrapping `fileKey` for `to` (already checked by assertRecipients), as Encrypter would make them. */
async function wrapFor(fileKey: Uint8Array, to: AgeRecipients, lib: AgeInternals): Promise<Stanza[]> {
  if (to.passphrase !== undefined) return new lib.ScryptRecipient(to.passphrase, SCRYPT_LOG_N).wrapFileKey(fileKey);
  const stanzas: Stanza[] = [];
  for (const r of to.recipients) {
    const recipient = r.startsWith('age1pq1') ? new lib.HybridRecipient(r) : new lib.X25519Recipient(r);
    stanzas.push(...(await recipient.wrapFileKey(fileKey)));
  }
  return stanzas;
}

/**
 * Whether `identity` unwraps the file key of the age file (its first 64 KiB hold the header): a passphrase's stanza names nothing, so the one way to know a file is for a passphrase is to try
 * it (one scrypt). False for a header that is not age's or does not open.
 */
export async function fileOpensWith(file: string, identity: AgeIdentity): Promise<boolean> {
  try {
    const handle = await fsp.open(file, 'r');
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
    return await headerOpensWith(head.subarray(0, bytesRead), identity, path.basename(file));
  } catch {
    return false;
  }
}

async function headerOpensWith(head: Uint8Array, identity: AgeIdentity, member: string): Promise<boolean> {
  try {
    const { decrypter } = tracedDecrypter(identity, member);
    await decrypter.decryptHeader(head.subarray(0, ageHeaderLength(head, member)));
    return true;
  } catch {
    return false;
  }
}

/**
 * A new header for the same file key, for `to`: the file key is unwrapped from the old header with
 * `identity` (Decrypter.decryptHeader), wrapped for the new recipients, and MACed (HMAC-SHA256 keyed
 * with HKDF-SHA256(fileKey, salt empty, info "header"), as the age spec says).
 * new file = newHeader + oldFile.subarray(oldHeaderLength).
 */
export async function rekeyHeader(head: Uint8Array, identity: AgeIdentity | null, to: AgeRecipients, member: string): Promise<{ header: Buffer; oldHeaderLength: number }> {
  if (identity === null || identity.identities.length + identity.passphrases.length === 0) throw identityMissingError(member);
  assertRecipients(to);
  const oldHeaderLength = ageHeaderLength(head, member);
  const { decrypter, trace } = tracedDecrypter(identity, member);
  let fileKey: Uint8Array;
  try {
    fileKey = await decrypter.decryptHeader(head.subarray(0, oldHeaderLength));
  } catch (err) {
    throw headerError(err, trace, identity, member, true);
  }
  const lib = await loadInternals();
  const stanzas = await wrapFor(fileKey, to, lib);
  const macKey = Buffer.from(hkdfSync('sha256', fileKey, new Uint8Array(0), 'header', 32));
  const mac = createHmac('sha256', macKey).update(lib.encodeHeaderNoMAC(stanzas)).digest();
  const header = lib.encodeHeader(stanzas, mac);
  return { header: Buffer.from(header.buffer, header.byteOffset, header.byteLength), oldHeaderLength };
}
