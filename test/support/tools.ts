/** Standard tools for interop tests: present or skipped with a visible reason. */
import { execFileSync } from 'node:child_process';

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Logs why interop tests are skipped, so that the skip is visible in the output. */
export function requireTools(...names: string[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length) console.warn(`SKIPPED interop tests: missing ${missing.join(', ')} (CI installs them with apt-get)`);
  return missing.length === 0;
}

export function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Flips bits of one byte in place (damage for corruption tests). */
export function flipByte(buf: Buffer, at: number, mask = 0xff): void {
  buf[at] = (buf[at] ?? 0) ^ mask;
}
