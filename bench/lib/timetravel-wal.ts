/**
 * The data of the time-travel benchmark (issue 17): a generated WAL of about N MiB, the workload of
 * workload.ts (users added, updated, deleted; posts; sets), with a few "hot" documents woven in,
 * each SET again and again at places spread evenly along the WAL (with some jitter), so that one key
 * has a history of many changes from the first segment to the last. Written as walgen.ts writes
 * (BRI's line format, the pointer chain, segments rotated at the writer's size, ~2 lines per ms).
 *
 * And the answers the benchmark checks ours against, from a plain replay of the raw WAL files
 * (parseWalLine + decodeOperation + applyOperation, in memory, nothing of archive/ used): the hot
 * key's changes, its document at given moments, and the difference between two moments.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeOperation, type Operation } from '../../src/format/operation.js';
import { computePointer } from '../../src/format/pointer.js';
import { applyOperation, emptyState, type DbState } from '../../src/format/state.js';
import { parseWalLine, serializeWalLine } from '../../src/format/wal-line.js';
import { DEFAULT_WAL_SEGMENT_SIZE, segmentName, WAL_DIR } from '../../src/store/layout.js';
import { lineOperation } from '../../src/store/wal/wal-entry.js';
import { CALIBRATION_LINES } from './sized-wal.js';
import { generateWal, walFiles } from './walgen.js';
import { createRng, idFor, Workload, type WorkloadCounts } from './workload.js';

const MIB = 1024 * 1024;
const WRITE_BUFFER_BYTES = 8 * 1024 * 1024;
const SELF_CHECK_LINES = 2000;

/** The entry JSS of a workload operation (plain JSON in BRI's key order; checked against encodeOperation on the first lines). */
function entryJss(op: Operation): string {
  switch (op.action) {
    case 'SET':
      return JSON.stringify({ action: op.action, target: op.target, value: op.value });
    case 'DELETE':
      return JSON.stringify({ action: op.action, target: op.target });
    case 'RENAME':
      return JSON.stringify({ action: op.action, target: op.target, oldKey: op.oldKey });
    case 'SADD':
    case 'SREM':
      return JSON.stringify({ action: op.action, target: op.target, member: op.member });
  }
}

export interface HotKeyWalOptions {
  dataDir: string;
  /** Where the calibration run goes (removed afterwards). */
  calibrationDir: string;
  mib: number;
  /** How many lines SET the first hot key (its history's length; default 60). */
  hits?: number;
  /** How many hot keys in all (default 8; the others get 20..100 lines each). */
  hotKeys?: number;
  seed?: number;
  /** WAL segment size in bytes (default BRI's 10 MiB); each segment is one archive member. */
  segmentSize?: number;
}

export interface HotKeyWal {
  lines: number;
  bytes: number;
  segments: string[];
  files: string[];
  walBytes: number;
  bytesPerLine: number;
  counts: WorkloadCounts;
  /** The hot keys, the first one being the benchmark's, and how many lines SET each. */
  hotKeys: Array<{ key: string; lines: number }>;
  ms: number;
}

