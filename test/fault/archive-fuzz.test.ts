/**
 * Thousands of random corruptions of a real archive: flipped bytes, zeroed or
 * garbage ranges, truncations, duplicated, dropped and shuffled 512-byte
 * blocks, aimed at random places and at the places that matter (tar headers
 * and their fields, the manifest, member data, padding). For each mutated
 * file, readManifest, verifyArchive and replayArchive must end in a typed
 * error (or a report that says what is wrong), or in the right answer: never
 * a crash, never a hang, never a wrong state, never a byte written anywhere.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest, readPackage } from '../../src/archive/package/reader.js';
import { replayArchive, type ReplayResult } from '../../src/archive/package/replay.js';
import { verifyArchive, type VerifyReport } from '../../src/archive/package/verify.js';
import { BriError } from '../../src/errors.js';
import type { Manifest } from '../../src/format/manifest.js';
import { toPlainState } from '../../src/format/state.js';
import { makeTempDir, normalizeState } from '../support/fixtures.js';
import { BLOCK, makeSampleArchives, tarLayout, tarMembers, watchWrites, type MemberLayout, within } from '../support/hostile-tar.js';

/** Runs per property; the total is printed at the end (≥ 2000). */
const RUNS = { anywhere: 600, headers: 400, truncate: 250, blocks: 300, mixed: 200, recovery: 250 };
/** A read that takes longer than this is a hang. */
const HANG_MS = 5_000;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const ALLOWED_CODES = ['ARCHIVE_INVALID', 'ARCHIVE_CORRUPTED'];

const root = await makeTempDir('bri-archive-fuzz-');
const casesRoot = path.join(root, 'cases');
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

interface Baseline {
  bytes: Buffer;
  fileName: string;
  layout: MemberLayout[];
  endOffset: number;
  members: Map<string, Buffer>;
  manifest: Manifest;
  state: ReturnType<typeof normalizeState>;
  appliedThrough: number;
}
/** The archive the current properties mutate (plain first, then the one with PAR2 recovery data). */
let base!: Baseline;
let plain!: Baseline;
let withRecovery!: Baseline;
let mutations = 0;
const outcomes = { verifyOk: 0, verifyProblems: 0, replayOk: 0, replayRefused: 0, manifestOk: 0, manifestRefused: 0, verifyOkWithDamagedRecovery: 0 };
const codesSeen = new Map<string, number>();

async function loadBaseline(dir: string, recovery: boolean): Promise<Baseline> {
  const sample = await makeSampleArchives(dir, { level: 3, segmentSize: 4096, recovery });
  const bytes = await fsp.readFile(sample.second.file);
  const { members, endOffset } = tarLayout(bytes);
  const replay = await replayArchive(sample.second.file);
  const m = sample.second.manifest;
  expect(members.map((x) => x.name)).toEqual([
    'manifest.jss',
    'snapshot.jss.zst',
    ...m.contents.segments.map((s) => s.file),
    'checksums.sha256',
    ...(recovery ? ['recovery.par2'] : []),
  ]);
  expect(m.contents.segments.length).toBeGreaterThanOrEqual(3);
  expect(replay.state.documents.size).toBeGreaterThan(0);
  expect((await verifyArchive(sample.second.file)).ok).toBe(true);
  return {
    bytes,
    fileName: path.basename(sample.second.file),
    layout: members,
    endOffset,
    members: tarMembers(bytes),
    manifest: replay.manifest,
    state: normalizeState(toPlainState(replay.state)),
    appliedThrough: replay.appliedThrough,
  };
}

beforeAll(async () => {
  await fsp.mkdir(casesRoot);
  plain = await loadBaseline(path.join(root, 'plain'), false);
  withRecovery = await loadBaseline(path.join(root, 'par2'), true);
  base = plain;
}, 60_000);

afterAll(() => {
  console.log(`archive fuzz: ${mutations} mutated archives; ${JSON.stringify(outcomes)}; codes ${JSON.stringify(Object.fromEntries(codesSeen))}`);
});

