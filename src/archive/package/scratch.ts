/**
 * Scratch files (downloaded copies, repaired copies, a copy being put in
 * place) live beside the archive or the restore target, never in the OS temp
 * directory: on the same file system as where they end up (a rename, not a
 * copy), and where the next run looks. Their names say who made them,
 *
 *     .bri-scratch.<host>.<pid>.<random>.<what>
 *
 * so that what a killed process left is recognised and removed by the next
 * run in that directory (`sweepScratch`), and a person sees what they are.
 * Names never end in `.bri`: the catalog must not take one for an archive.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { hostTag, noteMadeHere, sweepDeadFiles } from '../../store/lock/process-identity.js';

const PREFIX = '.bri-scratch';
/** Anywhere in a name: helpers' own temp files beside a scratch file (`.<scratch>.<random>.tmp`) carry it too. */
const OWNER_RE = /\.bri-scratch\.([A-Za-z0-9-]+)\.(\d+)\./;

/** A new scratch path in `dir`; `what` says what it holds (e.g. `repaired`, `download`). */
export function scratchPath(dir: string, what: string): string {
  const label = what.replace(/[^A-Za-z0-9._-]/g, '-').replace(/\.bri$/, '') || 'file';
  const name = `${PREFIX}.${hostTag()}.${process.pid}.${randomBytes(4).toString('hex')}.${label}`;
  const file = path.join(dir, name);
  // Known to this process by name: its sweep never takes it for an earlier process's (see madeByDeadProcess).
  noteMadeHere(file);
  return file;
}

/** The pid of the process of this host that made the scratch file `name`, or null (not one, or another host's). */
function scratchOwner(name: string): number | null {
  const m = OWNER_RE.exec(name);
  return m && m[1] === hostTag() ? Number(m[2]) : null;
}

/**
 * Removes the scratch files that dead processes of this host left in `dir`. Best effort: a
 * directory that does not exist or cannot be read is left as it is, and nothing is thrown.
 */
export async function sweepScratch(dir: string): Promise<string[]> {
  // Another process with this pid before this one (a restarted container) left it if it is older than this process.
  return sweepDeadFiles(dir, scratchOwner);
}

/** The nearest directory that exists at or above `dir` (scratch for a directory not made yet goes beside it). */
export async function existingDir(dir: string): Promise<string> {
  let d = path.resolve(dir);
  for (;;) {
    const st = await fsp.stat(d).catch(() => null);
    if (st?.isDirectory()) return d;
    const up = path.dirname(d);
    if (up === d) return d;
    d = up;
  }
}
