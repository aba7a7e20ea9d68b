/** Options shared by commands: the data directory, --json, --quiet, the encryption key. */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import type { EncryptionKey } from '../format/encryption.js';
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
