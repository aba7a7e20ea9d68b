/**
 * readPar2Set: collects a PAR 2.0 recovery set from one or more files or
 * byte ranges (ours: one .par2; par2cmdline: x.par2 plus x.volNN+MM.par2).
 *
 * Packets are found by scanning (see scan.ts), so damaged packets are simply
 * skipped; duplicates (the repeated critical packets) collapse into one. The
 * set is the one whose main packet is intact and whose id is that packet's
 * MD5; packets of other sets in the same files are ignored.
 */

import { open } from 'node:fs/promises';
import { BriError, ErrorCodes, asBriError } from '../../errors.js';
import {
  decodeCreatorBody,
  decodeFileDescBody,
  decodeIfscBody,
  decodeMainBody,
  IFSC_ENTRY_BYTES,
  md5,
  RECOVERY_DATA_OFFSET,
  type FileDescPacket,
  type MainPacket,
} from './packets.js';
import { scanPackets, type ScannedPacket } from './scan.js';

/** Where PAR2 data lies: a whole file, or a byte range of one (e.g. a member inside a tar). */
export type Par2Source = string | { path: string; offset?: number; length?: number };

/** A recovery slice found in the sources; its data is read only when a repair needs it. */
export interface Par2RecoverySlice {
  exponent: number;
  path: string;
  /** Absolute file offset of the slice's data (after header and exponent). */
  dataOffset: number;
}

export interface Par2FileEntry {
  /** File id, hex. */
  fileId: string;
  name: string;
  length: number;
  /** MD5 of the whole file. */
  md5: Buffer;
  /** MD5 of its first 16 KiB. */
  md5_16k: Buffer;
  /** Global index of the file's first slice (slices are numbered across files in main-packet order). */
  firstBlock: number;
  blockCount: number;
  /** IFSC entries: MD5 (16) then CRC32 LE (4) per slice; undefined when every IFSC copy was damaged. */
  checksums: Buffer | undefined;
}

export interface Par2Set {
  /** Recovery set id, hex. */
  setId: string;
  blockSize: number;
  /** Files of the recovery set, in slice order. */
  files: Par2FileEntry[];
  /** Total source slices across files. */
  sourceBlockCount: number;
  /** Intact recovery slices, one per exponent, ascending. */
  recoverySlices: Par2RecoverySlice[];
  creator: string | undefined;
  /** Packets that had the magic but failed their checks. */
  damagedPackets: number;
}

interface Candidate {
  setId: string;
  main?: MainPacket;
  fileDescs: Map<string, FileDescPacket>;
  ifsc: Map<string, Buffer>;
  /** Every intact recovery packet seen, with its data length; deduplicated once the block size is known. */
  recovery: { slice: Par2RecoverySlice; dataLength: number }[];
  creator?: string;
  packets: number;
}

/**
 * Reads and checks every packet in `sources`. Throws PAR2_INVALID when no
 * usable set is found (no intact main packet, or a recovery-set file whose
 * description is lost), IO_ERROR when a source cannot be read.
 */
export async function readPar2Set(sources: Par2Source[], options: { signal?: AbortSignal } = {}): Promise<Par2Set> {
  const sets = new Map<string, Candidate>();
  let damaged = 0;
  for (const source of sources) {
    const { path, offset, length } = typeof source === 'string' ? { path: source, offset: 0, length: undefined } : source;
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw asBriError(err, `par2: open ${path}`);
    }
    try {
      const size = (await fh.stat()).size;
      const start = offset ?? 0;
      const end = Math.min(size, length === undefined ? size : start + length);
      const result = await scanPackets(fh, start, end, options.signal);
      damaged += result.damaged;
      for (const p of result.packets) collect(sets, p, path);
    } catch (err) {
      throw err instanceof BriError ? err : asBriError(err, `par2: read ${path}`);
    } finally {
      await fh.close();
    }
  }
  return assemble(sets, damaged, sources);
}

