/** Keys, prefixes and metadata: validated in one place for every provider. */
import { BriError, ErrorCodes } from '../errors.js';
import { setField } from '../format/jss.js';
import type { ProviderName } from './remote.js';

/** Longest key, in UTF-8 bytes, prefix included (S3's and GCS's limit; see NAME_LIMITS for each provider's). */
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

/** A store's provider and normalised prefix: what a key's full name is checked against. */
export interface StoreNames {
  provider: ProviderName;
  prefix: string;
  /** A local store's root directory. */
  root?: string;
}

/**
 * Checks an object key (relative to the store's prefix): non-empty,
 * `/`-separated, no empty, `.` or `..` segment, no leading or trailing `/`,
 * no backslash or control character, at most MAX_KEY_BYTES; with `store`,
 * the prefix and the key together within the provider's NAME_LIMITS. Throws USAGE.
 */
export function validateKey(key: string, store?: StoreNames): string {
  if (typeof key !== 'string' || key === '') throw usage('an object key must be a non-empty string');
  checkSegments(key, 'key');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw usage(`key is longer than ${MAX_KEY_BYTES} bytes`, { key: key.slice(0, 64) });
  const problem = store === undefined ? null : nameProblem(store.provider, store.prefix, key, store.root);
  if (problem !== null) throw usage(`key ${JSON.stringify(key.slice(0, 64))}: ${problem.message}`, { key: key.slice(0, 64), limit: problem.limit });
  return key;
}

/**
 * The longest key bri writes below a store's prefix, in UTF-8 bytes: `archives/<archive id, up to 128>.bri` (141,
 * archive/copies/sources.ts); `shipped/<instance id, up to 64>/<16 digits>-<16 digits>.wal.zst.age` is 118
 * (archive/shipping/shipment.ts). A prefix is accepted only if this fits below it: a prefix that fits no archive
 * would fail every upload, and the tool would say "the next create tries again" for ever.
 */
export const LONGEST_BRI_KEY_BYTES = 141;
/** The most '/'-separated parts of a key bri writes (`shipped/<instance>/<lines>`). */
export const MOST_BRI_KEY_SEGMENTS = 3;
/** The local provider's sidecar (`.<name>` + this) and temp files (`<file>` + this + 12 hex digits). */
export const LOCAL_SIDECAR_SUFFIX = '.bri-meta.json';
export const LOCAL_TEMP_MARK = '.bri-tmp-';
/** The most the local provider adds to a key's last part on disk: a sidecar's temp file, `.<name>.bri-meta.json.bri-tmp-<12 hex>`. */
export const LOCAL_NAME_OVERHEAD_BYTES = 1 + LOCAL_SIDECAR_SUFFIX.length + LOCAL_TEMP_MARK.length + 12;
/**
 * What the local provider's first put leaves in the store's directory, on the disk it writes to: the directory of a disk not
 * mounted (a NAS's mount point) lacks it, or holds one made after the copies this machine confirmed there (archive/copies/catalog.ts).
 */
export const LOCAL_REMOTE_MARKER = '.bri-remote.json';
/**
 * A temp file of the local provider untouched for this long is a dead put's (killed mid-write: nothing renames
 * or removes it). A live put writes its temp file without pause and renames it moments later.
 */
export const STALE_TEMP_MS = 15 * 60_000;

/** A name the local provider keeps for itself (sidecars, temp files, the store's marker): never an object's. */
export function isLocalInternalName(name: string): boolean {
  return name.startsWith('.') && (name.endsWith(LOCAL_SIDECAR_SUFFIX) || name.includes(LOCAL_TEMP_MARK) || name === LOCAL_REMOTE_MARKER);
}

/**
 * What each provider takes as an object's full name (prefix + key). S3: keys up to 1024 bytes of UTF-8; GCS: object
 * names up to 1024 bytes, none under `.well-known/acme-challenge/`; Azure: blob names up to 1024 characters and 254
 * '/'-separated segments; local: file names up to 255 bytes (NAME_MAX of ext4, XFS, btrfs, APFS) and paths up to
 * PATH_MAX (4096 bytes on Linux, 1024 on macOS, the final NUL included).
 */
export const NAME_LIMITS = {
  s3: { max: 1024, unit: 'bytes', what: "S3's longest object key" },
  gcs: { max: 1024, unit: 'bytes', what: "GCS's longest object name", reservedStart: '.well-known/acme-challenge/' },
  azure: { max: 1024, unit: 'characters', what: "Azure's longest blob name", segments: 254 },
  local: { nameMax: 255, pathMax: (process.platform === 'darwin' ? 1024 : 4096) - 1 },
} as const;

