/** A small tmpfs for tests of mount points (root on Linux only); a test that cannot mount one skips, saying why. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Mounts a tmpfs at `dir`: null, or why it cannot (for ctx.skip). */
export function mountTmpfs(dir: string, options = 'size=4m'): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a tmpfs';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount failed: ${r.stderr.trim()}`;
}

export function umount(dir: string): void {
  spawnSync('umount', [dir]);
}

/** Fills the file system under `dir` with `dir/filler`, leaving `spare` bytes free (a filler left by an earlier call is replaced). */
export function fillLeaving(dir: string, spare: number): void {
  const filler = path.join(dir, 'filler');
  fs.rmSync(filler, { force: true });
  const st = fs.statfsSync(dir);
  fs.writeFileSync(filler, Buffer.alloc(Math.max(0, st.bavail * st.bsize - spare)));
}
