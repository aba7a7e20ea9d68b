/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Google
 * Cloud Storage reports as `crc32c`: slice-by-8 tables, no dependency.
 * Known answer: crc32c("123456789") = 0xe3069283.
 */

const POLY = 0x82f63b78;
const TABLES = new Uint32Array(8 * 256);

for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLES[i] = c >>> 0;
}
for (let i = 0; i < 256; i++) {
  for (let s = 1; s < 8; s++) {
    const prev = TABLES[(s - 1) * 256 + i]!;
    TABLES[s * 256 + i] = ((prev >>> 8) ^ TABLES[prev & 0xff]!) >>> 0;
  }
}

/** Continues a CRC-32C over `data` (start with 0). Returns the unsigned 32-bit value. */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t[7 * 256 + (a & 0xff)]! ^
      t[6 * 256 + ((a >>> 8) & 0xff)]! ^
      t[5 * 256 + ((a >>> 16) & 0xff)]! ^
      t[4 * 256 + (a >>> 24)]! ^
      t[3 * 256 + data[i + 4]!]! ^
      t[2 * 256 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = (c >>> 8) ^ t[(c ^ data[i++]!) & 0xff]!;
  return ~c >>> 0;
}

/** CRC-32C of a whole buffer. */
export function crc32c(data: Uint8Array): number {
  return crc32cUpdate(0, data);
}

/** The 4 big-endian bytes of a CRC-32C, as GCS encodes it (base64 of these in `crc32c`). */
export function crc32cBytes(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}
