/**
 * Finds PAR 2.0 packets in a byte range by their magic, and checks each one.
 *
 * Packets carry their own magic, length and MD5, so they can be found without
 * trusting anything around them: a damaged tar header, a torn write or a
 * corrupted packet only costs the packets it touches. A candidate whose
 * length runs past the range or whose MD5 does not match is counted as
 * damaged and the scan resumes one byte after its magic.
 *
 * Small packets come back with their bytes; recovery slices only with their
 * location, their data (a whole block each) is hashed as it streams by and
 * read again later, when a repair needs it.
 */

import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { readAt } from './io.js';
import { PACKET_HEADER_BYTES, PACKET_MAGIC, RECOVERY_DATA_OFFSET, decodeHeader, packetKind, type PacketHeader, type PacketKind } from './packets.js';

/** Bytes read per step of the scan. */
const SCAN_WINDOW_BYTES = 1024 * 1024;
/**
 * Largest non-recovery packet read into memory. The biggest legitimate one
 * is an IFSC of 32768 slices (≈ 640 KiB), or a main packet of many files.
 */
const MAX_METADATA_PACKET_BYTES = 16 * 1024 * 1024;

export interface ScannedPacket {
  header: PacketHeader;
  kind: PacketKind;
  /** Absolute offset of the packet in the file. */
  offset: number;
  /** Body (bytes after the 64-byte header), except for recovery packets. */
  body?: Buffer;
  /** For recovery packets: the exponent. */
  exponent?: number;
}

export interface ScanResult {
  packets: ScannedPacket[];
  /** Candidates with the magic whose length or MD5 did not check out. */
  damaged: number;
}

/** Scans [start, end) of an open file. */
export async function scanPackets(fh: FileHandle, start: number, end: number, signal?: AbortSignal): Promise<ScanResult> {
  const packets: ScannedPacket[] = [];
  let damaged = 0;
  const win = Buffer.alloc(SCAN_WINDOW_BYTES);
  let winStart = -1;
  let winLen = 0;
  let pos = start;

  while (pos + PACKET_HEADER_BYTES <= end) {
    signal?.throwIfAborted();
    // Invariant after this: the window holds [pos, pos + 64).
    if (winStart < 0 || pos + PACKET_HEADER_BYTES > winStart + winLen) {
      winLen = await readAt(fh, win, pos, end);
      winStart = pos;
      if (winLen < PACKET_HEADER_BYTES) break;
    }
    const reachesEnd = winStart + winLen >= end;
    const idx = win.subarray(0, winLen).indexOf(PACKET_MAGIC, pos - winStart);
    if (idx < 0) {
      if (reachesEnd) break;
      // Keep the last 7 bytes: a magic may straddle the window's end.
      pos = winStart + winLen - (PACKET_MAGIC.length - 1);
      continue;
    }
    if (idx + PACKET_HEADER_BYTES > winLen) {
      if (reachesEnd) break; // no room for a header before the end
      pos = winStart + idx; // re-read with the header at the window's start
      continue;
    }
    const at = winStart + idx;
    const header = decodeHeader(win, idx);
    const packet =
      header !== undefined && at + header.length <= end ? await checkPacket(fh, header, at, win, winStart, winLen) : undefined;
    if (packet === undefined) {
      damaged++;
      pos = at + 1;
    } else {
      packets.push(packet);
      pos = at + packet.header.length;
    }
  }
  return { packets, damaged };
}

/** Verifies a packet's MD5; returns it (with its body unless a recovery slice) or undefined. */
async function checkPacket(
  fh: FileHandle,
  header: PacketHeader,
  at: number,
  win: Buffer,
  winStart: number,
  winLen: number,
): Promise<ScannedPacket | undefined> {
  const kind = packetKind(header.type);
  const hash = createHash('md5');
  const bodyLength = header.length - PACKET_HEADER_BYTES;
  const rel = at - winStart;
  const inWindow = rel >= 0 && rel + header.length <= winLen;
  if (kind === 'recovery') {
    if (bodyLength < 4) return undefined;
    if (inWindow) {
      // Hashed where it lies (a set's slices are small next to the window: one read for many packets).
      if (!hash.update(win.subarray(rel + 32, rel + header.length)).digest().equals(header.md5)) return undefined;
      return { header, kind, offset: at, exponent: win.readUInt32LE(rel + RECOVERY_DATA_OFFSET - 4) };
    }
    // Stream the packet through the hash: its data may be many megabytes.
    const buf = Buffer.alloc(Math.min(SCAN_WINDOW_BYTES, header.length));
    let exponent = -1;
    for (let p = at + 32; p < at + header.length; p += buf.length) {
      const n = Math.min(buf.length, at + header.length - p);
      const got = await readAt(fh, buf.subarray(0, n), p);
      if (got < n) return undefined;
      if (p === at + 32) exponent = buf.readUInt32LE(RECOVERY_DATA_OFFSET - 4 - 32);
      hash.update(buf.subarray(0, n));
    }
    if (!hash.digest().equals(header.md5)) return undefined;
    return { header, kind, offset: at, exponent };
  }
  if (header.length > MAX_METADATA_PACKET_BYTES) return undefined;
  let packetBytes: Buffer;
  if (inWindow) {
    packetBytes = Buffer.from(win.subarray(rel, rel + header.length));
  } else {
    packetBytes = Buffer.alloc(header.length);
    if ((await readAt(fh, packetBytes, at)) < header.length) return undefined;
  }
  if (!hash.update(packetBytes.subarray(32)).digest().equals(header.md5)) return undefined;
  return { header, kind, offset: at, body: packetBytes.subarray(PACKET_HEADER_BYTES) };
}