// ---------------------------------------------------------------------------
// Mutations. Offsets are taken modulo the current length (earlier mutations may change it).

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'zero'; at: number; len: number }
  | { kind: 'garbage'; at: number; bytes: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'dupBlock'; from: number; to: number }
  | { kind: 'dropBlock'; block: number }
  | { kind: 'swapBlocks'; a: number; b: number }
  | { kind: 'shuffleBlocks'; first: number; order: number[] };

function blocksOf(buf: Buffer): number {
  return Math.max(1, Math.ceil(buf.length / BLOCK));
}

function apply(original: Buffer, muts: Mutation[]): Buffer {
  let buf = Buffer.from(original);
  for (const m of muts) {
    if (buf.length === 0) break;
    const at = (n: number) => n % buf.length;
    const block = (n: number) => buf.subarray((n % blocksOf(buf)) * BLOCK, (n % blocksOf(buf)) * BLOCK + BLOCK);
    switch (m.kind) {
      case 'flip': {
        const i = at(m.at);
        buf[i] = buf[i]! ^ m.xor;
        break;
      }
      case 'set':
        buf[at(m.at)] = m.value;
        break;
      case 'zero':
        buf.fill(0, at(m.at), Math.min(buf.length, at(m.at) + m.len));
        break;
      case 'garbage': {
        const o = at(m.at);
        Buffer.from(m.bytes).copy(buf, o, 0, Math.min(m.bytes.length, buf.length - o));
        break;
      }
      case 'truncate':
        buf = buf.subarray(0, at(m.at));
        break;
      case 'dupBlock': {
        const copy = Buffer.from(block(m.from));
        const to = (m.to % blocksOf(buf)) * BLOCK;
        buf = Buffer.concat([buf.subarray(0, to), copy, buf.subarray(to)]);
        break;
      }
      case 'dropBlock': {
        const b = (m.block % blocksOf(buf)) * BLOCK;
        buf = Buffer.concat([buf.subarray(0, b), buf.subarray(b + BLOCK)]);
        break;
      }
      case 'swapBlocks': {
        const a = Buffer.from(block(m.a));
        const b = Buffer.from(block(m.b));
        if (a.length !== b.length) break;
        b.copy(buf, (m.a % blocksOf(buf)) * BLOCK);
        a.copy(buf, (m.b % blocksOf(buf)) * BLOCK);
        break;
      }
      case 'shuffleBlocks': {
        const n = blocksOf(buf);
        const first = m.first % n;
        const k = Math.min(m.order.length, n - first);
        if (k < 2 || (first + k) * BLOCK > buf.length) break;
        const blocks = Array.from({ length: k }, (_, i) => Buffer.from(buf.subarray((first + i) * BLOCK, (first + i + 1) * BLOCK)));
        const order = m.order.filter((i) => i < k);
        order.forEach((src, i) => blocks[src]!.copy(buf, (first + i) * BLOCK));
        break;
      }
    }
  }
  return buf;
}

/** Offsets that matter: anywhere, in headers (and their fields), in the manifest, in member data, in padding and the end blocks. */
function offsetArb(): fc.Arbitrary<number> {
  const { layout, bytes, endOffset } = base;
  const member = fc.constantFrom(...layout);
  const fields = [0, 50, 99, 100, 108, 116, 124, 130, 135, 136, 148, 153, 154, 155, 156, 157, 257, 262, 263, 265, 329, 345, 400];
  const manifest = layout[0]!;
  return fc.oneof(
    { weight: 3, arbitrary: fc.nat(bytes.length - 1) },
    { weight: 2, arbitrary: member.chain((m) => fc.integer({ min: m.headerOffset, max: m.headerOffset + BLOCK - 1 })) },
    { weight: 2, arbitrary: fc.tuple(member, fc.constantFrom(...fields), fc.nat(11)).map(([m, f, d]) => m.headerOffset + Math.min(BLOCK - 1, f + (f === 124 || f === 148 ? d % 8 : 0))) },
    { weight: 2, arbitrary: fc.integer({ min: manifest.dataOffset, max: manifest.dataOffset + manifest.size - 1 }) },
    { weight: 2, arbitrary: member.chain((m) => fc.integer({ min: m.dataOffset, max: m.dataOffset + Math.max(0, m.size - 1) })) },
    { weight: 1, arbitrary: fc.integer({ min: Math.max(0, endOffset - 8), max: bytes.length - 1 }) },
    { weight: 1, arbitrary: member.map((m) => m.dataOffset + m.size) }, // first padding byte, or the next header
  );
}

