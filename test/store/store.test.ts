import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BriStore } from '../../src/store/store.js';
import { verifyChain } from '../../src/store/wal/chain.js';
import { recover } from '../../src/store/recovery.js';
import { listSegments } from '../../src/store/layout.js';
import { computePointer } from '../../src/format/pointer.js';
import { decodeJss } from '../../src/format/jss.js';
import { parseWalLine } from '../../src/format/wal-line.js';
import { toPlainState } from '../../src/format/state.js';
import { ensureArchiveState } from '../../src/store/archive-state.js';
import { FIXTURE_KEY, makeTempDir } from '../support/fixtures.js';

const dirs: string[] = [];
async function tempDataDir(): Promise<string> {
  const d = await makeTempDir('bri-store-');
  dirs.push(d);
  return path.join(d, 'data');
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
});

async function allLines(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const seg of await listSegments(dir)) {
    const text = await fsp.readFile(seg.path, 'utf8');
    if (text !== '') out.push(...text.replace(/\n$/, '').split('\n'));
  }
  return out;
}

describe('store', () => {
  it('reads back what it wrote, after a restart, and writes BRI lines', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, snapshotOnClose: false });
    const when = new Date(1700000000000);
    await db.set('USER_1', { name: 'Ada', joined: when, tags: new Set(['a']) });
    await db.sAdd('USER?', '1');
    await db.set('USER_2', { name: 'Linus' });
    await db.rename('USER_2', 'X:USER_2:X');
    await db.sAdd('USER?', '2');
    await db.sRem('USER?', '2');
    await db.delete('X:USER_2:X');
    expect(db.get('USER_1')).toEqual({ name: 'Ada', joined: when, tags: new Set(['a']) });
    expect(db.getRaw('USER_1')).toBe('{"name":"Ada","joined<!D>":1700000000000,"tags<!S>":["a"]}');
    const before = toPlainState(db.state);
    await db.close();

    const lines = await allLines(dataDir);
    expect(lines).toHaveLength(7);
    let prev = '';
    for (const l of lines) {
      expect(l).toMatch(/^\d{13}\|[0-9a-f]{8}\|\{"action":"(SET|DELETE|RENAME|SADD|SREM)","target":/);
      const parsed = parseWalLine(l)!;
      expect(parsed.pointer).toBe(computePointer(prev, parsed.entry));
      prev = parsed.pointer;
    }
    expect(lines[0]).toContain('{"action":"SET","target":"USER_1","value":"{\\"name\\":\\"Ada\\",\\"joined<!D>\\":1700000000000,\\"tags<!S>\\":[\\"a\\"]}"}');
    expect(lines[3]).toContain('{"action":"RENAME","target":"X:USER_2:X","oldKey":"USER_2"}');
    expect(fs.readdirSync(path.join(dataDir, 'wal'))).toEqual(['000000.wal']);

    const again = await BriStore.open({ dataDir, snapshotOnClose: false });
    expect(toPlainState(again.state)).toEqual(before);
    await again.set('K', 'raw string value');
    await again.close();
    // The chain continues across the restart.
    expect((await verifyChain(dataDir)).ok).toBe(true);
  });

  it('rotates before a line would pass walSegmentSize, and the chain runs across segments', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, walSegmentSize: 1024, snapshotOnClose: false });
    const writes = [];
    for (let i = 0; i < 60; i++) writes.push(db.set(`K_${i}`, { i, pad: 'x'.repeat(40) }));
    await Promise.all(writes);
    await db.close();
    const segs = await listSegments(dataDir);
    expect(segs.length).toBeGreaterThan(3);
    expect(segs.map((s) => s.name)).toEqual(segs.map((_, i) => `${String(i).padStart(6, '0')}.wal`));
    for (const s of segs) expect(s.size).toBeLessThanOrEqual(1024);
    const report = await verifyChain(dataDir);
    expect(report).toMatchObject({ ok: true, lines: 60 });
  });

  it('writes a snapshot as BRI does (v2 fields, tmp then rename) and rotates after it', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, snapshotOnClose: false });
    await db.set('USER_1', { name: 'Ada', at: new Date(5) });
    await db.sAdd('USER?', '1');
    const info = await db.createSnapshot();
    expect(info).toMatchObject({ walLine: 2, nextSegment: 1 });
    await db.set('USER_2', { name: 'Bob' });
    await db.close();
    const snap = decodeJss<Record<string, unknown>>(await fsp.readFile(path.join(dataDir, 'snapshot.jss'), 'utf8'));
    expect(Object.keys(snap)).toEqual(['version', 'walLine', 'timestamp', 'documents', 'collections']);
    expect(snap).toMatchObject({ version: 2, walLine: 2, documents: { USER_1: { name: 'Ada', at: new Date(5) } }, collections: { 'USER?': ['1'] } });
    expect(snap.timestamp).toBeInstanceOf(Date);
    expect(fs.existsSync(path.join(dataDir, 'snapshot.jss.tmp'))).toBe(false);
    expect(fs.readdirSync(path.join(dataDir, 'wal'))).toEqual(['000000.wal', '000001.wal']);
    const rec = await recover(dataDir);
    expect(rec.replayed).toBe(1);
    expect(rec.state.documents.get('USER_2')).toBe('{"name":"Bob"}');
  });

  it('clean close takes a final snapshot and rotates, as BRI does', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir });
    await db.set('A', { a: 1 });
    await db.close();
    const rec = await recover(dataDir);
    expect(rec.snapshot?.walLine).toBe(1);
    expect(rec.replayed).toBe(0);
    expect(fs.readFileSync(path.join(dataDir, 'wal', '000001.wal'), 'utf8')).toBe('');
  });

  it('batched mode acknowledges and persists every write', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, fsyncMode: 'batched', batchIntervalMs: 5, snapshotOnClose: false });
    await Promise.all(Array.from({ length: 500 }, (_, i) => db.sAdd('S', String(i))));
    await db.close();
    const rec = await recover(dataDir);
    expect(rec.state.collections.get('S')?.size).toBe(500);
  });

  it('batched mode keeps every write when its syncs fall during rotations, flushes and seals', async () => {
    // Syncs every millisecond beside the writes, segments of 2 KiB (a rotation every few lines),
    // snapshots and seals in between: a sync started on a segment being closed would fail the writer.
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, fsyncMode: 'batched', batchIntervalMs: 1, walSegmentSize: 2048, snapshotOnClose: false });
    for (let round = 0; round < 40; round++) {
      const writes = Array.from({ length: 25 }, (_, i) => db.set(`K${round}_${i}`, { round, i, pad: 'x'.repeat(40) }));
      if (round % 10 === 3) writes.push(db.createSnapshot().then(() => undefined as never));
      if (round % 10 === 7) writes.push(db.sealForArchive(0).then(() => undefined as never));
      await Promise.all(writes);
      await new Promise((r) => setTimeout(r, round % 3));
    }
    await db.close();
    const rec = await recover(dataDir);
    expect(rec.state.documents.size).toBe(1000);
    expect((await verifyChain(dataDir)).ok).toBe(true);
  });

  it('WAL cleanups (without a seal to reuse) and snapshots racing writes: reopened, the state is what the writes made and the chain verifies', async () => {
    // The cleanup's snapshot is encoded a slice at a time while the writes go on: it must hold the
    // state at the line it says, however the writes that follow interleave with its reading.
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, fsyncMode: 'batched', batchIntervalMs: 2, walSegmentSize: 64 * 1024, snapshotOnClose: false });
    await ensureArchiveState(dataDir);
    // Enough documents that a snapshot takes several slices of the event loop to encode.
    await Promise.all(Array.from({ length: 20_000 }, (_, i) => db.set(`BULK${i}`, { i, text: 'z'.repeat(60) })));
    let removed = 0;
    for (let round = 0; round < 8; round++) {
      const writes: Array<Promise<unknown>> = [];
      for (let i = 0; i < 40; i++) writes.push(db.set(`K${(round * 7 + i) % 30}`, { round, i, pad: 'y'.repeat(30) }));
      writes.push(db.sAdd('S', `m${round}`), db.sAdd(`T${round % 3}`, `n${round}`));
      if (round % 4 === 3) writes.push(db.sRem('S', `m${round - 2}`), db.rename(`K${round % 30}`, `R${round}`), db.delete(`K${(round + 5) % 30}`));
      if (round % 2 === 1) {
        // Every closed segment is safe: the cleanup goes past any seal, so it encodes the state itself.
        await Promise.all(Array.from({ length: 300 }, (_, i) => db.set(`P${i}`, { round, i })));
        let done = false;
        const cleanup = db.removeArchivedSegments(db.info().totalLines, removed).then((r) => {
          removed += r.lines;
          done = true;
        });
        // Writes between the encode's slices: a rename then a write of the old key, which, replayed
        // over a snapshot that already holds them, give another state.
        for (let i = 0; !done && i < 20_000; i++) {
          writes.push(db.rename(`P${i % 300}`, `M${round}_${i}`), db.set(`P${i % 300}`, { again: round, i }));
          await new Promise((r) => setImmediate(r));
        }
        writes.push(cleanup);
      }
      if (round % 4 === 2) writes.push(db.createSnapshot());
      await Promise.all(writes);
    }
    const expected = toPlainState(db.state);
    await db.close();
    expect(removed).toBeGreaterThan(0);
    const again = await BriStore.open({ dataDir, snapshotOnClose: false });
    try {
      expect(toPlainState(again.state)).toEqual(expected);
    } finally {
      await again.close();
    }
    expect((await verifyChain(dataDir)).ok).toBe(true);
  });

  it('writes awaited one after another leave the event loop its turns (timers run while such a loop goes on)', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, fsyncMode: 'batched', snapshotOnClose: false });
    try {
      let ticks = 0;
      let writing = true;
      const tick = (): void => {
        if (!writing) return;
        ticks++;
        setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      const t0 = performance.now();
      for (let i = 0; i < 20_000; i++) await db.set(`K${i % 100}`, { i });
      const ms = performance.now() - t0;
      writing = false;
      // A run of writes gives the event loop a turn at least every few milliseconds: a loop this long
      // (well over 10 ms) let the timer fire again and again, where microtasks alone would not let it fire at all.
      expect(ms).toBeGreaterThan(10);
      expect(ticks).toBeGreaterThan(1);
    } finally {
      await db.close();
    }
  });

  it('encrypts entries and snapshots with a key, and reads them back', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, encryptionKey: FIXTURE_KEY });
    await db.set('A', { secret: 'x' });
    await db.close();
    const wal = await fsp.readFile(path.join(dataDir, 'wal', '000000.wal'), 'utf8');
    expect(wal).not.toContain('secret');
    expect(await fsp.readFile(path.join(dataDir, 'snapshot.jss'), 'utf8')).not.toContain('secret');
    const again = await BriStore.open({ dataDir, encryptionKey: FIXTURE_KEY, snapshotOnClose: false });
    expect(again.get('A')).toEqual({ secret: 'x' });
    await again.close();
    expect((await verifyChain(dataDir, { encryptionKey: Buffer.from(FIXTURE_KEY, 'hex') })).ok).toBe(true);
  });

  it('cuts a torn last line before appending, keeping the chain', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, snapshotOnClose: false });
    await db.set('A', { a: 1 });
    await db.close();
    await fsp.appendFile(path.join(dataDir, 'wal', '000000.wal'), '1700000000000|0123abcd|{"action":"SET","tar');
    const again = await BriStore.open({ dataDir, snapshotOnClose: false });
    expect(again.info().totalLines).toBe(1);
    await again.set('B', { b: 2 });
    await again.close();
    expect(await verifyChain(dataDir)).toMatchObject({ ok: true, lines: 2, tornTail: null });
  });
});

