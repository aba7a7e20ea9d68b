/**
 * What `src/` was while a benchmark ran: the commit, a sha256 of every file under src/, and the
 * changed files by git. Other people may edit src/ during a run; a benchmark records this at its
 * start and at its end, and says so when the two differ (its figures then mix two versions).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface SourceState {
  head: string;
  srcSha256: string;
  /** `git status --porcelain -- src` lines. */
  dirtySrc: string[];
}

export function sourceState(): SourceState {
  const git = (args: string[]) => spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 10_000 });
  const head = git(['rev-parse', '--short', 'HEAD']).stdout?.trim() || 'unknown';
  const status = git(['status', '--porcelain', '--', 'src']).stdout ?? '';
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) hash.update(`${path.relative(REPO_ROOT, full)}\0`).update(fs.readFileSync(full)).update('\0');
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  return { head, srcSha256: hash.digest('hex'), dirtySrc: status.split('\n').filter((l) => l.trim() !== '') };
}

/** One line about the source: the commit, the hash's start, the files changed from it. */
export function sourceText(s: SourceState): string {
  return `src at ${s.head}, sha256 ${s.srcSha256.slice(0, 12)}${s.dirtySrc.length > 0 ? `, uncommitted: ${s.dirtySrc.map((l) => l.trim()).join(', ')}` : ''}`;
}
