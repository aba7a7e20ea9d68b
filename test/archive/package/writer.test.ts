import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writePackage, type PackageMember } from '../../../src/archive/package/writer.js';
import { createPar2, readPar2Set, verifyPar2 } from '../../../src/archive/par2/index.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-writer-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

describe('writePackage with a last member computed over the prefix', () => {
  it('starts the last member with the writing; what it reads is on disk, and its PAR2 set verifies the finished prefix', async () => {
    const a = path.join(dir, 'a.bin');
    await fsp.writeFile(a, bytes(3_000_000, 1));
    const members: PackageMember[] = [
      { name: 'manifest.jss', data: Buffer.from('{"x":1}'), size: 7 },
      { name: 'a.bin', path: a, size: 3_000_000 },
      { name: 'tail.txt', data: bytes(1000, 2), size: 1000 },
    ];
    const out = path.join(dir, 'p.bri');
    let startedBeforeEnd = false;
    let prefix = 0;
    const written = await writePackage(out, members, {
      mtime: new Date(0),
      async finalMember(prefixBytes, ready) {
        prefix = prefixBytes;
        startedBeforeEnd = (await fsp.stat(out)).size < prefixBytes;
        const par2 = path.join(dir, 'r.par2');
        const r = await createPar2({ path: out, length: prefixBytes, name: 'p.tar', ready }, par2, { blockSize: 4096, recoveryBlockCount: 3 });
        return { name: 'recovery.par2', path: par2, size: r.par2Bytes };
      },
    });
    expect(startedBeforeEnd).toBe(true);
    expect(prefix).toBe(written.offsets['recovery.par2']! - 512);
    const set = await readPar2Set([path.join(dir, 'r.par2')]);
    expect((await verifyPar2(set, { path: out, offset: 0, length: prefix })).intact).toBe(true);
    const inTar = (await fsp.readFile(out)).subarray(written.offsets['a.bin']!, written.offsets['a.bin']! + 3_000_000);
    expect(inTar.equals(await fsp.readFile(a))).toBe(true);
  });

  it('a member that cannot be read fails the write with its error: the last member waiting for bytes is let go, nothing hangs or goes unhandled', async () => {
    const a = path.join(dir, 'a.bin');
    await fsp.writeFile(a, bytes(200_000, 3));
    const members: PackageMember[] = [
      { name: 'a.bin', path: a, size: 200_000 },
      { name: 'gone.bin', path: path.join(dir, 'gone.bin'), size: 5000 },
    ];
    let finalSettled: 'pending' | 'resolved' | 'rejected' = 'pending';
    const err = await writePackage(path.join(dir, 'p.bri'), members, {
      mtime: new Date(0),
      finalMember(prefixBytes, ready) {
        const p = createPar2({ path: path.join(dir, 'p.bri'), length: prefixBytes, name: 'p.tar', ready }, path.join(dir, 'r.par2'), { blockSize: 4096 });
        p.then(
          () => (finalSettled = 'resolved'),
          () => (finalSettled = 'rejected'),
        );
        return p.then(() => null);
      },
    }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
    // Settled before writePackage returned: no computation is left running behind the caller.
    expect(finalSettled).toBe('rejected');
    expect((await fsp.readdir(dir)).filter((n) => n.endsWith('.par2') || n.endsWith('.tmp'))).toEqual([]);
  });
});
