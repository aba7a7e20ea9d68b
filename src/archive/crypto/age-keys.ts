/**
 * age recipients (what encrypts) and identities (what decrypts): validation, identity files as
 * age-keygen writes them, where the identity comes from (--identity, BRI_AGE_IDENTITY,
 * BRI_AGE_PASSPHRASE), and the errors shared by decryptChunks and rekeyHeader. No message ever
 * holds a secret: identities and passphrases are named by their source, never quoted.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { Decrypter, Encrypter, identityToRecipient, type Identity, type Stanza } from 'age-encryption';
import { BriError, ErrorCodes, ioHint } from '../../errors.js';
import { isIdentityText } from '../../format/input.js';

/** What encrypts: age recipients (X25519 `age1...`, hybrid `age1pq1...`), or a passphrase (scrypt recipient) instead. */
export interface AgeRecipients {
  recipients: string[];
  passphrase?: string;
}

/**
 * A mark of who a piece was encrypted for, kept in an object's metadata: a later rekey tells a shipment it
 * already rewrapped for these recipients (age's X25519 stanzas do not name theirs). Recipients only: a
 * passphrase's mark would be a hash of the passphrase.
 */
export function recipientsMark(to: AgeRecipients): string | undefined {
  if (to.passphrase !== undefined || to.recipients.length === 0) return undefined;
  return createHash('sha256').update([...to.recipients].sort().join('\n')).digest('hex');
}

/** What decrypts: identities (`AGE-SECRET-KEY-1...`, `AGE-SECRET-KEY-PQ-1...`) and/or passphrases. */
export interface AgeIdentity {
  identities: string[];
  passphrases: string[];
  /** where it came from, for messages: a file path or an env var name (never the secret) */
  source: string;
}

const KEYGEN_HINT = 'Make one with `age-keygen -o key.txt` (its recipient, for encrypting, is printed and is in the file; `age-keygen -y key.txt` prints it again).';

/** Checks one recipient string; returns an error message (no secret in it) or null when valid. */
export function recipientProblem(s: string): string | null {
  if (s.toUpperCase().startsWith('AGE-SECRET-KEY-')) return 'is an age secret key, not a recipient: give its public recipient (age-keygen -y FILE prints it)';
  if (s.startsWith('age1tag')) return 'is a hardware-key (tag) recipient: only X25519 (age1...) and hybrid (age1pq1...) recipients can be decrypted here';
  if (!s.startsWith('age1')) return 'is not an age recipient (age1... or age1pq1...)';
  try {
    // The library's recipient constructor bech32-decodes the string and checks the key's length.
    new Encrypter().addRecipient(s);
    return null;
  } catch {
    return 'is not a valid age recipient (bad bech32 encoding, checksum or key length)';
  }
}

/** Throws USAGE unless `to` is a passphrase alone or one or more valid recipients (as age requires). */
export function assertRecipients(to: AgeRecipients): void {
  const hasPassphrase = to.passphrase !== undefined;
  if (hasPassphrase && to.recipients.length > 0) throw new BriError(ErrorCodes.USAGE, 'age encrypts to recipients or to a passphrase, not both', { hint: 'Keep the recipients, or the passphrase.' });
  if (!hasPassphrase && to.recipients.length === 0) throw new BriError(ErrorCodes.USAGE, 'no age recipient to encrypt to', { hint: `Give at least one recipient (age1...), or a passphrase. ${KEYGEN_HINT}` });
  if (hasPassphrase && to.passphrase === '') throw new BriError(ErrorCodes.USAGE, 'the age passphrase is empty', { hint: 'Use a long random passphrase.' });
  to.recipients.forEach((r, i) => {
    const problem = recipientProblem(r);
    // A recipient is public, but it may be a secret key given by mistake: name its position only.
    if (problem !== null) throw new BriError(ErrorCodes.USAGE, `age recipient ${i + 1} ${problem}`, { details: { index: i } });
  });
}

/** Whether the library accepts `s` as an identity (bech32 decode, key length). */
function identityValid(s: string): boolean {
  try {
    new Decrypter().addIdentity(s);
    return true;
  } catch {
    return false;
  }
}

function usage(message: string, hint: string, source: string): BriError {
  return new BriError(ErrorCodes.USAGE, message, { hint, details: { source } });
}

/** Parses identity file text as age-keygen writes it: '#' comment lines and blank lines skipped, one identity per line. */
export function parseIdentityText(text: string, source: string): AgeIdentity {
  const identities: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('age-encryption.org/') || line.startsWith('-----BEGIN AGE ENCRYPTED FILE')) {
      throw usage(`${source} is an encrypted (passphrase-protected) identity file`, 'Decrypt it first (age -d -o key.txt FILE) and pass the plain identity file.', source);
    }
    if (line.startsWith('AGE-PLUGIN-')) throw usage(`${source}, line ${i + 1}: age plugin identities are not supported`, KEYGEN_HINT, source);
    // An unreadable line is an error, not skipped: a damaged key file must not pass as a good one.
    if (!identityValid(line)) throw usage(`${source}, line ${i + 1}: not a valid age identity (AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1...)`, KEYGEN_HINT, source);
    identities.push(line);
  }
  if (identities.length === 0) throw usage(`${source} holds no age identity`, KEYGEN_HINT, source);
  return { identities, passphrases: [], source };
}