export interface NameProblem {
  /** The setting at fault: `prefix`, or a local store's `path`. */
  key: 'prefix' | 'path';
  message: string;
  limit: number;
  /** The whole name is too long (not one of its parts). */
  whole?: true;
  /** What to change in the configuration. */
  fix: string;
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function longPart(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Why `prefix` + `key` cannot be an object's name in the provider, or null. `root` (local stores): the directory
 * the prefix is under, whose own parts are checked too (named `path`).
 */
export function nameProblem(provider: ProviderName, prefix: string, key: string, root?: string): NameProblem | null {
  const name = prefix + key;
  if (provider === 'local') {
    const { nameMax, pathMax } = NAME_LIMITS.local;
    const parts: Array<['path' | 'prefix', string]> = [
      ...(root ?? '').split(/[\/]/).map((p): ['path', string] => ['path', p]),
      ...prefix.split('/').map((p): ['prefix', string] => ['prefix', p]),
    ];
    for (const [where, part] of parts) {
      if (bytes(part) > nameMax) return { key: where, limit: nameMax, fix: `Shorten that part of the ${where} to at most ${nameMax} bytes.`, message: `the ${where}'s part ${longPart(part)} is ${bytes(part)} bytes; a file or directory name is at most ${nameMax} bytes (NAME_MAX)` };
    }
    const segments = key.split('/');
    const last = segments.pop()!;
    for (const part of segments) if (bytes(part) > nameMax) return { key: 'prefix', limit: nameMax, fix: 'Use shorter keys.', message: `the key's part ${longPart(part)} is ${bytes(part)} bytes; a directory name is at most ${nameMax} bytes (NAME_MAX)` };
    if (bytes(last) + LOCAL_NAME_OVERHEAD_BYTES > nameMax) {
      return { key: 'prefix', limit: nameMax - LOCAL_NAME_OVERHEAD_BYTES, fix: 'Use shorter keys.', message: `the key's last part is ${bytes(last)} bytes; a local store takes at most ${nameMax - LOCAL_NAME_OVERHEAD_BYTES} (NAME_MAX ${nameMax}, less its sidecar's ${LOCAL_NAME_OVERHEAD_BYTES})` };
    }
    const total = bytes(root ?? '') + 1 + bytes(name) + LOCAL_NAME_OVERHEAD_BYTES;
    if (total > pathMax) {
      // The prefix as configured has no final '/': one byte less than its normalised form.
      const budget = prefix === '' ? pathMax - (total - bytes(root ?? '')) : pathMax - (total - bytes(prefix)) - 1;
      return { key: prefix === '' ? 'path' : 'prefix', limit: pathMax, whole: true, fix: `Give a ${prefix === '' ? 'path' : 'prefix'} of at most ${Math.max(0, budget)} bytes.`, message: `its files' paths would be up to ${total} bytes; a path is at most ${pathMax} bytes (PATH_MAX)` };
    }
    return null;
  }
  const limit = NAME_LIMITS[provider];
  const size = limit.unit === 'bytes' ? bytes(name) : name.length;
  if (size > limit.max) return { key: 'prefix', limit: limit.max, whole: true, fix: `Give a prefix of at most ${Math.max(0, limit.max - (size - (limit.unit === 'bytes' ? bytes(prefix) : prefix.length)) - 1)} ${limit.unit}.`, message: `the object name would be ${size} ${limit.unit}; ${limit.what} is ${limit.max} ${limit.unit}` };
  if ('segments' in limit && name.split('/').length > limit.segments) {
    return { key: 'prefix', limit: limit.segments, fix: `Give a prefix of at most ${limit.segments - (name.split('/').length - (prefix.split('/').length - 1))} '/'-separated parts.`, message: `the object name would have ${name.split('/').length} '/'-separated parts; Azure takes at most ${limit.segments}` };
  }
  if ('reservedStart' in limit && name.startsWith(limit.reservedStart)) {
    return { key: 'prefix', limit: 0, fix: `Give a prefix that does not start with ${limit.reservedStart}`, message: `GCS refuses object names starting with ${limit.reservedStart}` };
  }
  return null;
}

/**
 * A store's normalised prefix (normalizeStorePrefix), refused (USAGE, `details.key` the setting at fault) when the
 * longest key bri writes would not fit below it in the provider: every upload would fail.
 */
export function storeNames(provider: ProviderName, prefix: string | undefined, root?: string): StoreNames {
  const normalized = normalizeStorePrefix(prefix);
  const longest = ['archives', 'k'.repeat(LONGEST_BRI_KEY_BYTES - 'archives/'.length)].join('/');
  const deepest = [...Array<string>(MOST_BRI_KEY_SEGMENTS - 1).fill('d'), 'k'].join('/');
  // The longest key for the length limits, the deepest for Azure's count of parts.
  const [long, deep] = [nameProblem(provider, normalized, longest, root), nameProblem(provider, normalized, deepest, root)];
  const problem = long?.whole ? long : (deep ?? long);
  if (problem !== null) {
    const why = problem.whole ? `with the longest key bri writes below it (${LONGEST_BRI_KEY_BYTES} bytes, an archive's), ${problem.message}` : problem.message;
    throw new BriError(ErrorCodes.USAGE, `${why}: no archive could be uploaded`, { hint: problem.fix, details: { key: problem.key, limit: problem.limit } });
  }
  return { provider, prefix: normalized, ...(root !== undefined ? { root } : {}) };
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
