/** What the `bri archive` commands share: the archive directory option, the API over a stopped data directory, --source. */
import type { Command } from 'commander';
import { ArchiveApi, offlineHost } from '../../archive/archive-api.js';
import { addConfigOption, cliArchiveConfig, cliEncryptionKey, closeAtExit, type CommonOptions } from '../common.js';

export function addArchiveDirOption(cmd: Command): Command {
  return addConfigOption(cmd.option('-a, --archive-dir <dir>', 'where archives are kept (default: <data-dir>/archives)'));
}

export function api(raw: Record<string, unknown>, opts: CommonOptions, purpose: string): ArchiveApi {
  return closeAtExit(new ArchiveApi(offlineHost(opts.dataDir, cliEncryptionKey(), purpose), cliArchiveConfig(raw)));
}

export function sourceOpt(raw: Record<string, unknown>): { source?: string } {
  return raw.source !== undefined ? { source: String(raw.source) } : {};
}
