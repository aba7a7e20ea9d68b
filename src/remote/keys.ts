/** Keys, prefixes and metadata: validated in one place for every provider. */
import { BriError, ErrorCodes } from '../errors.js';
import { setField } from '../format/jss.js';

/** Longest key, in UTF-8 bytes, prefix included (S3's and GCS's limit). */
export const MAX_KEY_BYTES = 1024;
/** Largest user metadata, keys plus values, in bytes (S3's limit for user metadata). */
export const MAX_METADATA_BYTES = 2048;
/** Metadata keys starting with this are ours. */
export const RESERVED_METADATA_PREFIX = 'bri_';
/** Where providers without a native SHA-256 record the confirmed SHA-256 of an object. */
export const SHA256_METADATA_KEY = 'bri_sha256';

const METADATA_KEY_RE = /^[a-z][a-z0-9_]*$/;
const METADATA_VALUE_RE = /^[\x20-\x7e]*$/;
const HEX_SHA256_RE = /^[0-9a-f]{64}$/;
const HEX_MD5_RE = /^[0-9a-f]{32}$/;

function usage(message: string, details: Record<string, unknown> = {}): BriError {
  return new BriError(ErrorCodes.USAGE, message, { details });
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function checkSegments(text: string, what: string): void {
  if (CONTROL_RE.test(text)) throw usage(`${what} ${JSON.stringify(text)} contains a control character`, { key: text });
  if (text.startsWith('/')) throw usage(`${what} ${JSON.stringify(text)} starts with '/'`, { key: text });
  if (text.includes('\\')) throw usage(`${what} ${JSON.stringify(text)} contains '\\'`, { key: text });
  for (const segment of text.split('/')) {
    if (segment === '') throw usage(`${what} ${JSON.stringify(text)} has an empty segment`, { key: text });
    if (segment === '.' || segment === '..') throw usage(`${what} ${JSON.stringify(text)} has a '${segment}' segment`, { key: text });
  }
}

/**
 * Checks an object key (relative to the store's prefix): non-empty,
 * `/`-separated, no empty, `.` or `..` segment, no leading or trailing `/`,
 * no backslash or control character, at most MAX_KEY_BYTES. Throws USAGE.
 */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key === '') throw usage('an object key must be a non-empty string');
  checkSegments(key, 'key');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw usage(`key is longer than ${MAX_KEY_BYTES} bytes`, { key: key.slice(0, 64) });
  return key;
}

/**
 * Checks a listing prefix (relative to the store's prefix): '' lists
 * everything; otherwise the same rules as a key, except that it may end with
 * '/' and its last segment may be partial ("archives/2024-").
 */
export function validateListPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw usage('a list prefix must be a string');
  if (prefix === '') return prefix;
  checkSegments(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'list prefix');
  return prefix;
}

/**
 * Normalises a store's configured prefix: '' or segments joined by '/' and
 * ending with '/'. Leading/trailing slashes are tolerated in configuration and
 * removed. Throws USAGE for '..', empty inner segments or control characters.
 */
export function normalizeStorePrefix(prefix: string | undefined): string {
  if (prefix === undefined) return '';
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  checkSegments(trimmed, 'prefix');
  return `${trimmed}/`;
}

/** Compares keys in UTF-8 byte order, the order S3, GCS and Azure list in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Checks user metadata (see PutOptions.metadata). Throws USAGE. */
export function validateMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  if (metadata === undefined) return {};
  let bytes = 0;
  for (const [k, v] of Object.entries(metadata)) {
    if (!METADATA_KEY_RE.test(k)) throw usage(`metadata key ${JSON.stringify(k)} must match [a-z][a-z0-9_]*`, { metadataKey: k });
    if (k.startsWith(RESERVED_METADATA_PREFIX)) throw usage(`metadata key ${JSON.stringify(k)} uses the reserved prefix '${RESERVED_METADATA_PREFIX}'`, { metadataKey: k });
    if (typeof v !== 'string' || !METADATA_VALUE_RE.test(v)) throw usage(`metadata value of ${JSON.stringify(k)} must be printable ASCII`, { metadataKey: k });
    bytes += k.length + v.length;
  }
  if (bytes > MAX_METADATA_BYTES) throw usage(`metadata is ${bytes} bytes; at most ${MAX_METADATA_BYTES}`);
  return { ...metadata };
}

/** Splits stored metadata into the user's part and ours. */
export function splitMetadata(stored: Record<string, string> | undefined): { user: Record<string, string>; sha256?: string } {
  const user: Record<string, string> = {};
  let sha256: string | undefined;
  for (const [k0, v] of Object.entries(stored ?? {})) {
    const k = k0.toLowerCase();
    if (k === SHA256_METADATA_KEY) sha256 = HEX_SHA256_RE.test(v) ? v : undefined;
    else if (!k.startsWith(RESERVED_METADATA_PREFIX)) setField(user, k, v);
  }
  return sha256 === undefined ? { user } : { user, sha256 };
}

/** Checks the numbers and digests of PutOptions. Throws USAGE. */
export function validatePutOptions(opts: { size: number; sha256: string; md5?: string | undefined }): void {
  if (!Number.isSafeInteger(opts.size) || opts.size < 0) throw usage(`size must be a non-negative integer, got ${String(opts.size)}`);
  if (typeof opts.sha256 !== 'string' || !HEX_SHA256_RE.test(opts.sha256)) throw usage('sha256 must be 64 lowercase hex digits');
  if (opts.md5 !== undefined && !HEX_MD5_RE.test(opts.md5)) throw usage('md5 must be 32 lowercase hex digits');
}

/** Checks a byte range. Throws USAGE. */
export function validateRange(range: { start: number; end: number } | undefined): void {
  if (range === undefined) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw usage(`range start must be a non-negative integer, got ${String(start)}`);
  if (!Number.isSafeInteger(end) || end < start) throw usage(`range end must be an integer >= start, got ${String(end)}`);
}

/** Key relative to the store's prefix -> full object name. */
export function fullKey(storePrefix: string, key: string): string {
  return storePrefix + key;
}

/** Full object name -> key relative to the store's prefix (names outside the prefix are returned unchanged). */
export function relativeKey(storePrefix: string, name: string): string {
  return name.startsWith(storePrefix) ? name.slice(storePrefix.length) : name;
}

/** Checks a lifecycle rule: whole days >= 1, expiration after transition. Throws USAGE. */
export function validateLifecycleRule(rule: { transitionAfterDays?: number | undefined; expireAfterDays?: number | undefined }): void {
  for (const name of ['transitionAfterDays', 'expireAfterDays'] as const) {
    const v = rule[name];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw usage(`${name} must be a whole number of days >= 1, got ${String(v)}`);
  }
  if (rule.transitionAfterDays !== undefined && rule.expireAfterDays !== undefined && rule.expireAfterDays <= rule.transitionAfterDays) {
    throw usage(`expireAfterDays (${rule.expireAfterDays}) must be later than transitionAfterDays (${rule.transitionAfterDays})`);
  }
}