function byteMutationArb(): fc.Arbitrary<Mutation> {
  const at = offsetArb();
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at, xor: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), at, value: fc.constantFrom(0, 0x20, 0x2f, 0x30, 0x37, 0x38, 0x2e, 0x7f, 0x80, 0xff) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('zero' as const), at, len: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 4096 })) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), at, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 600 }) }) },
  );
}

function truncateArb(): fc.Arbitrary<Mutation> {
  const { layout, bytes } = base;
  const boundaries = layout.flatMap((m) => [m.headerOffset, m.headerOffset + 1, m.dataOffset, m.dataOffset + m.size, m.dataOffset + Math.ceil(m.size / BLOCK) * BLOCK]);
  return fc.record({
    kind: fc.constant('truncate' as const),
    at: fc.oneof(fc.nat(bytes.length - 1), fc.constantFrom(...boundaries, bytes.length - 1, bytes.length - BLOCK, bytes.length - 2 * BLOCK)),
  });
}

function blockMutationArb(): fc.Arbitrary<Mutation> {
  const n = blocksOf(base.bytes);
  const blk = fc.nat(n - 1);
  return fc.oneof(
    fc.record({ kind: fc.constant('dupBlock' as const), from: blk, to: blk }),
    fc.record({ kind: fc.constant('dropBlock' as const), block: blk }),
    fc.record({ kind: fc.constant('swapBlocks' as const), a: blk, b: blk }),
    fc.record({ kind: fc.constant('shuffleBlocks' as const), first: blk, order: fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 2, maxLength: 8 }) }),
  );
}

// ---------------------------------------------------------------------------
// One mutated file through the three readers.


function expectTypedRefusal(what: string, error: unknown): void {
  if (!(error instanceof BriError)) {
    throw new Error(`${what} crashed with a non-BriError: ${(error as Error)?.stack ?? String(error)}`);
  }
  expect(ALLOWED_CODES, `${what}: code ${error.code} (${error.message})`).toContain(error.code);
  expect(error.message.length).toBeGreaterThan(0);
  codesSeen.set(`${what}:${error.code}`, (codesSeen.get(`${what}:${error.code}`) ?? 0) + 1);
}

/** The manifest and member bytes as a reader sees them (only called on a file verify accepted). */
async function memberBytes(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  await readPackage(file, {
    manifest(_m, rawSha256) {
      out.set('manifest.jss', Buffer.from(rawSha256, 'hex'));
    },
    async member(info, data) {
      const chunks: Buffer[] = [];
      for await (const c of data) chunks.push(c);
      out.set(info.name, Buffer.concat(chunks));
    },
  });
  return out;
}

