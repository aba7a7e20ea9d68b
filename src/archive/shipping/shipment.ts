/**
 * A shipment: the WAL lines written since the previous one, as one small
 * immutable object next to the archives,
 * `<prefix>/shipped/<instanceId>/<firstLine>-<lastLine>.wal.zst` (absolute
 * line numbers, zero-padded so that names sort by line). Its body is zstd of
 * a one-line JSON header (lines, pointers, times, SHA-256 of the lines) and
 * the lines byte for byte, so `zstd -d` gives a file a person can read and
 * the header alone tells where it belongs in the chain. The same facts are
 * in the object's metadata. Never trusted on read: the header must agree
 * with the name, the lines with the header, and the pointers with the chain.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { AgeIdentity, AgeRecipients } from '../crypto/age-keys.js';
import { decryptChunks } from '../crypto/age-stream.js';
import { compressSealed } from '../create/encrypt-member.js';
import { parseWalLine } from '../../format/wal-line.js';
import { INSTANCE_ID_PATTERN, isValidInstanceId } from '../../format/manifest.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { compressToFile, decompressChunks } from '../package/compress.js';

export const SHIPPED_PREFIX = 'shipped/';
/** Largest body a shipment may decompress to (the shipper cuts far smaller ones). */
export const MAX_SHIPMENT_BYTES = 64 * 1024 * 1024;
const LINE_DIGITS = 16;
const NAME_RE = new RegExp(`^shipped/(${INSTANCE_ID_PATTERN})/(\\d{16})-(\\d{16})\\.wal\\.zst(\\.age)?$`);

export interface ShipmentHeader {
  v: 1;
  instanceId: string;
  /** Absolute numbers of the first and last line (inclusive). */
  firstLine: number;
  lastLine: number;
  /** Pointer of the line before the first: the chain this shipment continues. */
  prevPointer: string;
  firstPointer: string;
  lastPointer: string;
  firstTimestamp: number;
  lastTimestamp: number;
  /** SHA-256 of the lines as shipped (each followed by a newline). */
  linesSha256: string;
}

/** What a listing tells of a shipment from its name alone. */
export interface ShipmentRef {
  key: string;
  instanceId: string;
  firstLine: number;
  lastLine: number;
  size: number;
  /** An age file (`.wal.zst.age`): its body opens with an identity only. */
  encrypted: boolean;
}

function shippingError(message: string, details: Record<string, unknown> = {}): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, message, { hint: 'The shipped WAL object is damaged or not ours; the restore stops at the last good line before it.', details });
}

export function instancePrefix(instanceId: string): string {
  if (!isValidInstanceId(instanceId)) throw new BriError(ErrorCodes.USAGE, `"${instanceId}" is not an instance id`);
  return `${SHIPPED_PREFIX}${instanceId}/`;
}

export function shipmentKey(instanceId: string, firstLine: number, lastLine: number, encrypted = false): string {
  const pad = (n: number) => String(n).padStart(LINE_DIGITS, '0');
  return `${instancePrefix(instanceId)}${pad(firstLine)}-${pad(lastLine)}.wal.zst${encrypted ? '.age' : ''}`;
}

/** The prefix of every shipment of the instance that starts at `firstLine`. */
export function shipmentsFromPrefix(instanceId: string, firstLine: number): string {
  return `${instancePrefix(instanceId)}${String(firstLine).padStart(LINE_DIGITS, '0')}-`;
}

/** The shipment a key names, or null for any other object. */
export function parseShipmentKey(key: string, size: number): ShipmentRef | null {
  const m = NAME_RE.exec(key);
  if (!m) return null;
  const firstLine = Number(m[2]);
  const lastLine = Number(m[3]);
  if (!Number.isSafeInteger(firstLine) || !Number.isSafeInteger(lastLine) || firstLine < 1 || lastLine < firstLine) return null;
  return { key, instanceId: m[1]!, firstLine, lastLine, size, encrypted: m[4] !== undefined };
}

function shipmentText(header: ShipmentHeader, texts: readonly string[]): Buffer {
  return Buffer.from(JSON.stringify(header) + '\n' + texts.map((t) => t + '\n').join(''), 'utf8');
}

/**
 * The object body for lines `texts` (without newlines), zstd, written to `file`: compressed on the worker thread (a running database ships
 * from the writers' thread: zstd there was part of the write latency under shipping). Encrypted, zstd streams straight into age: the
 * lines never touch the disk in the clear (they were staged as a plaintext `<file>.zst` first, which a kill left in the archive dir).
 */
export async function encodeShipmentToFile(header: ShipmentHeader, texts: readonly string[], file: string, encryptTo?: AgeRecipients): Promise<{ size: number; sha256: string }> {
  const body = Readable.from([shipmentText(header, texts)]);
  // A temporary file, read once by the upload: no fsync.
  if (!encryptTo) {
    const r = await compressToFile(body, file, { level: 3, durable: false });
    return { size: r.compressedSize, sha256: r.sha256 };
  }
  await sweepPlainShipmentTmps(path.dirname(file));
  const r = await compressSealed(body, file, 3, 0, encryptTo);
  return { size: r.compressedSize, sha256: r.sha256 };
}

