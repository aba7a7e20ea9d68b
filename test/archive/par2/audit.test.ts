import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditPar2File, createPar2 } from '../../../src/archive/par2/index.js';
import { makeTempDir, pseudoRandomBytes, xorByte } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let par2: Buffer;
const RECOVERY = 6;

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('bri-par2-audit-'));
  await writeFile(join(dir, 'data.bin'), pseudoRandomBytes(40_000, 7));
  await createPar2({ path: join(dir, 'data.bin'), length: 40_000, name: 'data.bin' }, join(dir, 'data.par2'), { blockSize: 2048, recoveryBlockCount: RECOVERY });
  par2 = await readFile(join(dir, 'data.par2'));
});
afterEach(() => cleanup());

async function audit(bytes: Buffer, recovery = RECOVERY) {
  await writeFile(join(dir, 'x.par2'), bytes);
  return auditPar2File(join(dir, 'x.par2'), 0, bytes.length, recovery);
}

/** Offsets of the packets of a type (`Main`, `IFSC`, `RecvSlic`...). */
function packets(type: string): number[] {
  const out: number[] = [];
  for (let at = par2.indexOf('PAR2\0PKT', 0, 'latin1'); at >= 0; at = par2.indexOf('PAR2\0PKT', at + 8, 'latin1')) {
    if (par2.toString('latin1', at + 56, at + 64).replace(/\0+$/, '') === type) out.push(at);
  }
  return out;
}

describe('auditPar2File: a .par2 file we wrote, whole byte for byte', () => {
  it('an intact file is intact', async () => {
    expect(await audit(par2)).toEqual({ intact: true, problems: [] });
  });

  it('one copy of a critical packet hurt: not intact, though a reader could still use the set', async () => {
    const copy = Buffer.from(par2);
    xorByte(copy, packets('Main')[1]! + 70, 0x01);
    const r = await audit(copy);
    expect(r.intact).toBe(false);
    expect(r.problems.join('; ')).toMatch(/1 packets fail their MD5.*copies of the main packet are intact/);
  });

  it('every copy of the IFSC packet hurt, a recovery slice hurt, a magic hurt, the file cut: each is named', async () => {
    const ifsc = Buffer.from(par2);
    for (const at of packets('IFSC')) xorByte(ifsc, at + 80, 0xff);
    expect((await audit(ifsc)).problems).toContain('every copy of the slice checksum (IFSC) packet is damaged');
    const slice = Buffer.from(par2);
    xorByte(slice, packets('RecvSlic')[2]! + 500, 0x10);
    expect((await audit(slice)).problems).toContain(`${RECOVERY - 1} of ${RECOVERY} recovery blocks are intact`);
    const magic = Buffer.from(par2);
    xorByte(magic, packets('Creator')[0]!, 0xff);
    expect((await audit(magic)).problems.join('; ')).toMatch(/bytes are in no intact packet/);
    expect((await audit(par2.subarray(0, par2.length - 10))).intact).toBe(false);
  });

  it('more recovery slices than expected, or fewer: not the file that was written', async () => {
    expect((await audit(par2, RECOVERY - 1)).problems.join('; ')).toMatch(/unexpected recovery packets/);
    expect((await audit(par2, RECOVERY + 1)).intact).toBe(false);
  });
});
