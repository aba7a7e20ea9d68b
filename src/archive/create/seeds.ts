/**
 * Seeds: the state at the end of the last archive, kept beside the archives
 * (`<archiveDir>/.seeds/<instanceId>.<line>.jss.zst`) so that the next archive
 * can start from it without replaying history. Written before the archive is
 * renamed into place, so an archive never exists without the seed after it.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { decompressChunks } from '../package/compress.js';
import { compressOffThread } from '../package/compress-worker.js';
import { commitFile, writeFileDurable } from '../../store/durable-fs.js';
import { timeSlicer } from '../../store/time-slice.js';

export const SEEDS_DIR = '.seeds';
const MAX_SEED_BYTES = 64 * 1024 * 1024 * 1024;

function seedPath(archiveDir: string, instanceId: string, line: number): string {
  return path.join(archiveDir, SEEDS_DIR, `${instanceId}.${line}.jss.zst`);
}

function factsPath(archiveDir: string, instanceId: string, line: number): string {
  return path.join(archiveDir, SEEDS_DIR, `${instanceId}.${line}.facts.json`);
}

/**
 * What the next archive's manifest needs from a seed without decoding it (decoding a large
 * state holds the writers' thread for as long as it takes; the seed's bytes are checked by
 * zstd's frame checksum when read).
 */
export interface SeedFacts {
  documents: number;
  collections: number;
}

/** The facts go first: a seed under its name always has the facts beside it (when there are any). */
async function writeFacts(archiveDir: string, instanceId: string, line: number, facts: SeedFacts | undefined): Promise<void> {
  if (!facts) return;
  await writeFileDurable(factsPath(archiveDir, instanceId, line), JSON.stringify({ documents: facts.documents, collections: facts.collections }));
}

/** Writes the snapshot text (whole, or streamed in pieces) of the state at absolute `line` durably, with its facts. */
export async function writeSeed(archiveDir: string, instanceId: string, line: number, snapshotText: string | Iterable<string>, facts?: SeedFacts): Promise<void> {
  const dir = path.join(archiveDir, SEEDS_DIR);
  await fsp.mkdir(dir, { recursive: true });
  const target = seedPath(archiveDir, instanceId, line);
  await writeFacts(archiveDir, instanceId, line, facts);
  const pieces = typeof snapshotText === 'string' ? [snapshotText] : snapshotText;
  // Encoded a piece at a time with turns for the event loop between pieces; zstd and both hashes on the worker.
  await compressOffThread(encodedPieces(pieces), target + '.tmp', 3, 0, true, true);
  await commitFile(target + '.tmp', target, { synced: true });
}

/** Whether a seed exists at that line (a create that fails removes only a seed it wrote itself). */
export async function seedExists(archiveDir: string, instanceId: string, line: number): Promise<boolean> {
  return fsp.stat(seedPath(archiveDir, instanceId, line)).then(() => true, () => false);
}

/** Removes the seed at that line and its facts (a create that failed after writing them leaves nothing). */
export async function removeSeed(archiveDir: string, instanceId: string, line: number): Promise<void> {
  await fsp.rm(seedPath(archiveDir, instanceId, line), { force: true });
  await fsp.rm(seedPath(archiveDir, instanceId, line) + '.tmp', { force: true });
  await fsp.rm(factsPath(archiveDir, instanceId, line), { force: true });
}

/**
 * Keeps an archive's snapshot member (zstd of the snapshot text at absolute `line`) as the seed
 * at that line, as stored: a restore's starting state becomes its new instance's first seed.
 */
export async function writeSeedMember(archiveDir: string, instanceId: string, line: number, compressed: readonly Buffer[], facts?: SeedFacts): Promise<void> {
  const dir = path.join(archiveDir, SEEDS_DIR);
  await fsp.mkdir(dir, { recursive: true });
  await writeFacts(archiveDir, instanceId, line, facts);
  const target = seedPath(archiveDir, instanceId, line);
  await writeFileDurable(target, Buffer.concat(compressed));
}