/** Generates the WAL (wal/ of `dataDir` must be absent or empty). */
export function generateHotKeyWal(opts: HotKeyWalOptions): HotKeyWal {
  const seed = opts.seed ?? 1;
  const cal = generateWal({ dataDir: opts.calibrationDir, lines: CALIBRATION_LINES, seed });
  fs.rmSync(opts.calibrationDir, { recursive: true, force: true });
  const bytesPerLine = cal.bytes / cal.lines;
  const workloadLines = Math.ceil((opts.mib * MIB * 1.01) / bytesPerLine);

  const started = performance.now();
  const rng = createRng(seed ^ 0x7f4a7c15);
  const hotCount = Math.max(1, opts.hotKeys ?? 8);
  const salt = Math.floor(createRng(seed ^ 0x0badf00d)() * 36 ** 7);
  const hot = Array.from({ length: hotCount }, (_, k) => ({
    key: `USER_${idFor(k, salt)}`,
    n: 1_000_000 + k,
    lines: k === 0 ? (opts.hits ?? 60) : 20 + Math.floor(rng() * 81),
    version: 0,
    createdAt: 0,
  }));
  // Where each hot key's SETs go: evenly spread, each moved by up to a third of the spacing; the first at the very start.
  const events: Array<{ at: number; k: number }> = [];
  for (const [k, h] of hot.entries()) {
    const spacing = workloadLines / h.lines;
    for (let j = 0; j < h.lines; j++) {
      const at = j === 0 ? 10 + k : Math.min(workloadLines - 1, Math.floor((j + 0.5) * spacing + (rng() - 0.5) * (spacing / 1.5)));
      events.push({ at, k });
    }
  }
  events.sort((a, b) => a.at - b.at || a.k - b.k);

  const walDir = path.join(opts.dataDir, WAL_DIR);
  fs.mkdirSync(walDir, { recursive: true });
  if (fs.readdirSync(walDir).length > 0) throw new Error(`${walDir} is not empty`);
  const segmentSize = opts.segmentSize ?? DEFAULT_WAL_SEGMENT_SIZE;
  let ts = Date.now() - workloadLines;
  const workload = new Workload(seed, () => ts);
  const segments: string[] = [];
  let fd = -1;
  let segBytes = 0;
  const buf = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  let used = 0;
  let total = 0;
  let written = 0;
  let prev = '';
  const openSegment = (): void => {
    const name = segmentName(segments.length);
    fd = fs.openSync(path.join(walDir, name), 'w', 0o644);
    segments.push(name);
    segBytes = 0;
  };
  const writeOut = (end: number): void => {
    let off = 0;
    while (off < end) off += fs.writeSync(fd, buf, off, end - off);
  };
  const emit = (op: Operation, check: boolean): void => {
    const entry = entryJss(op);
    if (check && entry !== encodeOperation(op)) throw new Error(`timetravel-wal: entry differs from encodeOperation: ${entry}`);
    const pointer = computePointer(prev, entry);
    prev = pointer;
    const line = `${ts}|${pointer}|${entry}\n`;
    if (check && line !== `${serializeWalLine({ timestamp: ts, pointer, entry })}\n`) throw new Error('timetravel-wal: line format differs');
    if (used + line.length * 3 > buf.length) {
      writeOut(used);
      used = 0;
    }
    const len = buf.write(line, used, 'utf8');
    if (segBytes > 0 && segBytes + len > segmentSize) {
      writeOut(used);
      fs.closeSync(fd);
      openSegment();
      buf.copy(buf, 0, used, used + len);
      used = 0;
    }
    used += len;
    segBytes += len;
    total += len;
    written++;
  };
  const hotDoc = (h: (typeof hot)[number]): string =>
    `{"name":"Hot ${h.n}","email":"u${h.n}@example.com","plan":"${['free', 'pro', 'team'][h.version % 3]}","visits":${h.version * 7},` +
    `"bio":${JSON.stringify(`version ${h.version} `.repeat(1 + (h.version % 9)).trimEnd())},"$ID":"${h.key.slice(5)}","createdAt<!D>":${h.createdAt},"updatedAt<!D>":${ts}}`;

  openSegment();
  let e = 0;
  for (let i = 0; i < workloadLines; i++) {
    ts += rng() < 0.5 ? 1 : 0;
    while (e < events.length && events[e]!.at === i) {
      const h = hot[events[e]!.k]!;
      if (h.version === 0) h.createdAt = ts;
      h.version++;
      emit({ action: 'SET', target: h.key, value: hotDoc(h) }, true);
      e++;
    }
    emit(workload.next(), i < SELF_CHECK_LINES);
  }
  writeOut(used);
  fs.closeSync(fd);
  const wal = walFiles(opts.dataDir);
  return {
    lines: written,
    bytes: total,
    segments,
    files: wal.files,
    walBytes: wal.bytes,
    bytesPerLine,
    counts: { ...workload.counts },
    hotKeys: hot.map((h) => ({ key: h.key, lines: h.lines })),
    ms: performance.now() - started,
  };
}

/** A history entry as the benchmark compares them: [line, timestamp, action, key, value]. */
export type EntryTuple = [number, number, string, string, string | null];

