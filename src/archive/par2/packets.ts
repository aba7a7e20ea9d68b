/**
 * PAR 2.0 packet codec: bytes in, values out, no I/O.
 *
 * Every packet is a 64-byte header followed by a body whose length is a
 * multiple of 4 (all integers little-endian):
 *
 *   0  magic "PAR2\0PKT"            8
 *   8  packet length, header incl.  8   (u64)
 *  16  MD5 of bytes 32..end         16
 *  32  recovery set id              16  (MD5 of the main packet's body)
 *  48  packet type                  16
 *
 * Bodies:
 *   Main      slice size u64, file count u32 (recovery set), file ids of the
 *             recovery set (sorted), then file ids of the non-recovery set
 *   FileDesc  file id, MD5 of file, MD5 of its first 16 KiB, length u64,
 *             name (bytes, NUL-padded to a multiple of 4)
 *   IFSC      file id, then per slice: MD5 (16) and CRC32 (4) of the slice,
 *             the last slice zero-padded to the slice size
 *   RecvSlic  exponent u32, then the recovery data (slice size bytes)
 *   Creator   client name, NUL-padded to a multiple of 4
 *
 * File id = MD5(MD5 of first 16 KiB ‖ length u64 ‖ name bytes).
 */

import { createHash, type Hash } from 'node:crypto';

export const PACKET_MAGIC = Buffer.from('PAR2\0PKT', 'latin1');
export const PACKET_HEADER_BYTES = 64;
/** Bytes of an IFSC entry: MD5 then CRC32. */
export const IFSC_ENTRY_BYTES = 20;
/** Bytes of data hashed for a file description's "16k" MD5. */
export const MD5_16K_BYTES = 16384;
/** Recovery packet bytes before its data: header plus exponent. */
export const RECOVERY_DATA_OFFSET = PACKET_HEADER_BYTES + 4;

const type16 = (s: string): Buffer => {
  const b = Buffer.alloc(16);
  b.write(s, 'latin1');
  return b;
};

export const PacketType = {
  MAIN: type16('PAR 2.0\0Main'),
  FILE_DESC: type16('PAR 2.0\0FileDesc'),
  IFSC: type16('PAR 2.0\0IFSC'),
  RECOVERY: type16('PAR 2.0\0RecvSlic'),
  CREATOR: type16('PAR 2.0\0Creator'),
} as const;

export type PacketKind = 'main' | 'fileDesc' | 'ifsc' | 'recovery' | 'creator' | 'unknown';

export function packetKind(type: Uint8Array): PacketKind {
  const t = Buffer.from(type.buffer, type.byteOffset, 16);
  if (t.equals(PacketType.MAIN)) return 'main';
  if (t.equals(PacketType.FILE_DESC)) return 'fileDesc';
  if (t.equals(PacketType.IFSC)) return 'ifsc';
  if (t.equals(PacketType.RECOVERY)) return 'recovery';
  if (t.equals(PacketType.CREATOR)) return 'creator';
  return 'unknown';
}

export interface PacketHeader {
  /** Whole packet, header included. */
  length: number;
  md5: Buffer;
  setId: Buffer;
  type: Buffer;
}

export const md5 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** Pads with NULs to a multiple of 4, as every PAR 2.0 body must be. */
function pad4(b: Buffer): Buffer {
  const rem = b.length % 4;
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - rem)]);
}

/**
 * Decodes the fixed header at `offset`. Returns undefined unless the magic
 * is there and the length is plausible (≥ 64 and a multiple of 4). The MD5
 * is not checked here: the body may not be in memory.
 */
export function decodeHeader(buf: Uint8Array, offset = 0): PacketHeader | undefined {
  if (offset + PACKET_HEADER_BYTES > buf.length) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset + offset, PACKET_HEADER_BYTES);
  if (!b.subarray(0, 8).equals(PACKET_MAGIC)) return undefined;
  const big = b.readBigUInt64LE(8);
  if (big < BigInt(PACKET_HEADER_BYTES) || big % 4n !== 0n || big > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    length: Number(big),
    md5: Buffer.from(b.subarray(16, 32)),
    setId: Buffer.from(b.subarray(32, 48)),
    type: Buffer.from(b.subarray(48, 64)),
  };
}

/** A packet's 64-byte header, given the MD5 of its bytes 32..end. */
export function encodeHeader(setId: Uint8Array, type: Uint8Array, length: number, packetMd5: Uint8Array): Buffer {
  return Buffer.concat([PACKET_MAGIC, u64(length), packetMd5, setId, type]);
}

