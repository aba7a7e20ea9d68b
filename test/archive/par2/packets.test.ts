import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeFileId,
  decodeCreatorBody,
  decodeFileDescBody,
  decodeHeader,
  decodeIfscBody,
  decodeMainBody,
  encodeCreatorBody,
  encodeFileDescBody,
  encodeIfscBody,
  encodeMainBody,
  encodePacket,
  packetKind,
  PacketType,
} from '../../../src/archive/par2/packets.js';
import { FIXTURE_DIR } from './helpers.js';

/** Splits a par2 file into its packets (trusting lengths: fixture data is intact). */
function splitPackets(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const h = decodeHeader(buf, at)!;
    out.push(buf.subarray(at, at + h.length));
    at += h.length;
  }
  return out;
}

describe('PAR 2.0 packets', () => {
  it('decodes the packets par2cmdline wrote (known answer)', async () => {
    const file = await readFile(join(FIXTURE_DIR, 'data.bin.par2'));
    const data = await readFile(join(FIXTURE_DIR, 'data.bin'));
    const packets = splitPackets(file);
    expect(packets.map((p) => packetKind(decodeHeader(p)!.type))).toEqual(['main', 'fileDesc', 'ifsc', 'creator']);

    const main = decodeMainBody(packets[0]!.subarray(64))!;
    expect(main.sliceSize).toBe(256);
    expect(main.recoveryFileIds).toHaveLength(1);
    const setId = decodeHeader(packets[0]!)!.setId;
    expect(createHash('md5').update(packets[0]!.subarray(64)).digest()).toEqual(setId);

    const fd = decodeFileDescBody(packets[1]!.subarray(64))!;
    expect(fd.name).toBe('data.bin');
    expect(fd.length).toBe(3000);
    expect(fd.md5.toString('hex')).toBe('43ea98bab7b4b7cd5d51fb9110d9a962');
    expect(fd.md5_16k).toEqual(fd.md5); // the file is shorter than 16 KiB
    expect(computeFileId(fd.md5_16k, fd.length, fd.name)).toEqual(fd.fileId);
    expect(fd.fileId).toEqual(main.recoveryFileIds[0]);

    const ifsc = decodeIfscBody(packets[2]!.subarray(64))!;
    expect(ifsc.entries.length).toBe(12 * 20);
    // Slice 0's MD5 as recorded, and the last slice hashed zero-padded to 256 bytes.
    expect(ifsc.entries.subarray(0, 16)).toEqual(createHash('md5').update(data.subarray(0, 256)).digest());
    const last = Buffer.concat([data.subarray(11 * 256), Buffer.alloc(256 - (3000 - 11 * 256))]);
    expect(ifsc.entries.subarray(11 * 20, 11 * 20 + 16)).toEqual(createHash('md5').update(last).digest());

    expect(decodeCreatorBody(packets[3]!.subarray(64))).toMatch(/par2cmdline/);
  });

  it('re-encodes par2cmdline packets byte for byte', async () => {
    const packets = splitPackets(await readFile(join(FIXTURE_DIR, 'data.bin.par2')));
    const setId = decodeHeader(packets[0]!)!.setId;
    const main = decodeMainBody(packets[0]!.subarray(64))!;
    expect(encodePacket(setId, PacketType.MAIN, encodeMainBody(main))).toEqual(packets[0]);
    const fd = decodeFileDescBody(packets[1]!.subarray(64))!;
    expect(encodePacket(setId, PacketType.FILE_DESC, encodeFileDescBody(fd))).toEqual(packets[1]);
    const ifsc = decodeIfscBody(packets[2]!.subarray(64))!;
    expect(encodePacket(setId, PacketType.IFSC, encodeIfscBody(ifsc))).toEqual(packets[2]);
    const creator = decodeCreatorBody(packets[3]!.subarray(64));
    expect(encodePacket(setId, PacketType.CREATOR, encodeCreatorBody(creator))).toEqual(packets[3]);
  });

  it('round-trips file descriptions and creators with any name', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\0')),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (name, length, h) => {
          const md5 = Buffer.from(h);
          const fd = { fileId: computeFileId(md5, length, name), md5, md5_16k: md5, length, name };
          const body = encodeFileDescBody(fd);
          expect(body.length % 4).toBe(0);
          expect(decodeFileDescBody(body)).toEqual(fd);
          expect(decodeCreatorBody(encodeCreatorBody(name))).toBe(name);
        },
      ),
    );
  });

  it('rejects headers without the magic or with an impossible length', () => {
    const good = encodePacket(Buffer.alloc(16), PacketType.CREATOR, encodeCreatorBody('x'));
    expect(decodeHeader(good)?.length).toBe(good.length);
    const badMagic = Buffer.from(good);
    badMagic[3] = 0x33;
    expect(decodeHeader(badMagic)).toBeUndefined();
    const badLength = Buffer.from(good);
    badLength.writeBigUInt64LE(63n, 8);
    expect(decodeHeader(badLength)).toBeUndefined();
    badLength.writeBigUInt64LE(70n, 8);
    expect(decodeHeader(badLength)).toBeUndefined();
    expect(decodeMainBody(Buffer.alloc(7))).toBeUndefined();
  });
});