async function readIdentityFile(path: string, via: string): Promise<AgeIdentity> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    throw new BriError(ErrorCodes.USAGE, `cannot read the age identity file ${path}${via}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      hint: ioHint(err) ?? KEYGEN_HINT,
      details: { path },
      cause: err,
    });
  }
  return parseIdentityText(text, path);
}

/** The identity in `value`: its text when it holds one (named by `source` only), else the file at that path. */
async function identityFromValue(value: string, source: string, via: string): Promise<AgeIdentity> {
  return isIdentityText(value) ? parseIdentityText(value, source) : readIdentityFile(value, via);
}

/**
 * The identity for decrypting: `identityFile` if given, else $BRI_AGE_IDENTITY (each a path to an
 * identity file, or an identity file's text itself: a key, or comments then keys), plus
 * $BRI_AGE_PASSPHRASE as a passphrase; null when none of them is set. An error names where the
 * identity came from, never the key.
 */
export async function loadIdentity(opts: { identityFile?: string; env?: NodeJS.ProcessEnv } = {}): Promise<AgeIdentity | null> {
  const env = opts.env ?? process.env;
  const fromEnv = env.BRI_AGE_IDENTITY?.trim();
  let id: AgeIdentity | null = null;
  if (opts.identityFile !== undefined) id = await identityFromValue(opts.identityFile, 'the identity given', '');
  else if (fromEnv !== undefined && fromEnv !== '') id = await identityFromValue(fromEnv, 'BRI_AGE_IDENTITY', ' (BRI_AGE_IDENTITY)');
  const passphrase = env.BRI_AGE_PASSPHRASE;
  if (passphrase === undefined || passphrase === '') return id;
  if (id === null) return { identities: [], passphrases: [passphrase], source: 'BRI_AGE_PASSPHRASE' };
  return { ...id, passphrases: [...id.passphrases, passphrase], source: `${id.source} and BRI_AGE_PASSPHRASE` };
}

/** Public recipients of identities (for messages and tests): identityToRecipient from the library. */
export async function identityRecipients(id: AgeIdentity): Promise<string[]> {
  return Promise.all(id.identities.map((s) => identityToRecipient(s)));
}

/* ---- shared by age-stream and age-rekey ---- */

/** The error for an encrypted member read without any identity (one wording everywhere: errors.ts). */
export { identityMissing as identityMissingError } from './errors.js';

/** What the library did with a header, seen through two probe identities (so no error message is parsed). */
export interface HeaderTrace {
  /** The header parsed: the first probe saw its stanzas. */
  parsed: boolean;
  /** Every real identity returned null: the last probe was reached. */
  unmatched: boolean;
  stanzaTypes: string[];
}

/**
 * A Decrypter for `id`, with a probe identity before the real ones (called once the header has
 * parsed) and one after them (reached only when none matched). The library tries identities in
 * order and stops at the first that returns a key (Decrypter.unwrapFileKey in 0.3.x), so the trace
 * tells a damaged header, a header for other recipients and a bad MAC apart without reading the
 * library's error messages. The MAC and wrong-key tests pin that order on a library upgrade.
 */
export function tracedDecrypter(id: AgeIdentity, member: string): { decrypter: Decrypter; trace: HeaderTrace } {
  const trace: HeaderTrace = { parsed: false, unmatched: false, stanzaTypes: [] };
  const d = new Decrypter();
  const first: Identity = {
    unwrapFileKey(stanzas: Stanza[]) {
      trace.parsed = true;
      trace.stanzaTypes = stanzas.map((s) => s.args[0] ?? '');
      return null;
    },
  };
  d.addIdentity(first);
  id.identities.forEach((s, i) => {
    try {
      d.addIdentity(s);
    } catch {
      throw usage(`identity ${i + 1} from ${id.source} is not a valid age identity (reading ${member})`, KEYGEN_HINT, id.source);
    }
  });
  for (const p of id.passphrases) d.addPassphrase(p);
  const last: Identity = {
    unwrapFileKey() {
      trace.unmatched = true;
      return null;
    },
  };
  d.addIdentity(last);
  return { decrypter: d, trace };
}

const REPAIR_HINT = 'Verify and repair the archive (`bri archive verify`, `bri archive repair`), or use another copy.';

/** ARCHIVE_CORRUPTED for `member`, with the repair hint. */
export function corrupted(member: string, what: string, cause?: unknown, extra: Record<string, unknown> = {}): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${member}: ${what}`, { hint: REPAIR_HINT, details: { member, ...extra }, cause });
}

/** The BriError for a failed header step (Decrypter.decrypt or decryptHeader), from the trace. */
export function headerError(err: unknown, trace: HeaderTrace, id: AgeIdentity, member: string, looksLikeAge: boolean): BriError {
  if (err instanceof BriError) return err;
  if (!trace.parsed) {
    return looksLikeAge ? corrupted(member, 'its age header is malformed or truncated', err) : corrupted(member, 'is not an age-encrypted file (no age header)', err);
  }
  if (trace.unmatched) {
    const types = [...new Set(trace.stanzaTypes)].join(', ') || 'none';
    const hint = trace.stanzaTypes.includes('scrypt')
      ? `This archive was encrypted with a passphrase: set BRI_AGE_PASSPHRASE to it${id.passphrases.length > 0 ? ' (the one given is not it)' : ''}.`
      : 'This archive was encrypted for other recipients: pass an identity (--identity FILE or BRI_AGE_IDENTITY) whose recipient it was encrypted to. ' +
        'If the identity is right, the header may be damaged: verify the archive (`bri archive verify`).';
    return new BriError(ErrorCodes.DECRYPTION_FAILED, `${member}: no identity from ${id.source} can decrypt it (its ${trace.stanzaTypes.length} recipient stanza(s): ${types})`, {
      hint,
      details: { member, source: id.source, stanzaTypes: trace.stanzaTypes },
      cause: err,
    });
  }
  // An identity matched, yet the header step failed: its MAC does not verify (or a stanza of the
  // matching type is malformed). Either way the header bytes are damaged.
  return corrupted(member, 'its age header is damaged (the header MAC does not verify)', err);
}