/** Starts the MD5 of a packet (set id and type come first); feed the body, then digest. */
export function startPacketHash(setId: Uint8Array, type: Uint8Array): Hash {
  return createHash('md5').update(setId).update(type);
}

/** Builds a whole packet (header + body) from a body that is in memory. */
export function encodePacket(setId: Uint8Array, type: Uint8Array, body: Buffer): Buffer {
  const padded = pad4(body);
  const hash = startPacketHash(setId, type).update(padded).digest();
  return Buffer.concat([encodeHeader(setId, type, PACKET_HEADER_BYTES + padded.length, hash), padded]);
}

// ---- Main ----

export interface MainPacket {
  sliceSize: number;
  /** Ids of files protected by recovery data, in the order their slices are numbered. */
  recoveryFileIds: Buffer[];
  nonRecoveryFileIds: Buffer[];
}

/** The main body. Recovery file ids are sorted, since the spec numbers slices in that order. */
export function encodeMainBody(main: MainPacket): Buffer {
  const ids = [...main.recoveryFileIds].sort(Buffer.compare);
  return Buffer.concat([u64(main.sliceSize), u32(ids.length), ...ids, ...main.nonRecoveryFileIds]);
}

export function decodeMainBody(body: Buffer): MainPacket | undefined {
  if (body.length < 12 || (body.length - 12) % 16 !== 0) return undefined;
  const sliceSize = body.readBigUInt64LE(0);
  const count = body.readUInt32LE(8);
  const total = (body.length - 12) / 16;
  if (sliceSize === 0n || sliceSize % 4n !== 0n || sliceSize > 0xffffffffn || count > total) return undefined;
  const ids: Buffer[] = [];
  for (let i = 0; i < total; i++) ids.push(Buffer.from(body.subarray(12 + 16 * i, 28 + 16 * i)));
  return { sliceSize: Number(sliceSize), recoveryFileIds: ids.slice(0, count), nonRecoveryFileIds: ids.slice(count) };
}

// ---- File description ----

export interface FileDescPacket {
  fileId: Buffer;
  md5: Buffer;
  md5_16k: Buffer;
  length: number;
  name: string;
}

/** File id = MD5(MD5-16k ‖ length ‖ name), the name without its padding. */
export function computeFileId(md5_16k: Uint8Array, length: number, name: string): Buffer {
  return md5(md5_16k, u64(length), Buffer.from(name, 'utf8'));
}

export function encodeFileDescBody(fd: FileDescPacket): Buffer {
  return pad4(Buffer.concat([fd.fileId, fd.md5, fd.md5_16k, u64(fd.length), Buffer.from(fd.name, 'utf8')]));
}

export function decodeFileDescBody(body: Buffer): FileDescPacket | undefined {
  if (body.length < 56) return undefined;
  const length = body.readBigUInt64LE(48);
  if (length > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  let end = body.length;
  while (end > 56 && body[end - 1] === 0) end--;
  return {
    fileId: Buffer.from(body.subarray(0, 16)),
    md5: Buffer.from(body.subarray(16, 32)),
    md5_16k: Buffer.from(body.subarray(32, 48)),
    length: Number(length),
    name: body.subarray(56, end).toString('utf8'),
  };
}

// ---- Input file slice checksums ----

export interface IfscPacket {
  fileId: Buffer;
  /** IFSC_ENTRY_BYTES per slice: MD5 then CRC32 (LE). */
  entries: Buffer;
}

export function encodeIfscBody(p: IfscPacket): Buffer {
  return Buffer.concat([p.fileId, p.entries]);
}

export function decodeIfscBody(body: Buffer): IfscPacket | undefined {
  if (body.length < 16 || (body.length - 16) % IFSC_ENTRY_BYTES !== 0) return undefined;
  return { fileId: Buffer.from(body.subarray(0, 16)), entries: Buffer.from(body.subarray(16)) };
}

/** One IFSC entry from a slice's MD5 and CRC32. */
export function ifscEntry(sliceMd5: Uint8Array, crc: number): Buffer {
  return Buffer.concat([sliceMd5, u32(crc)]);
}

// ---- Recovery slice ----

export function encodeRecoveryPrefix(exponent: number): Buffer {
  return u32(exponent);
}

// ---- Creator ----

export function encodeCreatorBody(creator: string): Buffer {
  return pad4(Buffer.from(creator, 'utf8'));
}

export function decodeCreatorBody(body: Buffer): string {
  let end = body.length;
  while (end > 0 && body[end - 1] === 0) end--;
  return body.subarray(0, end).toString('utf8');
}