/** The facts written with a seed; null when there are none or they do not parse (the caller decodes the seed instead). */
export async function readSeedFacts(archiveDir: string, instanceId: string, line: number): Promise<SeedFacts | null> {
  try {
    const v = JSON.parse(await fsp.readFile(factsPath(archiveDir, instanceId, line), 'utf8')) as Partial<SeedFacts>;
    const count = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    return count(v.documents) && count(v.collections) ? { documents: v.documents!, collections: v.collections! } : null;
  } catch {
    return null;
  }
}

/** Text is encoded for the compressor in pieces of about this many characters. */
const PIECE = 256 * 1024;

/** Where a long string may be cut near `at` without splitting a surrogate pair. */
function cutAt(text: string, at: number): number {
  if (at >= text.length) return text.length;
  const c = text.charCodeAt(at - 1);
  return c >= 0xd800 && c <= 0xdbff ? at - 1 : at;
}

/**
 * UTF-8 buffers of ~PIECE characters from pieces of text (small ones grouped, a long one cut),
 * each in a buffer of its own (transferable), with a turn for the event loop once a slice of time is used.
 */
export async function* encodedPieces(pieces: Iterable<string>): AsyncGenerator<Buffer> {
  const slicer = timeSlicer();
  let parts: string[] = [];
  let size = 0;
  const flush = async function* (text: string): AsyncGenerator<Buffer> {
    for (let at = 0; at < text.length; ) {
      const end = cutAt(text, Math.min(text.length, at + PIECE));
      const piece = text.slice(at, end);
      const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(piece, 'utf8'));
      buf.write(piece, 0, 'utf8');
      yield buf;
      at = end;
      const turn = slicer.maybeYield();
      if (turn) await turn;
    }
  };
  for (const p of pieces) {
    if (p.length >= PIECE) {
      if (parts.length) yield* flush(parts.join(''));
      parts = [];
      size = 0;
      yield* flush(p);
      continue;
    }
    parts.push(p);
    size += p.length;
    if (size >= PIECE) {
      yield* flush(parts.join(''));
      parts = [];
      size = 0;
    } else {
      const turn = slicer.maybeYield();
      if (turn) await turn;
    }
  }
  if (parts.length) yield* flush(parts.join(''));
}

/** The decompressed bytes of the seed at absolute `line` (each chunk in a buffer of its own), or null when none is kept. */
export async function readSeedChunks(archiveDir: string, instanceId: string, line: number): Promise<Buffer[] | null> {
  const file = seedPath(archiveDir, instanceId, line);
  if (!fs.existsSync(file)) return null;
  const chunks: Buffer[] = [];
  for await (const c of decompressChunks(fs.createReadStream(file), path.basename(file), MAX_SEED_BYTES)) chunks.push(c);
  return chunks;
}

/** The snapshot text of the state at absolute `line`, or null when no seed is kept for it. */
export async function readSeed(archiveDir: string, instanceId: string, line: number): Promise<string | null> {
  const chunks = await readSeedChunks(archiveDir, instanceId, line);
  return chunks === null ? null : Buffer.concat(chunks).toString('utf8');
}

/** The lines this instance has seeds at (a state that can start an archive without a replay). */
export async function seedLines(archiveDir: string, instanceId: string): Promise<number[]> {
  const names = await fsp.readdir(path.join(archiveDir, SEEDS_DIR)).catch(() => [] as string[]);
  const out: number[] = [];
  for (const n of names) {
    if (!n.startsWith(`${instanceId}.`) || !n.endsWith('.jss.zst')) continue;
    const line = Number(n.slice(instanceId.length + 1, -'.jss.zst'.length));
    if (Number.isSafeInteger(line) && line >= 0) out.push(line);
  }
  return out;
}

/** Removes this instance's seeds other than the one at `keepLine`. */
export async function pruneSeeds(archiveDir: string, instanceId: string, keepLine: number): Promise<void> {
  const dir = path.join(archiveDir, SEEDS_DIR);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  const keep = new Set([path.basename(seedPath(archiveDir, instanceId, keepLine)), path.basename(factsPath(archiveDir, instanceId, keepLine))]);
  for (const n of names) if (n.startsWith(`${instanceId}.`) && !keep.has(n)) await fsp.rm(path.join(dir, n), { force: true });
}
