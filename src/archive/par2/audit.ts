/**
 * auditPar2File: is a .par2 file this project wrote still whole, byte for
 * byte? readPar2Set is lenient on purpose (one intact copy of each critical
 * packet is enough to repair); this is the strict question a verification
 * asks, so that damage to the recovery data is found while it is still
 * harmless, not when the recovery data is needed.
 *
 * Every byte must lie in an intact packet of one set (the packets are laid
 * out back to back, see layout.ts), with every copy of the critical packets
 * and one recovery slice per exponent 0..count-1.
 */

import { open } from 'node:fs/promises';
import { asBriError } from '../../errors.js';
import { planPar2File } from './layout.js';
import type { PacketKind } from './packets.js';
import { scanPackets } from './scan.js';

export interface Par2Audit {
  intact: boolean;
  /** What is wrong, for a person (empty when intact). */
  problems: string[];
}

const CRITICAL: Array<{ kind: PacketKind; name: string }> = [
  { kind: 'main', name: 'main' },
  { kind: 'fileDesc', name: 'file description' },
  { kind: 'ifsc', name: 'slice checksum (IFSC)' },
  { kind: 'creator', name: 'creator' },
];

/** Audits [offset, offset + length) of `path`, which should hold `recoveryBlocks` recovery slices. */
export async function auditPar2File(path: string, offset: number, length: number, recoveryBlocks: number): Promise<Par2Audit> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw asBriError(err, `par2: open ${path}`);
  }
  let scan;
  try {
    scan = await scanPackets(fh, offset, offset + length);
  } finally {
    await fh.close();
  }
  const problems: string[] = [];
  if (scan.damaged > 0) problems.push(`${scan.damaged} packets fail their MD5`);
  const covered = scan.packets.reduce((n, p) => n + p.header.length, 0);
  if (covered !== length) problems.push(`${length - covered} of its ${length} bytes are in no intact packet`);
  const sets = new Set(scan.packets.map((p) => p.header.setId.toString('hex')));
  if (sets.size > 1) problems.push(`packets of ${sets.size} different recovery sets`);
  const copies = planPar2File(0, recoveryBlocks, 0).criticalOffsets.length;
  for (const c of CRITICAL) {
    const n = scan.packets.filter((p) => p.kind === c.kind).length;
    if (n !== copies) problems.push(n === 0 ? `every copy of the ${c.name} packet is damaged` : `${n} of ${copies} copies of the ${c.name} packet are intact`);
  }
  const exponents = new Set<number>();
  let duplicates = 0;
  for (const p of scan.packets) {
    if (p.kind !== 'recovery') continue;
    if (exponents.has(p.exponent!) || p.exponent! >= recoveryBlocks) duplicates++;
    exponents.add(p.exponent!);
  }
  const present = [...exponents].filter((e) => e < recoveryBlocks).length;
  if (present !== recoveryBlocks) problems.push(`${present} of ${recoveryBlocks} recovery blocks are intact`);
  if (duplicates > 0) problems.push(`${duplicates} unexpected recovery packets`);
  return { intact: problems.length === 0, problems };
}
