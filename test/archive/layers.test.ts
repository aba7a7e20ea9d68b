/**
 * The layers hold: src/ imports only downwards (errors <- format <- store <- remote <- archive <-
 * db, cli, index), and inside src/archive each concept folder imports only folders below it
 * (crypto <- par2 <- package <- copies <- create <- jobs <- shipping <- rekey <- restore <- timetravel <- the facade at its root),
 * type-only imports included: an interface lives with the lowest module that needs it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/child.js';

const SRC = path.join(REPO_ROOT, 'src');
const TOP = ['errors.ts', 'format', 'store', 'remote', 'archive', 'db.ts', 'cli', 'index.ts'];
const TOP_RANK: Record<string, number> = { 'errors.ts': 0, format: 1, store: 2, remote: 3, archive: 4, 'db.ts': 5, cli: 6, 'index.ts': 7 };
const ARCHIVE = ['crypto', 'par2', 'package', 'copies', 'create', 'jobs', 'shipping', 'rekey', 'restore', 'timetravel'];

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Every relative module a file imports (value and type imports, re-exports, dynamic imports). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) out.push(path.resolve(path.dirname(file), m[1]! + '.ts'));
  return out;
}

const topOf = (file: string) => path.relative(SRC, file).split(path.sep)[0]!;
/** The rank of a file under src/archive: its concept folder's, or the facade's (above them all) at the root. */
function archiveRank(file: string): number {
  const parts = path.relative(path.join(SRC, 'archive'), file).split(path.sep);
  return parts.length === 1 ? ARCHIVE.length : ARCHIVE.indexOf(parts[0]!);
}

describe('layers', () => {
  const files = tsFiles(SRC);

  it('src/ imports only downwards between its top folders', () => {
    const up: string[] = [];
    for (const f of files) for (const i of importsOf(f)) if (TOP_RANK[topOf(i)]! > TOP_RANK[topOf(f)]!) up.push(`${path.relative(SRC, f)} -> ${path.relative(SRC, i)}`);
    expect(up).toEqual([]);
    expect(new Set(files.map(topOf))).toEqual(new Set(TOP));
  });

  it('src/archive: every file is the facade or in a concept folder, and imports only folders below its own', () => {
    const archive = files.filter((f) => topOf(f) === 'archive');
    expect(archive.filter((f) => archiveRank(f) < 0).map((f) => path.relative(SRC, f))).toEqual([]);
    // The facade: db.archive (catalog-api, archive-api), db.restore (restore-api), the host, the configuration, the checks of the API's arguments and options, and what an offline program (the CLI) opens.
    expect(archive.filter((f) => archiveRank(f) === ARCHIVE.length).map((f) => path.basename(f)).sort()).toEqual(['api-arguments.ts', 'api-options.ts', 'archive-api.ts', 'archive-host.ts', 'catalog-api.ts', 'config.ts', 'offline.ts', 'restore-api.ts']);
    const up: string[] = [];
    for (const f of archive) {
      for (const i of importsOf(f)) if (topOf(i) === 'archive' && archiveRank(i) > archiveRank(f)) up.push(`${path.relative(SRC, f)} -> ${path.relative(SRC, i)}`);
    }
    expect(up).toEqual([]);
  });

  it('no file in src/ is longer than 400 lines, no folder holds more than 15 files', () => {
    const long = files.map((f) => [path.relative(SRC, f), fs.readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 400);
    expect(long).toEqual([]);
    const perDir = new Map<string, number>();
    for (const f of files) perDir.set(path.dirname(f), (perDir.get(path.dirname(f)) ?? 0) + 1);
    expect([...perDir].filter(([, n]) => n > 15).map(([d, n]) => `${path.relative(SRC, d) || '.'}: ${n}`)).toEqual([]);
  });

  it('each folder of src/archive says what it owns and what it may import', () => {
    for (const d of ARCHIVE) expect(fs.existsSync(path.join(SRC, 'archive', d, 'README.md')), `src/archive/${d}/README.md`).toBe(true);
  });
});
