/**
 * An encrypted archive's members never lie in the clear on the archive disk, even for a moment: zstd
 * streams into age. They were compressed into plaintext `.zst` files in the stage directory first, and
 * a kill (or a crash, a full disk) left them there until a later create swept the stage.
 */
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, describe, expect, it } from 'vitest';
import { DecompressStream } from 'zstd-napi';
import { createDB } from '../../../src/db.js';
import { prng, spawnTs, waitExit } from '../../support/child.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-no-plaintext-');
const SECRET = 'PLAINTEXT-MEMBER-9f3a2c';
const KILLS = 12;
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** What zstd gives back from `bytes` (a frame, maybe cut short or followed by anything): as much as decodes. */
async function unzstd(bytes: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  const d = new DecompressStream();
  d.on('data', (c: Buffer) => parts.push(Buffer.from(c)));
  await new Promise<void>((resolve) => {
    d.on('error', () => resolve());
    d.on('end', () => resolve());
    d.end(bytes);
  });
  return Buffer.concat(parts);
}

/** Whether the file holds the secret as it is, or inside any zstd frame in it (a plaintext member, whole or cut short, alone or in a tar). */
async function holdsSecret(file: string): Promise<boolean> {
  const bytes = await fsp.readFile(file).catch(() => Buffer.alloc(0));
  if (bytes.includes(SECRET)) return true;
  for (let at = bytes.indexOf(ZSTD_MAGIC); at >= 0; at = bytes.indexOf(ZSTD_MAGIC, at + 1)) {
    if ((await unzstd(bytes.subarray(at))).includes(SECRET)) return true;
  }
  return false;
}

/** Resolves once the stage directory holds a file `done` takes (or the child is gone). */
async function staged(archiveDir: string, child: ChildProcess, done: (file: string) => boolean): Promise<void> {
  while (child.exitCode === null && child.signalCode === null) {
    if ((await filesUnder(path.join(archiveDir, '.tmp'))).some(done)) return;
    await sleep(2);
  }
}
/** A member file staged by this run (a killed run's stage and the create lock stay until the next run sweeps them). */
const newMember = (before: Set<string>) => (f: string) => !before.has(f) && /\.(zst|age)$/.test(f);
const membersStaged = (f: string) => path.basename(f) === 'package.bri';

describe('an encrypted archive being made', () => {
  it('leaves no plaintext member anywhere under the archive directory when killed at any moment, and a normal run still restores', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const archiveDir = path.join(dataDir, 'archives');
    const identity = await generateIdentity();
    const idFile = path.join(r, 'key.txt');
    await fsp.writeFile(idFile, identity + '\n', { mode: 0o600 });
    const archive = { compression: { level: 3 }, encryption: { recipients: [await identityToRecipient(identity)] } };
    const config = path.join(r, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ archive }));
    // Many small segments (members), values that do not compress away: the create stages for a while.
    // A first archive: the killed ones start from its state (a snapshot member with documents in it).
    const db = await createDB({ storeConfig: { dataDir, archive, walSegmentSize: 64 * 1024, fsyncMode: 'batched', batchIntervalMs: 2 } });
    for (let i = 0; i < 6000; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => db.set(`K${i + j}`, { v: `${SECRET}-${i + j}`, pad: randomBytes(300).toString('base64') })));
      if (i === 2800) await db.archive.create();
    }
    await db.close();

    // How long the members take to stage here, on a copy: kills land anywhere from the first staged file to the package.
    const probeDir = path.join(r, 'probe');
    await fsp.cp(dataDir, probeDir, { recursive: true });
    const probe = spawnTs('src/cli/main.ts', ['archive', 'create', '-d', probeDir, '-c', config], { BRI_ENCRYPTION_KEY: '' });
    children.add(probe);
    await staged(path.join(probeDir, 'archives'), probe, newMember(new Set()));
    const t0 = Date.now();
    await staged(path.join(probeDir, 'archives'), probe, membersStaged);
    const span = Math.max(20, Date.now() - t0);
    expect((await waitExit(probe)).code).toBe(0);

    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
    const rand = prng(seed);
    for (let k = 0; k < KILLS; k++) {
      const before = new Set(await filesUnder(path.join(archiveDir, '.tmp')));
      const child = spawnTs('src/cli/main.ts', ['archive', 'create', '-d', dataDir, '-c', config], { BRI_ENCRYPTION_KEY: '' });
      children.add(child);
      await staged(archiveDir, child, newMember(before));
      await sleep(Math.floor(rand() * span));
      child.kill('SIGKILL');
      await waitExit(child);
      children.delete(child);
      const leaked = [];
      for (const f of await filesUnder(archiveDir)) if (await holdsSecret(f)) leaked.push(path.relative(archiveDir, f));
      expect(leaked, `seed ${seed}, kill ${k} after ${span} ms span`).toEqual([]);
    }

    const made = await runCli(['archive', 'create', '-d', dataDir, '-c', config]);
    expect(made.code, made.stderr).toBe(0);
    for (const f of await filesUnder(archiveDir)) expect(await holdsSecret(f), f).toBe(false);
    const verified = await runCli(['archive', 'verify', '--all', '-d', dataDir, '-c', config, '--deep', '--identity', idFile]);
    expect(verified.code, verified.stderr).toBe(0);
    const target = path.join(r, 'restored');
    const restored = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target, '--identity', idFile]);
    expect(restored.code, restored.stderr).toBe(0);
    const back = await createDB({ storeConfig: { dataDir: target } });
    try {
      expect(back.get('K5999')).toMatchObject({ v: `${SECRET}-5999` });
      expect(back.get('K0')).toMatchObject({ v: `${SECRET}-0` });
    } finally {
      await back.close();
    }
  }, 240_000);
});
