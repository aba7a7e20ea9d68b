/**
 * `~` in a path a user wrote: a shell expands it only unquoted at a word's start, so a JSON config, a
 * systemd `Environment=`, `--target=~/x` or a quoted '~/x' reached bri with it, and a directory literally
 * named `~` was made. `~` and `~/...` are the home directory; `~name` (another user's) is refused. No file
 * is touched here: the CLI's parsing modules use it too (test/cli/thin.test.ts).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { BriError, ErrorCodes, type ErrorCode } from '../../errors.js';

/** Who gave the path: named in a refusal, with the code the caller's input errors use (USAGE, CONFIG_INVALID). */
export interface PathOrigin {
  what: string;
  code?: ErrorCode;
  /** The config key, in the error's details. */
  key?: string;
}

/** `~` and `~/...` as the home directory; any other path as given. */
export function expandHome(given: string, from: PathOrigin): string {
  if (!given.startsWith('~')) return given;
  const refuse = (message: string, hint: string) => new BriError(from.code ?? ErrorCodes.USAGE, message, { hint, details: { ...(from.key !== undefined ? { key: from.key } : { flag: from.what }) } });
  if (given !== '~' && !given.startsWith('~/')) {
    throw refuse(`${from.what} ${JSON.stringify(given)} starts with "~name" (another user's home directory), which bri does not expand`, `Give the absolute path (e.g. /home/name/...), or ./${given} for a file or directory named so.`);
  }
  let home = '';
  try {
    home = os.homedir();
  } catch {
    // No HOME and no passwd entry: said below, never a directory named "~".
  }
  if (home === '' || !path.isAbsolute(home)) {
    throw refuse(`${from.what} ${JSON.stringify(given)} starts with "~", and the home directory is not known (HOME is not set)`, 'Give the absolute path, or set HOME.');
  }
  return given === '~' ? home : path.join(home, given.slice(2));
}