async function checkMutated(muts: Mutation[]): Promise<void> {
  const bytes = apply(base.bytes, muts);
  mutations++;
  const dir = await fsp.mkdtemp(path.join(casesRoot, 'c-'));
  const file = path.join(dir, base.fileName);
  await fsp.writeFile(file, bytes);
  const watch = watchWrites();
  let m, v, r;
  try {
    // The three readers at once, as concurrent readers of one file would be (and it overlaps their I/O waits).
    [m, v, r] = await Promise.all([
      within('readManifest', HANG_MS, () => readManifest(file)),
      within('verifyArchive', HANG_MS, () => verifyArchive(file)),
      within('replayArchive', HANG_MS, () => replayArchive(file)),
    ]);
  } finally {
    watch.stop();
  }
  expect(watch.calls, 'reading an archive must write nothing').toEqual([]);

  if (m.ok) outcomes.manifestOk++;
  else {
    outcomes.manifestRefused++;
    expectTypedRefusal('readManifest', m.error);
  }

  // verifyArchive reports; it never throws for a bad archive.
  if (!v.ok) throw new Error(`verifyArchive threw: ${(v.error as Error)?.stack ?? String(v.error)}`);
  const report: VerifyReport = v.value;
  if (report.error) {
    expect(ALLOWED_CODES, `verify error ${JSON.stringify(report.error)}`).toContain(report.error.code);
    codesSeen.set(`verify:${report.error.code}`, (codesSeen.get(`verify:${report.error.code}`) ?? 0) + 1);
  }
  if (report.ok) {
    outcomes.verifyOk++;
    expect(report.problems).toEqual([]);
    expect(report.error).toBeNull();
    // ok only when the bytes that matter are intact: every member exactly as written, and the same state.
    const seen = await memberBytes(file);
    for (const [name, data] of base.members) {
      if (name === 'recovery.par2') {
        // Not part of the state; whether verify notices damage to it is checked on its own below.
        if (!seen.get(name)?.equals(data)) outcomes.verifyOkWithDamagedRecovery++;
        continue;
      }
      const expected = name === 'manifest.jss' ? createHash('sha256').update(data).digest() : data;
      expect(seen.get(name)?.equals(expected), `member ${name} after a mutation verify accepted`).toBe(true);
    }
    expect([...seen.keys()]).toEqual([...base.members.keys()]);
    expect(r.ok, `replay after verify said ok: ${r.ok ? '' : (r.error as Error).message}`).toBe(true);
    expect(m.ok).toBe(true);
  } else {
    outcomes.verifyProblems++;
    expect(report.problems.length).toBeGreaterThan(0);
  }

  // replayArchive: a typed refusal, or exactly the original state (never a wrong one).
  if (r.ok) {
    outcomes.replayOk++;
    const result: ReplayResult = r.value;
    expect(normalizeState(toPlainState(result.state)), 'state replayed from a mutated archive').toEqual(base.state);
    expect(result.appliedThrough).toBe(base.appliedThrough);
  } else {
    outcomes.replayRefused++;
    expectTypedRefusal('replayArchive', r.error);
  }
  if (m.ok && report.ok) expect(m.value).toEqual(base.manifest);

  // Nothing but the mutated file in its directory.
  expect(await fsp.readdir(dir)).toEqual([base.fileName]);
  await fsp.rm(dir, { recursive: true, force: true });
}

const params = (numRuns: number) => ({ numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });

describe('random corruption of a real archive', () => {
  it(`bytes flipped, set, zeroed or overwritten anywhere (${RUNS.anywhere} archives)`, async () => {
    await fc.assert(fc.asyncProperty(fc.array(byteMutationArb(), { minLength: 1, maxLength: 4 }), checkMutated), params(RUNS.anywhere));
  }, 120_000);

  it(`tar header fields hit one byte at a time (${RUNS.headers} archives)`, async () => {
    const { layout } = base;
    const headerByte = fc.tuple(fc.constantFrom(...layout), fc.nat(BLOCK - 1), fc.integer({ min: 1, max: 255 })).map(
      ([m, o, xor]): Mutation => ({ kind: 'flip', at: m.headerOffset + o, xor }),
    );
    await fc.assert(fc.asyncProperty(fc.array(headerByte, { minLength: 1, maxLength: 2 }), checkMutated), params(RUNS.headers));
  }, 120_000);

  it(`truncated at random and at member boundaries (${RUNS.truncate} archives)`, async () => {
    await fc.assert(fc.asyncProperty(truncateArb(), (t) => checkMutated([t])), params(RUNS.truncate));
  }, 120_000);

  it(`512-byte blocks duplicated, dropped, swapped, shuffled (${RUNS.blocks} archives)`, async () => {
    await fc.assert(fc.asyncProperty(fc.array(blockMutationArb(), { minLength: 1, maxLength: 2 }), checkMutated), params(RUNS.blocks));
  }, 120_000);

  it(`mixed: several kinds at once (${RUNS.mixed} archives)`, async () => {
    const any = fc.oneof(byteMutationArb(), truncateArb(), blockMutationArb());
    await fc.assert(fc.asyncProperty(fc.array(any, { minLength: 2, maxLength: 5 }), checkMutated), params(RUNS.mixed));
  }, 120_000);

  it('every single-block truncation and every dropped block, exhaustively', async () => {
    const n = blocksOf(base.bytes);
    for (let b = 0; b < n; b++) {
      await checkMutated([{ kind: 'truncate', at: b * BLOCK }]);
      await checkMutated([{ kind: 'dropBlock', block: b }]);
      await checkMutated([{ kind: 'zero', at: b * BLOCK, len: BLOCK }]);
    }
  }, 120_000);
});

