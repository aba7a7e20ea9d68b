import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLockFile, isLiveOwner, readLockFileOwner, removeStaleLock } from '../../src/store/lock/dir-lock.js';
import { bootId, processStart } from '../../src/store/lock/process-identity.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-lock-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A child process that takes the lock, prints "held", and holds it until killed. */
function holder(lockPath: string): Promise<{ kill: () => void; exited: Promise<void> }> {
  const code = `
    const { acquireLockFile } = await import(${JSON.stringify(new URL('../../src/store/lock/dir-lock.ts', import.meta.url).href)});
    await acquireLockFile(${JSON.stringify(lockPath)}, 'holder', 'test');
    console.log('held');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve({ kill: () => child.kill('SIGKILL'), exited }));
    child.once('exit', (c) => reject(new Error(`holder exited with ${c}`)));
  });
}

describe('the directory lock', () => {
  it('is never seen empty or torn: a lock file, when it exists, names its owner', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    let stop = false;
    const seen: string[] = [];
    // A reader polling as fast as it can while the lock is taken and released again and again.
    const reader = (async () => {
      while (!stop) {
        const text = await fsp.readFile(lockPath, 'utf8').catch(() => null);
        if (text !== null && !/^\{.*"pid":\d+.*\}\n$/.test(text)) seen.push(JSON.stringify(text));
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 300; i++) await (await acquireLockFile(lockPath, 'test', 'test')).release();
    stop = true;
    await reader;
    expect(seen).toEqual([]);
  });

  it('two acquirers at once in one process: exactly one holds it, the other is told it is in use', async () => {
    for (let round = 0; round < 200; round++) {
      const lockPath = path.join(dir, `bri-${round}.lock`);
      const results = await Promise.allSettled([acquireLockFile(lockPath, 'a', 'test'), acquireLockFile(lockPath, 'b', 'test')]);
      const held = results.filter((r) => r.status === 'fulfilled');
      expect(held.length, `round ${round}`).toBe(1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((refused.reason as { code?: string }).code, `round ${round}`).toBe('LOCKED');
      const owner = await readLockFileOwner(lockPath);
      expect(owner?.purpose).toBe((held[0] as PromiseFulfilledResult<{ owner: { purpose: string } }>).value.owner.purpose);
    }
  });

  it('processes racing for it in loops: never two holders at once', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    const marker = path.join(dir, 'holder');
    // Each holder publishes a marker with O_EXCL: finding one there means another process holds the lock too.
    const code = `
      const fsp = await import('node:fs/promises');
      const { acquireLockFile } = await import(${JSON.stringify(new URL('../../src/store/lock/dir-lock.ts', import.meta.url).href)});
      let overlaps = 0, held = 0;
      for (let i = 0; i < 250; i++) {
        let lock;
        try { lock = await acquireLockFile(${JSON.stringify(lockPath)}, 'racer', 'test'); } catch (e) { if (e.code !== 'LOCKED') throw e; continue; }
        held++;
        const mine = await fsp.writeFile(${JSON.stringify(marker)}, String(process.pid), { flag: 'wx' }).then(() => true, () => false);
        if (!mine) overlaps++;
        await new Promise((r) => setTimeout(r, 1));
        if (mine) await fsp.rm(${JSON.stringify(marker)});
        await lock.release();
      }
      console.log(JSON.stringify({ overlaps, held }));`;
    const runs = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      return new Promise<{ overlaps: number; held: number }>((resolve, reject) =>
        child.once('exit', (c) => (c === 0 ? resolve(JSON.parse(out) as { overlaps: number; held: number }) : reject(new Error(`racer exited with ${c}`)))),
      );
    });
    const results = await Promise.all(runs);
    expect(results.map((r) => r.overlaps)).toEqual([0, 0, 0, 0]);
    expect(results.reduce((a, r) => a + r.held, 0)).toBeGreaterThan(0);
    expect((await fsp.readdir(dir)).filter((n) => n !== 'holder')).toEqual([]);
  }, 60_000);

  it('leaves no files beside the lock once taken and released', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    await (await acquireLockFile(lockPath, 'test', 'test')).release();
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('a stale lock of a killed process is taken over, and the killed process\'s scratch files are removed', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    const h = await holder(lockPath);
    h.kill();
    await h.exited;
    // What a process killed between writing its lock's content and publishing it leaves behind.
    const deadPid = (await readLockFileOwner(lockPath))!.pid;
    await fsp.writeFile(path.join(dir, `bri.lock.${deadPid}.abcdef012345.tmp`), '{"pid":');
    const lock = await acquireLockFile(lockPath, 'next', 'test');
    expect((await readLockFileOwner(lockPath))?.purpose).toBe('next');
    expect(await fsp.readdir(dir)).toEqual(['bri.lock']);
    await lock.release();
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('a live holder in another process is refused with LOCKED, and keeps its lock', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    const h = await holder(lockPath);
    try {
      await expect(acquireLockFile(lockPath, 'next', 'test')).rejects.toMatchObject({ code: 'LOCKED' });
      expect((await readLockFileOwner(lockPath))?.purpose).toBe('holder');
    } finally {
      h.kill();
      await h.exited;
    }
  });

  it('a live holder whose lock names its time as a date text, or as nothing readable: LOCKED with that time or "an unknown time", never a RangeError', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    for (const [since, said] of [['2026-12-05T10:00:00Z', 'since 2026-12-05T10:00:00.000Z'], ['yesterday', 'since an unknown time'], [null, 'since an unknown time']] as const) {
      // pid 1 is always alive: the lock is a live owner's, written by another tool.
      await fsp.writeFile(lockPath, JSON.stringify({ pid: 1, host: os.hostname(), since, purpose: 'other tool' }));
      const err = await acquireLockFile(lockPath, 'next', 'test').then(() => null, (e: unknown) => e as { code?: string; message: string });
      expect(err?.code, err?.message).toBe('LOCKED');
      expect(err?.message).toContain(said);
    }
  });

  it('an unreadable lock file (left by an older version, or damaged) is taken over', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    await fsp.writeFile(lockPath, '');
    const lock = await acquireLockFile(lockPath, 'next', 'test');
    expect((await readLockFileOwner(lockPath))?.purpose).toBe('next');
    await lock.release();
  });

  it('removeStaleLock removes a dead owner\'s lock of the purpose asked and the scratch beside it, and nothing else', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    const h = await holder(lockPath);
    h.kill();
    await h.exited;
    const deadPid = (await readLockFileOwner(lockPath))!.pid;
    const scratch = path.join(dir, `bri.lock.${deadPid}.0123456789ab.tmp`);
    await fsp.writeFile(scratch, '');
    await removeStaleLock(lockPath, 'bri restore');
    expect((await readLockFileOwner(lockPath))?.purpose, 'another purpose: kept').toBe('holder');
    expect(await fsp.readdir(dir)).toEqual(['bri.lock']);
    await removeStaleLock(lockPath, 'holder');
    expect(await fsp.readdir(dir)).toEqual([]);

    const live = await holder(lockPath);
    try {
      await removeStaleLock(lockPath);
      expect((await readLockFileOwner(lockPath))?.purpose, 'a live owner: kept').toBe('holder');
    } finally {
      live.kill();
      await live.exited;
    }
  });

  it('another host\'s scratch file beside a lock on a shared file system is never swept (pids are per host); an older version\'s, without a host, of a dead pid is', async () => {
    const lockPath = path.join(dir, 'bri.lock');
    const h = await holder(lockPath);
    h.kill();
    await h.exited;
    const deadPid = (await readLockFileOwner(lockPath))!.pid;
    const otherHost = `bri.lock.some-other-host.${deadPid}.0123456789ab.tmp`;
    const legacy = `bri.lock.${deadPid}.0123456789ab.tmp`;
    await fsp.writeFile(path.join(dir, otherHost), '');
    await fsp.writeFile(path.join(dir, legacy), '');
    const lock = await acquireLockFile(lockPath, 'next', 'test');
    expect((await fsp.readdir(dir)).sort()).toEqual(['bri.lock', otherHost].sort());
    await lock.release();
  });

  describe('a pid that came back (a container restarted after a crash, a reboot)', () => {
    const linux = process.platform === 'linux';
    const write = (lockPath: string, owner: Record<string, unknown>) => fsp.writeFile(lockPath, JSON.stringify({ host: os.hostname(), since: 1_700_000_000_000, purpose: 'store', ...owner }) + '\n');

    it('a lock with this process\'s pid that this process did not take is an earlier process\'s: taken over', async () => {
      const lockPath = path.join(dir, 'bri.lock');
      await write(lockPath, { pid: process.pid });
      const lock = await acquireLockFile(lockPath, 'after restart', 'test');
      expect((await readLockFileOwner(lockPath))?.purpose).toBe('after restart');
      // And the one it took is this process's: a second acquire is told so.
      await expect(acquireLockFile(lockPath, 'again', 'test')).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining('in this process') });
      await lock.release();
      expect(await fsp.readdir(dir)).toEqual([]);
    });

    it.skipIf(!linux)('a live pid that started after the lock was taken is another process: taken over (Linux)', async () => {
      const lockPath = path.join(dir, 'bri.lock');
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        await new Promise((r) => setTimeout(r, 50));
        const start = processStart(sleeper.pid!);
        expect(start).not.toBeNull();
        const theirs = { pid: sleeper.pid, boot: bootId(), start };
        expect(isLiveOwner({ ...theirs, host: os.hostname(), since: 1, purpose: 'x' } as never), 'its own start: live').toBe(true);
        await write(lockPath, { ...theirs, start: String(Number(start) - 100) });
        const lock = await acquireLockFile(lockPath, 'next', 'test');
        expect((await readLockFileOwner(lockPath))?.purpose).toBe('next');
        await lock.release();
        await write(lockPath, theirs);
        await expect(acquireLockFile(lockPath, 'next', 'test')).rejects.toMatchObject({ code: 'LOCKED' });
      } finally {
        sleeper.kill('SIGKILL');
      }
    });

    it.skipIf(!linux)('a lock taken before a reboot is stale even if its pid is alive now (Linux)', async () => {
      const lockPath = path.join(dir, 'bri.lock');
      await write(lockPath, { pid: 1, boot: '00000000-0000-0000-0000-000000000000' });
      const lock = await acquireLockFile(lockPath, 'after reboot', 'test');
      expect((await readLockFileOwner(lockPath))?.purpose).toBe('after reboot');
      await lock.release();
    });

    it('a lock of another host is still assumed alive, and the error says how to clear it', async () => {
      const lockPath = path.join(dir, 'bri.lock');
      await fsp.writeFile(lockPath, JSON.stringify({ pid: 1, host: 'elsewhere', since: 1, purpose: 'store' }));
      await expect(acquireLockFile(lockPath, 'next', 'test')).rejects.toMatchObject({ code: 'LOCKED', hint: expect.stringContaining(lockPath) });
    });
  });
});
