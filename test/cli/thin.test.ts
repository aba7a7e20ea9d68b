/**
 * The CLI is thin and quick (issue 14): it imports the facade (src/archive's root), src/db.ts,
 * src/errors.ts and src/format only; no command file touches the file system or sets the exit
 * code (main.ts does, once); and what `bri --help` or `bri --version` loads is commander and the
 * parsing modules: a command's handler, and the API under it, are imported when it runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/child.js';

const SRC = path.join(REPO_ROOT, 'src');
const CLI = path.join(SRC, 'cli');
const FACADE = ['archive-api.ts', 'archive-host.ts', 'catalog-api.ts', 'config.ts', 'offline.ts', 'restore-api.ts'].map((f) => path.join(SRC, 'archive', f));

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

interface Import {
  spec: string;
  /** Erased when compiled: `import type`, `export type`, or every name marked `type`. */
  typeOnly: boolean;
  dynamic: boolean;
}

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s+from\s+'([^']+)'/gms)) {
    const names = /^\{([^}]*)\}$/.exec(m[3]!.trim())?.[1];
    const allTypes = names !== undefined && names.split(',').map((n) => n.trim()).filter(Boolean).every((n) => n.startsWith('type '));
    out.push({ spec: m[4]!, typeOnly: m[2] !== undefined || allTypes, dynamic: false });
  }
  for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) out.push({ spec: m[1]!, typeOnly: false, dynamic: false });
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false, dynamic: true });
  return out;
}

const resolveTs = (from: string, spec: string) => path.resolve(path.dirname(from), spec.replace(/\.js$/, '.ts'));
const rel = (f: string) => path.relative(SRC, f);

describe('the CLI is thin', () => {
  const files = tsFiles(CLI);

  it('imports only the facade, src/db.ts, src/errors.ts and src/format (and its own files)', () => {
    const allowed = (f: string) => f.startsWith(CLI + path.sep) || FACADE.includes(f) || f === path.join(SRC, 'db.ts') || f === path.join(SRC, 'errors.ts') || f.startsWith(path.join(SRC, 'format') + path.sep);
    const bad = files.flatMap((f) => importsOf(f).filter((i) => i.spec.startsWith('.') && !allowed(resolveTs(f, i.spec))).map((i) => `${rel(f)} -> ${i.spec}`));
    expect(bad).toEqual([]);
  });

  it('no command file touches the file system, a store or an SDK; only main.ts sets the exit code', () => {
    // main.ts looks at its own path (realpath) to know it is the entry point; stdio.ts writes the process's own
    // stdout and stderr (to the last byte, when they are files); nothing else may.
    const touching = files.filter((f) => !['main.ts', 'stdio.ts'].includes(path.basename(f))).flatMap((f) => importsOf(f).filter((i) => /^(node:)?(fs|fs\/promises|child_process|net|http|https)$|^@aws-sdk|^@azure|^@google-cloud|^zstd-napi|^tar-stream/.test(i.spec)).map((i) => `${rel(f)} -> ${i.spec}`));
    expect(touching).toEqual([]);
    const setting = files.filter((f) => path.basename(f) !== 'main.ts' && /process\.exitCode\s*=|process\.exit\(/.test(fs.readFileSync(f, 'utf8')));
    expect(setting.map(rel)).toEqual([]);
  });

  it('bri --help and --version load commander and the parsing modules only: handlers and the API are imported when a command runs', () => {
    const loaded = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const i of importsOf(file)) {
        if (i.typeOnly || i.dynamic) continue;
        if (i.spec.startsWith('.')) visit(resolveTs(file, i.spec));
        else if (!i.spec.startsWith('node:')) packages.add(i.spec);
      }
    };
    visit(path.join(CLI, 'main.ts'));
    expect([...packages]).toEqual(['commander']);
    const outside = [...loaded].map(rel).filter((f) => !f.startsWith(`cli${path.sep}`));
    expect(outside.sort()).toEqual(['errors.ts', path.join('format', 'ids.ts'), path.join('format', 'input.ts'), path.join('format', 'text', 'home-path.ts')]);
    expect([...loaded].map(rel).filter((f) => f.startsWith(path.join('cli', 'handlers')) || f === path.join('cli', 'progress.ts'))).toEqual([]);
    // Every handler module is reached by a dynamic import (program.ts), so the commands can run.
    const dynamic = importsOf(path.join(CLI, 'program.ts')).filter((i) => i.dynamic).map((i) => path.basename(i.spec));
    expect(dynamic.sort()).toEqual(['archive.js', 'data.js', 'restore.js']);
  });
});
