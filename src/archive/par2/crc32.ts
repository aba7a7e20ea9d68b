/**
 * CRC-32 (IEEE 802.3, the zlib/PKZIP one), as PAR 2.0 stores per slice.
 *
 * Node ≥ 20.15 has a native `zlib.crc32`; older 20.x lack it, so a table
 * version stands in there. Both continue from a previous value, so a slice
 * can be fed in pieces.
 */

import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

function crc32Table(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** CRC-32 of `data`, continuing from `value` (0 to start). */
export const crc32: Crc32 = native ?? crc32Table;

/** The portable implementation, exported so tests can check it against the native one. */
export const crc32Portable: Crc32 = crc32Table;
