/**
 * Options shared by commands (the data directory, --json, --quiet, --config, --archive-dir) and
 * the parsers of option values. Parsing only: no file is read here, no API is loaded.
 */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { BriError, ErrorCodes } from '../errors.js';
import { expandHome } from '../format/text/home-path.js';
import { isValidInstanceId } from '../format/ids.js';
import { assertNotEmpty, isIdentityText, parseChoice, parseDays, parseInteger, parseRetention, parseTime, type ParsedRetention } from '../format/input.js';
import type { ArchiveCommon, ArchiveSetup, CommonOptions } from './options.js';

/** The data directory when -d is not given: $BRI_DATA_DIR, else ./data. */
export function defaultDataDir(): string {
  const fromEnv = process.env.BRI_DATA_DIR;
  // Set but empty is an unset shell variable passed on (BRI_DATA_DIR="$DIR"), as `-d ""` is: refused, never ./data.
  if (fromEnv === '') {
    throw new BriError(ErrorCodes.USAGE, 'BRI_DATA_DIR is set but empty', {
      hint: 'Set BRI_DATA_DIR to the data directory, or unset it (unset BRI_DATA_DIR) for the default ./data, or give -d; a shell variable that is not set gives an empty one.',
      details: { variable: 'BRI_DATA_DIR' },
    });
  }
  if (fromEnv !== undefined) assertUtf8Path(fromEnv, 'BRI_DATA_DIR');
  // A systemd Environment= line or a quoted value passes `~` on unexpanded.
  return fromEnv !== undefined ? homeExpanded(fromEnv, 'BRI_DATA_DIR') : './data';
}

/** Options that name a path (checked as one by commonOptions). */
const PATH_OPTIONS: Array<[string, string]> = [['dataDir', '--data-dir'], ['target', '--target'], ['archiveDir', '--archive-dir'], ['out', '--out'], ['config', '--config'], ['identity', '--identity']];
const PATH_FLAGS = new Set(PATH_OPTIONS.map(([, flag]) => flag));

/**
 * `~` and `~/...` as the home directory: a shell expands them only unquoted at a word's start, so
 * `--target=~/x`, a quoted '~/x' or a systemd unit reached bri with them and a directory named `~` was
 * made. `~name` is refused (expandHome, src/format/text/home-path.ts). An identity given as the key itself is left as it is.
 */
export function homeExpanded(value: string, what: string): string {
  return isIdentityText(value) ? value : expandHome(value, { what });
}

/**
 * A path made absolute without dropping its `..` by text: after a symbolic link the kernel goes up
 * from the link's target (`app/../db` with app -> srv/current is srv/db), while path.resolve gave ./db.
 * The API resolves it as the kernel does (src/store/files/user-path.ts); a path without `..` is resolved here.
 */
export function absoluteAsGiven(value: string): string {
  if (!value.split(/[\\/]/).includes('..')) return path.resolve(value);
  return path.isAbsolute(value) ? value : `${process.cwd()}${path.sep}${value}`;
}

/**
 * A path given on the command line (or in the environment) that is not valid UTF-8 reaches Node with
 * U+FFFD for the bytes it cannot decode: another path than the one given (and two such names one path),
 * so a download or a restore went elsewhere and said it succeeded. USAGE before anything runs.
 */
export function assertUtf8Path(value: unknown, what: string): void {
  // An identity given as the key itself is refused by identityOpt without ever being quoted.
  if (typeof value !== 'string' || !value.includes('\ufffd') || isIdentityText(value)) return;
  throw new BriError(ErrorCodes.USAGE, `${what} ${JSON.stringify(value)} is not valid UTF-8 (or holds U+FFFD)`, {
    hint: 'A name that is not valid UTF-8 cannot be given to bri (it would name another path): rename it, or give the path through a link with a UTF-8 name.',
    details: { flag: what },
  });
}

/** A path argument as given, once it is known to be valid UTF-8 (and, for a file written, not `-`). */
export function pathArgument(given: string, what: string, opts: { written?: boolean } = {}): string {
  assertUtf8Path(given, what);
  const value = homeExpanded(given, what);
  // `-` reads as standard output to a script's author; an archive is written to a file (one named "-" was made).
  if (opts.written && value === '-') {
    throw new BriError(ErrorCodes.USAGE, `${what} is "-": an archive copy is written to a file, not to standard output`, { hint: 'Give a file path (./- for a file named so).', details: { flag: what } });
  }
  return value;
}

/**
 * The parser of an option that names one path, given twice (`-d A -d B`, a command line built from two
 * places): commander silently kept the last, and the command acted on a directory the caller may not have
 * meant. USAGE naming both (an identity's key text is never quoted).
 */
export function givenOnce(flag: string): (value: string, previous: unknown) => string {
  return (given, previous) => {
    const value = PATH_FLAGS.has(flag) ? homeExpanded(given, flag) : given;
    if (previous === undefined) return value;
    const both = [previous, value].some((v) => isIdentityText(String(v))) ? '' : ` (${JSON.stringify(previous)} and ${JSON.stringify(value)})`;
    throw new BriError(ErrorCodes.USAGE, `${flag} is given twice${both}`, { hint: `Give ${flag} once: it takes one value, and which one was meant cannot be guessed.`, details: { flag } });
  };
}