describe('random corruption of an archive that carries PAR2 recovery data', () => {
  beforeAll(() => {
    base = withRecovery;
  });
  afterAll(() => {
    base = plain;
  });

  it(`every kind of mutation, anywhere (recovery.par2 included) (${RUNS.recovery} archives)`, async () => {
    const any = fc.oneof(byteMutationArb(), truncateArb(), blockMutationArb());
    await fc.assert(fc.asyncProperty(fc.array(any, { minLength: 1, maxLength: 3 }), checkMutated), params(RUNS.recovery));
    expect(mutations, 'mutated archives in this file').toBeGreaterThanOrEqual(2000);
  }, 120_000);

  it('damaged data and every copy of a PAR2 packet type damaged too: verify still reports, it does not throw', async () => {
    const rec = base.layout.find((m) => m.name === 'recovery.par2')!;
    const wal = base.layout.find((m) => m.name.startsWith('wal/'))!;
    for (const type of ['IFSC', 'Main', 'FileDesc', 'RecvSlic']) {
      const muts: Mutation[] = [{ kind: 'flip', at: wal.dataOffset + 10, xor: 0xff }];
      for (let i = base.bytes.indexOf('PAR2\0PKT', rec.dataOffset, 'latin1'); i >= 0; i = base.bytes.indexOf('PAR2\0PKT', i + 8, 'latin1')) {
        if (base.bytes.toString('latin1', i + 48, i + 64).includes(type)) muts.push({ kind: 'flip', at: i + 70, xor: 0xff });
      }
      expect(muts.length, `packets of type ${type}`).toBeGreaterThan(1);
      const dir = await fsp.mkdtemp(path.join(casesRoot, 'p-'));
      const file = path.join(dir, base.fileName);
      await fsp.writeFile(file, apply(base.bytes, muts));
      const v = await within('verifyArchive', HANG_MS, () => verifyArchive(file));
      if (!v.ok) throw new Error(`verifyArchive threw with every ${type} packet damaged: ${(v.error as Error)?.stack ?? String(v.error)}`);
      expect(v.value.ok).toBe(false);
      expect(v.value.problems.join('\n')).toMatch(new RegExp(wal.name.replace(/[./]/g, '\\$&')));
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('damage inside recovery.par2 alone is found by verify (the whole file is protected)', async () => {
    const rec = base.layout.find((m) => m.name === 'recovery.par2')!;
    for (const at of [rec.dataOffset + 100, rec.dataOffset + Math.floor(rec.size / 2), rec.dataOffset + rec.size - 1]) {
      const dir = await fsp.mkdtemp(path.join(casesRoot, 'r-'));
      const file = path.join(dir, base.fileName);
      await fsp.writeFile(file, apply(base.bytes, [{ kind: 'flip', at, xor: 0x55 }]));
      const report = await verifyArchive(file);
      expect(report.ok, `a byte flipped at offset ${at - rec.dataOffset} of recovery.par2 (${rec.size} bytes): verify said ok`).toBe(false);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