function collect(sets: Map<string, Candidate>, p: ScannedPacket, path: string): void {
  const setId = p.header.setId.toString('hex');
  let c = sets.get(setId);
  if (c === undefined) {
    c = { setId, fileDescs: new Map(), ifsc: new Map(), recovery: [], packets: 0 };
    sets.set(setId, c);
  }
  c.packets++;
  switch (p.kind) {
    case 'main': {
      // The set id is the main body's MD5: a main packet that disagrees belongs to no set.
      if (c.main === undefined && md5(p.body!).toString('hex') === setId) c.main = decodeMainBody(p.body!);
      break;
    }
    case 'fileDesc': {
      const fd = decodeFileDescBody(p.body!);
      if (fd !== undefined && !c.fileDescs.has(fd.fileId.toString('hex'))) c.fileDescs.set(fd.fileId.toString('hex'), fd);
      break;
    }
    case 'ifsc': {
      const ifsc = decodeIfscBody(p.body!);
      if (ifsc !== undefined && !c.ifsc.has(ifsc.fileId.toString('hex'))) c.ifsc.set(ifsc.fileId.toString('hex'), ifsc.entries);
      break;
    }
    case 'recovery': {
      c.recovery.push({
        slice: { exponent: p.exponent!, path, dataOffset: p.offset + RECOVERY_DATA_OFFSET },
        dataLength: p.header.length - RECOVERY_DATA_OFFSET,
      });
      break;
    }
    case 'creator': {
      c.creator ??= decodeCreatorBody(p.body!);
      break;
    }
    default:
      break; // optional packet types (PAR 2.0 allows them) carry nothing we use
  }
}

function assemble(sets: Map<string, Candidate>, damaged: number, sources: Par2Source[]): Par2Set {
  const usable = [...sets.values()].filter((c) => c.main !== undefined).sort((a, b) => b.packets - a.packets);
  const c = usable[0];
  if (c === undefined || c.main === undefined) {
    throw new BriError(ErrorCodes.PAR2_INVALID, `no intact PAR2 main packet found in ${describe(sources)}`, {
      hint: 'the PAR2 data is missing or too damaged to use',
      details: { damagedPackets: damaged, setsSeen: sets.size },
    });
  }
  const blockSize = c.main.sliceSize;
  const files: Par2FileEntry[] = [];
  let firstBlock = 0;
  for (const id of c.main.recoveryFileIds) {
    const hex = id.toString('hex');
    const fd = c.fileDescs.get(hex);
    if (fd === undefined) {
      throw new BriError(ErrorCodes.PAR2_INVALID, `PAR2 set ${c.setId}: every copy of file description ${hex} is damaged`, {
        details: { setId: c.setId, fileId: hex },
      });
    }
    const blockCount = Math.ceil(fd.length / blockSize);
    let checksums = c.ifsc.get(hex);
    if (checksums !== undefined && checksums.length !== blockCount * IFSC_ENTRY_BYTES) checksums = undefined;
    files.push({ fileId: hex, name: fd.name, length: fd.length, md5: fd.md5, md5_16k: fd.md5_16k, firstBlock, blockCount, checksums });
    firstBlock += blockCount;
  }
  const byExponent = new Map<number, Par2RecoverySlice>();
  for (const r of c.recovery) {
    if (r.dataLength === blockSize && !byExponent.has(r.slice.exponent)) byExponent.set(r.slice.exponent, r.slice);
  }
  const recoverySlices = [...byExponent.values()].sort((a, b) => a.exponent - b.exponent);
  return {
    setId: c.setId,
    blockSize,
    files,
    sourceBlockCount: firstBlock,
    recoverySlices,
    creator: c.creator,
    damagedPackets: damaged,
  };
}

function describe(sources: Par2Source[]): string {
  return sources.map((s) => (typeof s === 'string' ? s : s.path)).join(', ');
}
