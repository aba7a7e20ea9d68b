/** Options shared by commands: the data directory, --json, --quiet, the encryption key. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { parseArchiveConfig, type ArchiveConfig } from '../archive/config.js';
import { assertDirectoryInput, assertRegularFileInput } from '../archive/package/input-file.js';
import { BriError, ErrorCodes } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { parseChoice, parseDays, parseInteger, parseRetention, parseTime, type ParsedRetention } from '../format/input.js';
import { resolveEncryptionKey } from '../store/store.js';

export interface CommonOptions {
  dataDir: string;
  json: boolean;
  quiet: boolean;
}

export function defaultDataDir(): string {
  return process.env.BRI_DATA_DIR && process.env.BRI_DATA_DIR !== '' ? process.env.BRI_DATA_DIR : './data';
}

export function addDataDirOption(cmd: Command): Command {
  return cmd.addOption(new Option('-d, --data-dir <dir>', 'the data directory (default: $BRI_DATA_DIR or ./data)'));
}

export function addOutputOptions(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON', false).option('-q, --quiet', 'print nothing but errors', false);
}

export function commonOptions(raw: Record<string, unknown>): CommonOptions {
  return {
    dataDir: path.resolve(String(raw.dataDir ?? defaultDataDir())),
    json: raw.json === true,
    quiet: raw.quiet === true,
  };
}

/** The key comes from $BRI_ENCRYPTION_KEY only: never from argv, where other users could read it. */
export function cliEncryptionKey(): EncryptionKey | undefined {
  return resolveEncryptionKey(undefined);
}

export function addConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <file>', "the archive configuration as JSON (createDB's storeConfig.archive block, or an object with an 'archive' key)");
}

/** Hook commands of a config file run in the file's directory (unless they name their cwd), so `./notify.sh` works. */
function hooksRunFrom(hooks: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(hooks)) {
    if (typeof v === 'string' || Array.isArray(v)) out[name] = { command: v, cwd: dir };
    else if (typeof v === 'object' && v !== null && !('cwd' in v)) out[name] = { ...v, cwd: dir };
    else if (typeof v === 'object' && v !== null && typeof (v as { cwd: unknown }).cwd === 'string') out[name] = { ...v, cwd: path.resolve(dir, (v as { cwd: string }).cwd) };
    else out[name] = v;
  }
  return out;
}

/**
 * The archive block of `--config` (validated), with `--archive-dir` overriding its localDir.
 * The file may hold credentials: its values are never printed, errors name keys only.
 */
export function cliArchiveConfig(raw: Record<string, unknown>): ArchiveConfig {
  let config: Record<string, unknown> = {};
  if (raw.config !== undefined) {
    const file = path.resolve(String(raw.config));
    assertRegularFileInput(file, '--config');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new BriError(ErrorCodes.CONFIG_INVALID, `cannot read --config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'Give the path of a JSON file holding the archive configuration.' });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // JSON.parse quotes the text near the error, which may be a secret: only the position is kept.
      const pos = /position (\d+)/.exec((err as Error).message)?.[1];
      throw new BriError(ErrorCodes.CONFIG_INVALID, `--config ${file} is not valid JSON${pos ? ` (at character ${pos})` : ''}`, { hint: 'The file must be one JSON object.' });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new BriError(ErrorCodes.CONFIG_INVALID, `--config ${file} must hold a JSON object`, { hint: 'Put the archive block ({ "remotes": [...] }) or { "archive": {...} } in it.' });
    }
    const obj = parsed as Record<string, unknown>;
    config = typeof obj.archive === 'object' && obj.archive !== null && Object.keys(obj).length === 1 ? (obj.archive as Record<string, unknown>) : obj;
    // Relative paths in the file are relative to the file, like any config file.
    if (typeof config.localDir === 'string') config = { ...config, localDir: path.resolve(path.dirname(file), config.localDir) };
    for (const key of ['hooks', 'restoreHooks']) {
      if (typeof config[key] === 'object' && config[key] !== null) config = { ...config, [key]: hooksRunFrom(config[key] as Record<string, unknown>, path.dirname(file)) };
    }
  }
  if (raw.archiveDir) config = { ...config, localDir: path.resolve(String(raw.archiveDir)) };
  if (typeof config.localDir === 'string') assertDirectoryInput(config.localDir, raw.archiveDir ? '--archive-dir' : 'the archive directory (localDir)');
  parseArchiveConfig(config);
  return config as ArchiveConfig;
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

const closers: Array<() => Promise<void>> = [];

/** Something to close when the command is done (remote clients keep sockets open). */
export function closeAtExit<T extends { close(): Promise<void> }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

export async function closeAll(): Promise<void> {
  await Promise.allSettled(closers.splice(0).map((c) => c()));
}
