/**
 * A path a user wrote (an option, BRI_DATA_DIR, a value in a JSON config file), made absolute as the
 * user meant it: as the kernel resolves it, and with `~` as the home directory.
 * - `..` after a symbolic link is the link target's parent for the kernel (`ls app/../db` with
 *   app -> srv/current lists srv/db), while path.resolve drops the link by text (./db): another
 *   directory was read, archived or restored into. So the part before each `..` is resolved through
 *   its links first. A path without `..` is resolved as path.resolve does (nothing changes for it).
 * - `~` is expanded by a shell only, and only unquoted at a word's start: a JSON file, a systemd
 *   `Environment=`, `--target=~/x` or a quoted '~/x' reach bri with it, and a directory literally
 *   named `~` was made. `~` and `~/...` are the home directory; `~name` (another user's) is refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandHome, type PathOrigin } from '../../format/text/home-path.js';

/** The longest existing prefix of an absolute path through its links (realpath), with the rest joined as given. */
function physical(abs: string): string {
  const rest: string[] = [];
  for (let dir = abs; ; dir = path.dirname(dir)) {
    try {
      return path.join(fs.realpathSync(dir), ...rest.reverse());
    } catch {
      if (path.dirname(dir) === dir) return abs;
      rest.push(path.basename(dir));
    }
  }
}

/**
 * `given` absolute, as the kernel resolves it (relative ones against `base`, default the working
 * directory), `~` expanded. The result holds no `.` or `..`, so a later path.resolve or path.join
 * keeps it the same place.
 */
export function resolveUserPath(given: string, from: PathOrigin, base: string = process.cwd()): string {
  const expanded = expandHome(given, from);
  if (!expanded.split(/[\\/]/).includes('..')) return path.resolve(base, expanded);
  // Joined as text (not path.resolve, which would drop `..` with the segment before it).
  const abs = path.isAbsolute(expanded) ? expanded : `${path.resolve(base)}${path.sep}${expanded}`;
  let cur = path.parse(abs).root;
  for (const seg of abs.split(/[\\/]/)) {
    if (seg === '' || seg === '.') continue;
    // The kernel goes up from where the path so far really is: the parent of a link's target.
    cur = seg === '..' ? path.dirname(physical(cur)) : path.join(cur, seg);
  }
  return cur;
}
