/** Shared helpers for the PAR2 tests: temp directories and deterministic data. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/par2cmdline-small/', import.meta.url));

/** A fresh directory under the OS temp dir; call the returned cleanup in afterEach. */
export async function makeTempDir(prefix = 'bri-par2-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic bytes from a seed (xorshift), partly compressible: runs of repeated bytes mixed in. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (i >> 9) % 4 === 0 ? 0x41 : x & 0xff;
  }
  return out;
}

/** buf[i] ^= mask (a helper because indexed access is possibly undefined under noUncheckedIndexedAccess). */
export function xorByte(buf: Uint8Array, i: number, mask: number): void {
  buf[i] = (buf[i] ?? 0) ^ mask;
}