/** What an older version staged an encrypted shipment's plaintext as (`<n>-<m>-<rand>.wal.zst` + `.zst`); nothing writes one any more. */
const LEGACY_PLAIN_SUFFIX = '.wal.zst.zst';
const swept = new Set<string>();

/**
 * Removes, once per process, the plaintext shipments a kill of an older version left in every instance's shipping
 * directory beside `dir` (`<archiveDir>/.tmp/shipping-<instance>/`): WAL lines in the clear next to encrypted archives.
 */
async function sweepPlainShipmentTmps(dir: string): Promise<void> {
  const root = path.dirname(dir);
  if (swept.has(root)) return;
  swept.add(root);
  const dirs = (await fsp.readdir(root).catch(() => [] as string[])).filter((n) => n.startsWith('shipping-')).map((n) => path.join(root, n));
  for (const d of dirs) {
    for (const n of await fsp.readdir(d).catch(() => [] as string[])) if (n.endsWith(LEGACY_PLAIN_SUFFIX)) await fsp.rm(path.join(d, n), { force: true });
  }
}

export function linesDigest(texts: readonly string[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(t + '\n');
  return h.digest('hex');
}

/** The metadata field of an encrypted shipment's recipients mark (crypto/age-keys.ts recipientsMark). */
export const RECIPIENTS_MARK = 'age_recipients_sha256';

/** Metadata for the object: the header's facts, for listings that do not open it (and, encrypted, the mark of its recipients). */
export function shipmentMetadata(h: ShipmentHeader, recipients?: string): Record<string, string> {
  return {
    ...(recipients !== undefined ? { [RECIPIENTS_MARK]: recipients } : {}),
    instance_id: h.instanceId,
    first_line: String(h.firstLine),
    last_line: String(h.lastLine),
    prev_pointer: h.prevPointer,
    first_pointer: h.firstPointer,
    last_pointer: h.lastPointer,
    first_timestamp: String(h.firstTimestamp),
    last_timestamp: String(h.lastTimestamp),
    lines_sha256: h.linesSha256,
  };
}

export interface DecodedShipment {
  header: ShipmentHeader;
  lines: string[];
}

/**
 * Reads a shipment body and checks it against its name, its header and the chain: the header's
 * lines must be the name's, the lines must hash to the header's digest, parse, chain from
 * prevPointer, and end at lastPointer. Throws ARCHIVE_CORRUPTED saying what is wrong.
 */
export async function decodeShipment(body: AsyncIterable<Buffer> | Buffer, ref: ShipmentRef, key?: EncryptionKey, age?: AgeIdentity | null): Promise<DecodedShipment> {
  const stored = Buffer.isBuffer(body) ? Readable.from([body]) : body;
  const source = ref.encrypted ? decryptChunks(stored, age ?? null, ref.key) : stored;
  const parts: Buffer[] = [];
  try {
    for await (const c of decompressChunks(source, ref.key, MAX_SHIPMENT_BYTES)) parts.push(c);
  } catch (err) {
    if (isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING) || isBriError(err, ErrorCodes.DECRYPTION_FAILED)) throw err;
    // (The decompressor's message already names the object.)
    const message = (err as Error).message;
    throw shippingError(message.startsWith(`${ref.key}:`) ? message : `${ref.key}: ${message}`, { key: ref.key });
  }
  const text = Buffer.concat(parts).toString('utf8');
  const nl = text.indexOf('\n');
  let header: ShipmentHeader;
  try {
    header = JSON.parse(text.slice(0, nl)) as ShipmentHeader;
  } catch {
    throw shippingError(`${ref.key}: the header is not JSON`, { key: ref.key });
  }
  if (header.v !== 1 || header.instanceId !== ref.instanceId || header.firstLine !== ref.firstLine || header.lastLine !== ref.lastLine) {
    throw shippingError(`${ref.key}: the header does not match the object's name`, { key: ref.key });
  }
  const lines = text.slice(nl + 1).split('\n');
  if (lines.pop() !== '') throw shippingError(`${ref.key}: the last line is torn`, { key: ref.key });
  if (lines.length !== ref.lastLine - ref.firstLine + 1) throw shippingError(`${ref.key}: holds ${lines.length} lines, its name says ${ref.lastLine - ref.firstLine + 1}`, { key: ref.key });
  if (linesDigest(lines) !== header.linesSha256) throw shippingError(`${ref.key}: the lines do not match their SHA-256`, { key: ref.key });
  const verifier = new ChainVerifier(header.prevPointer, key);
  for (const [i, t] of lines.entries()) {
    const line = { lineNo: ref.firstLine + i, segment: ref.key, segmentLine: i + 1, offset: 0, text: t, terminated: true };
    if (!verifier.push(line) || parseWalLine(t) === null) throw shippingError(`${ref.key}: line ${ref.firstLine + i} breaks the chain`, { key: ref.key, line: ref.firstLine + i });
  }
  if (verifier.state.lastPointer !== header.lastPointer) throw shippingError(`${ref.key}: ends at pointer ${verifier.state.lastPointer}, the header says ${header.lastPointer}`, { key: ref.key });
  return { header, lines };
}