/** sha256 of a list of history entries. */
export function historyDigest(entries: readonly EntryTuple[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(JSON.stringify(e)).update('\n');
  return h.digest('hex');
}

export interface DiffLists {
  added: string[];
  changed: string[];
  removed: string[];
  sets: Record<string, { added: string[]; removed: string[] }>;
}

/** sha256 of a difference (lists sorted, sets by name), and its sizes. */
export function diffDigest(d: DiffLists): { sha256: string; added: number; changed: number; removed: number; sets: number; members: number } {
  const sorted = (xs: readonly string[]) => [...xs].sort();
  const setNames = Object.keys(d.sets).sort();
  const h = createHash('sha256');
  h.update(JSON.stringify([sorted(d.added), sorted(d.changed), sorted(d.removed)]));
  let members = 0;
  for (const k of setNames) {
    const s = d.sets[k]!;
    members += s.added.length + s.removed.length;
    h.update(JSON.stringify([k, sorted(s.added), sorted(s.removed)]));
  }
  return { sha256: h.digest('hex'), added: d.added.length, changed: d.changed.length, removed: d.removed.length, sets: setNames.length, members };
}

/** The difference between two states, as `diff` defines it (documents added/changed/removed, set members added/removed). */
export function stateDiff(before: DbState, after: DbState): DiffLists {
  const out: DiffLists = { added: [], changed: [], removed: [], sets: {} };
  for (const [k, v] of after.documents) {
    const b = before.documents.get(k);
    if (b === undefined) out.added.push(k);
    else if (b !== v) out.changed.push(k);
  }
  for (const k of before.documents.keys()) if (!after.documents.has(k)) out.removed.push(k);
  const names = new Set([...before.collections.keys(), ...after.collections.keys()]);
  for (const k of names) {
    const b = before.collections.get(k) ?? new Set<string>();
    const a = after.collections.get(k) ?? new Set<string>();
    const added = [...a].filter((m) => !b.has(m));
    const removed = [...b].filter((m) => !a.has(m));
    if (added.length || removed.length) out.sets[k] = { added, removed };
  }
  return out;
}

export interface ReplayExpectations {
  lines: number;
  /** The key's changes (it is never renamed: its own SETs). */
  history: EntryTuple[];
  /** Per moment asked: the key's document then (null: absent), and how many lines are at or before it. */
  at: Array<{ ts: number; document: string | null; lines: number; documents: number }>;
  /** The difference between the two moments given. */
  diff: DiffLists | null;
  /** Lines at or before each diff moment, and the documents and sets then. */
  diffLines: [number, number] | null;
  diffStates: Array<{ documents: number; collections: number }>;
  ms: number;
}

/**
 * Replays the raw WAL files in order (no archive code involved) and notes what the benchmark
 * checks: `key`'s changes, its document at each of `moments`, and the difference between `diffAt[0]` and `diffAt[1]`.
 */
export function replayExpectations(files: readonly string[], key: string, moments: readonly number[], diffAt: [number, number] | null): ReplayExpectations {
  const started = performance.now();
  const state = emptyState();
  const history: EntryTuple[] = [];
  const pending = [...moments].map((ts, i) => ({ ts, i })).sort((a, b) => a.ts - b.ts);
  const at: ReplayExpectations['at'] = moments.map((ts) => ({ ts, document: null, lines: 0, documents: 0 }));
  let p = 0;
  // In an object: the closure below sets them (a plain `let` would stay `null` to the type checker).
  const cut: { before: DbState | null; after: DbState | null } = { before: null, after: null };
  const diffLines: [number, number] = [0, 0];
  const clone = (s: DbState): DbState => ({ documents: new Map(s.documents), collections: new Map([...s.collections].map(([k, v]) => [k, new Set(v)])) });
  let line = 0;
  const passTo = (ts: number): void => {
    // Every moment before this line's time is settled with the state so far.
    while (p < pending.length && pending[p]!.ts < ts) {
      const slot = at[pending[p]!.i]!;
      slot.document = state.documents.get(key) ?? null;
      slot.lines = line;
      slot.documents = state.documents.size;
      p++;
    }
    if (diffAt !== null && cut.before === null && diffAt[0] < ts) {
      cut.before = clone(state);
      diffLines[0] = line;
    }
    if (diffAt !== null && cut.after === null && diffAt[1] < ts) {
      cut.after = clone(state);
      diffLines[1] = line;
    }
  };
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const raw = text.slice(start, end);
      start = end + 1;
      if (raw === '') continue;
      const parsed = parseWalLine(raw);
      if (parsed === null) throw new Error(`${path.basename(file)}: line ${line + 1} does not parse`);
      passTo(parsed.timestamp);
      const op = lineOperation(parsed, undefined);
      line++;
      if (op.target === key || (op.action === 'RENAME' && op.oldKey === key)) {
        if (op.action !== 'SET') throw new Error(`the key ${key} is touched by ${op.action}: the benchmark's key is only ever SET`);
        history.push([line, parsed.timestamp, op.action, op.target, op.value]);
      }
      applyOperation(state, op);
    }
  }
  passTo(Infinity);
  const { before, after } = cut;
  const diffStates = [before, after].filter((s): s is DbState => s !== null).map((s) => ({ documents: s.documents.size, collections: s.collections.size }));
  return {
    lines: line,
    history,
    at,
    diff: before !== null && after !== null ? stateDiff(before, after) : null,
    diffLines: diffAt !== null ? diffLines : null,
    diffStates,
    ms: performance.now() - started,
  };
}