describe('one writer per data directory', () => {
  it('refuses a second opener, naming the holder', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, snapshotOnClose: false });
    await expect(BriStore.open({ dataDir })).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
    await db.close();
    const reopened = await BriStore.open({ dataDir, snapshotOnClose: false });
    await reopened.close();
  });

  it('refuses when another live process holds the lock', async () => {
    const dataDir = await tempDataDir();
    await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
    // pid 1 is alive on every Linux machine.
    await fsp.writeFile(path.join(dataDir, 'bri.lock'), JSON.stringify({ pid: 1, host: os.hostname(), since: Date.now(), purpose: 'store' }));
    await expect(BriStore.open({ dataDir })).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining('pid 1 on'), hint: expect.any(String) });
  });

  it('opens after a crash in a restarted container: the lock names this pid, but an earlier process took it', async () => {
    const dataDir = await tempDataDir();
    const db = await BriStore.open({ dataDir, snapshotOnClose: false });
    await db.set('A', { n: 1 });
    await db.close();
    // What the crashed process left: its lock, with the pid this process has now (pid 1 or 7 again in a container).
    await fsp.writeFile(path.join(dataDir, 'bri.lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), since: Date.now() - 60_000, purpose: 'store' }) + '\n');
    const reopened = await BriStore.open({ dataDir, snapshotOnClose: false });
    expect(reopened.get('A')).toEqual({ n: 1 });
    await expect(BriStore.open({ dataDir })).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining('in this process') });
    await reopened.close();
  });

  it('takes over a stale lock whose process is dead', async () => {
    const dataDir = await tempDataDir();
    await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
    await fsp.writeFile(path.join(dataDir, 'bri.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), since: 0, purpose: 'store' }));
    const db = await BriStore.open({ dataDir, snapshotOnClose: false });
    expect(JSON.parse(await fsp.readFile(path.join(dataDir, 'bri.lock'), 'utf8')).pid).toBe(process.pid);
    await db.close();
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
  });
});

