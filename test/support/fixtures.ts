/** The BRI-written fixtures in ../shared: copies in temp dirs, checkpoints, and comparison by meaning. */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJss } from '../../src/format/jss.js';
import type { PlainState } from '../../src/format/state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** ../shared next to the repository (CI lays it beside the clone). */
export const SHARED_DIR = process.env.BRI_SHARED_DIR ?? path.resolve(here, '../../../shared');
export const FIXTURES_DIR = path.join(SHARED_DIR, 'fixtures/bri-sample');
export const FIXTURE_NAMES = ['small', 'crashed', 'encrypted'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];
export const FIXTURE_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

export interface Checkpoint {
  at: number;
  afterRound: number;
  state: PlainState;
}

export function fixturesPresent(): boolean {
  return fs.existsSync(path.join(FIXTURES_DIR, 'small/wal'));
}

const madeTempDirs: string[] = [];

/** A fresh temp directory; removed after the test file (test/support/temp-cleanup.ts). */
export async function makeTempDir(prefix = 'bri-test-'): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  madeTempDirs.push(dir);
  return dir;
}

/** The temp directories made so far, forgotten here. */
export function takeTempDirs(): string[] {
  return madeTempDirs.splice(0);
}

/** Copies a fixture into a fresh temp dir (writable), returns the data dir. */
export async function copyFixture(name: FixtureName): Promise<string> {
  const dir = path.join(await makeTempDir(`bri-fx-${name}-`), 'data');
  await fsp.cp(path.join(FIXTURES_DIR, name), dir, { recursive: true });
  await chmodWritable(dir);
  return dir;
}

async function chmodWritable(dir: string): Promise<void> {
  await fsp.chmod(dir, 0o755);
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chmodWritable(p);
    else await fsp.chmod(p, 0o644);
  }
}

export function loadCheckpoints(name: FixtureName): Checkpoint[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, 'expected', `${name}.checkpoints.json`), 'utf8')) as Checkpoint[];
}

export function fixtureKey(name: FixtureName): string | undefined {
  return name === 'encrypted' ? FIXTURE_KEY : undefined;
}

/** A canonical form: sorted keys, tagged values made explicit, referenced documents reduced to their $ID. */
function canonical(value: unknown, depth: number): unknown {
  if (value instanceof Date) return { $date: value.getTime() };
  if (value instanceof RegExp) return { $regexp: value.toString() };
  if (value instanceof Set) return { $set: [...value].map((v) => canonical(v, depth + 1)) };
  if (value instanceof Map) return { $map: canonical(Object.fromEntries(value), depth + 1) };
  if (Array.isArray(value)) return value.map((v) => canonical(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (depth > 0 && typeof obj.$ID === 'string') return obj.$ID;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) out[k] = canonical(obj[k], depth + 1);
    return out;
  }
  return value;
}

function canonicalDocument(stored: string): string {
  let decoded: unknown;
  try {
    decoded = decodeJss(stored);
  } catch {
    return JSON.stringify(stored);
  }
  return JSON.stringify(canonical(decoded, 0));
}

/** States as the fixture README says to compare them: documents by meaning, sets as sets. */
export function normalizeState(state: PlainState): { documents: Record<string, string>; collections: Record<string, string[]> } {
  const documents: Record<string, string> = {};
  for (const k of Object.keys(state.documents).sort()) documents[k] = canonicalDocument(state.documents[k]!);
  const collections: Record<string, string[]> = {};
  for (const k of Object.keys(state.collections).sort()) collections[k] = [...state.collections[k]!].sort();
  return { documents, collections };
}