export function addDataDirOption(cmd: Command): Command {
  return cmd.addOption(new Option('-d, --data-dir <dir>', 'the data directory (default: $BRI_DATA_DIR or ./data)').argParser(givenOnce('--data-dir')));
}

export function addOutputOptions(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON', false).option('-q, --quiet', 'print nothing but errors', false);
}

export function addConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <file>', "the archive configuration as JSON (createDB's storeConfig.archive block, or an object with an 'archive' key)", givenOnce('--config'));
}

export function addArchiveDirOption(cmd: Command): Command {
  return addConfigOption(cmd.option('-a, --archive-dir <dir>', 'where archives are kept (default: where bri-archive.json records them, else <data-dir>/archives)', givenOnce('--archive-dir')));
}

/** The object without its undefined values: an options object says only what was given. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Options whose empty value would silently mean something else (the working directory, the data directory, every source, every key). */
const NOT_EMPTY: Array<[string, string]> = [['dataDir', '--data-dir'], ['target', '--target'], ['source', '--source'], ['instance', '--instance'], ['prefix', '--prefix'], ['identity', '--identity'],
  ['archiveDir', '--archive-dir'], ['archive', '--archive'], ['out', '--out'], ['config', '--config'], ['newInstanceId', '--new-instance-id']];

export function commonOptions(raw: Record<string, unknown>): CommonOptions {
  for (const [key, flag] of NOT_EMPTY) assertNotEmpty(raw[key], flag);
  for (const [key, flag] of PATH_OPTIONS) assertUtf8Path(raw[key], flag);
  // An id the manifests cannot hold names no archive: said as a typo (`../x`, `Staging`), not "no archive of instance".
  if (raw.instance !== undefined && !isValidInstanceId(String(raw.instance))) {
    throw new BriError(ErrorCodes.USAGE, `--instance ${JSON.stringify(String(raw.instance))} is not an instance id`, { hint: 'Instance ids are 1-64 lowercase letters, digits, "-" and "_" (e.g. staging, or a UUID); `bri restore list` shows them.', details: { flag: '--instance' } });
  }
  return {
    dataDir: absoluteAsGiven(String(raw.dataDir ?? defaultDataDir())),
    json: raw.json === true,
    quiet: raw.quiet === true,
  };
}

/** --config and --archive-dir as given. */
export function archiveSetup(raw: Record<string, unknown>): ArchiveSetup {
  return compact({
    configFile: raw.config !== undefined ? String(raw.config) : undefined,
    archiveDir: raw.archiveDir !== undefined ? String(raw.archiveDir) : undefined,
  });
}

export function archiveCommon(raw: Record<string, unknown>): ArchiveCommon {
  return { ...commonOptions(raw), ...archiveSetup(raw) };
}

/** `--identity FILE`: where an age identity is read from (never the secret itself on the command line). */
export function addIdentityOption(cmd: Command): Command {
  return cmd.option('-i, --identity <file>', 'an age identity file (as age-keygen writes it) for archives encrypted with age; default: $BRI_AGE_IDENTITY', givenOnce('--identity'));
}

export function identityOpt(raw: Record<string, unknown>): { identity?: string } {
  if (raw.identity === undefined) return {};
  const given = String(raw.identity);
  // The key itself on the command line is in `ps` and shell history for every user: refused, and never repeated.
  if (isIdentityText(given)) {
    throw new BriError(ErrorCodes.USAGE, '--identity takes the path of an identity file, and was given the key itself', {
      hint: 'Put the key in a file readable only by you (age-keygen -o key.txt) and give its path, or set BRI_AGE_IDENTITY; other users can read a command line (ps).',
      details: { flag: '--identity' },
    });
  }
  return { identity: absoluteAsGiven(given) };
}

/** --source, --instance and --identity of the time-travel commands. */
export function addPastOptions(cmd: Command): Command {
  return addIdentityOption(cmd.option('-s, --source <name>', 'only this source (default: every source in restoreSources order)').option('--instance <id>', "which instance's archives (default: the data directory's, else the newest)"));
}

export function pastOpts(raw: Record<string, unknown>): { source?: string; instanceId?: string; identity?: string } {
  return compact({ ...sourceOpt(raw), instanceId: raw.instance !== undefined ? String(raw.instance) : undefined, ...identityOpt(raw) });
}

/** `--source` as given. */
export function sourceOpt(raw: Record<string, unknown>): { source?: string } {
  return raw.source !== undefined ? { source: String(raw.source) } : {};
}

/**
 * Commander parsers for option and argument values, over the one input parser
 * (src/format/input.ts): a bad value stops the command before it starts, with USAGE (exit 2)
 * and a hint listing the accepted forms.
 */
export const parseOpt = {
  time: (label: string) => (v: string): number => parseTime(v, label),
  retention: (label: string) => (v: string): ParsedRetention => parseRetention(v, Date.now(), label),
  integer: (label: string, min: number, max: number) => (v: string): number => parseInteger(v, label, { min, max }),
  days: (label: string) => (v: string): number => parseDays(v, label, Date.now()),
  choice: <T extends string>(label: string, choices: readonly T[]) => (v: string): T => parseChoice(v, choices, label),
};