type Op = { kind: 'set'; key: string; value: number } | { kind: 'del'; key: string } | { kind: 'ren'; from: string; to: string } | { kind: 'sadd' | 'srem'; set: string; member: string } | { kind: 'snapshot' } | { kind: 'restart' };

describe('replay equals applying the operations to a Map (property)', () => {
  const key = fc.constantFrom('a', 'b', 'c', 'd');
  const setName = fc.constantFrom('S1', 'S2');
  const member = fc.constantFrom('x', 'y', 'z');
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), key }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('ren' as const), from: key, to: key }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('sadd' as const, 'srem' as const), set: setName, member }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  );

  it('for random operations, snapshots and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.integer({ min: 200, max: 2000 }), async (ops, segmentSize) => {
        const dataDir = await tempDataDir();
        const docs = new Map<string, string>();
        const sets = new Map<string, Set<string>>();
        let db = await BriStore.open({ dataDir, walSegmentSize: segmentSize, snapshotOnClose: false });
        for (const o of ops) {
          if (o.kind === 'set') {
            await db.set(o.key, { v: o.value });
            docs.set(o.key, JSON.stringify({ v: o.value }));
          } else if (o.kind === 'del') {
            await db.delete(o.key);
            docs.delete(o.key);
          } else if (o.kind === 'ren') {
            await db.rename(o.from, o.to);
            const v = docs.get(o.from);
            if (v !== undefined) {
              docs.delete(o.from);
              docs.set(o.to, v);
            }
          } else if (o.kind === 'sadd') {
            await db.sAdd(o.set, o.member);
            if (!sets.has(o.set)) sets.set(o.set, new Set());
            sets.get(o.set)!.add(o.member);
          } else if (o.kind === 'srem') {
            await db.sRem(o.set, o.member);
            sets.get(o.set)?.delete(o.member);
          } else if (o.kind === 'snapshot') {
            await db.createSnapshot();
          } else {
            await db.close();
            db = await BriStore.open({ dataDir, walSegmentSize: segmentSize, snapshotOnClose: false });
          }
        }
        await db.close();
        const rec = await recover(dataDir);
        expect(Object.fromEntries(rec.state.documents)).toEqual(Object.fromEntries(docs));
        expect(Object.fromEntries([...rec.state.collections].map(([k, v]) => [k, [...v].sort()]))).toEqual(
          Object.fromEntries([...sets].map(([k, v]) => [k, [...v].sort()])),
        );
        // And from the raw WAL alone, ignoring the snapshot.
        const raw = await recover(dataDir, { ignoreSnapshot: true });
        expect(Object.fromEntries(raw.state.documents)).toEqual(Object.fromEntries(docs));
        expect((await verifyChain(dataDir)).ok).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('a data directory deleted under the open store', () => {
  it('a write is refused (not acknowledged into a deleted file); a snapshot, and the close that takes one, fail with a typed IO_ERROR naming the file', async () => {
    const dataDir = await tempDataDir();
    const store = await BriStore.open({ dataDir });
    await store.set('K', '{"v":1}');
    await fsp.rm(dataDir, { recursive: true, force: true });
    // A write is refused, not acknowledged into a deleted file ('always': at once).
    const lost = (await store.set('L', '{"v":2}').then(() => null, (e: unknown) => e)) as { code?: string; message?: string } | null;
    expect(lost?.code).toBe('IO_ERROR');
    expect(lost?.message).toMatch(/deleted while the database was open/);
    // 'batched': the writes after the next sync (those before it were acknowledged before any sync, as always in that mode).
    const batchedDir = await tempDataDir();
    const batched = await BriStore.open({ dataDir: batchedDir, fsyncMode: 'batched', batchIntervalMs: 10 });
    await batched.set('K', '{"v":1}');
    await fsp.rm(batchedDir, { recursive: true, force: true });
    await batched.set('K', '{"v":2}').catch(() => undefined);
    // The next sync finds it (every 10 ms; on a loaded machine later): the writes after it are refused.
    let after: { code?: string } | null = null;
    for (let i = 0; i < 100 && after === null; i++) {
      await new Promise((r) => setTimeout(r, 30));
      after = (await batched.set('L', '{"v":3}').then(() => null, (e: unknown) => e)) as { code?: string } | null;
    }
    expect(after?.code).toBe('IO_ERROR');
    await batched.close().catch(() => undefined);
    for (const step of [() => store.createSnapshot(), () => store.close()]) {
      const err = (await step().catch((e: unknown) => e)) as { code?: string; message?: string; details?: { errno?: string } };
      expect(err.code, err.message).toBe('IO_ERROR');
      expect(err.message).toMatch(/snapshot\.jss|deleted while the database was open/);
    }
  });
});
