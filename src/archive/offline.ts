/**
 * For a program that does not open the database (the `bri` CLI, scripts): the archive
 * configuration from a JSON file, the encryption key from the environment, the archive and
 * restore APIs over a stopped data directory, and the data directory's read-only checks.
 * The archive and restore APIs are loaded when first opened: a program that only checks a data
 * directory (or prints its help) does not load compression, PAR2 or the remotes' SDKs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { toPlainState, type PlainState } from '../format/state.js';
import { isIdentityText } from '../format/input.js';
import { readArchiveState, recordedArchiveDir } from '../store/archive-state.js';
import { resolveUserPath } from '../store/files/user-path.js';
import { assertDataDir } from '../store/data-dir.js';
import { recoverInterruptedRestoreSaying } from '../store/dir-swap.js';
import { refuseIfLocked } from '../store/lock/dir-lock.js';
import { recover } from '../store/recovery.js';
import { collectStats, type DataDirStats } from '../store/stats.js';
import { resolveEncryptionKey } from '../store/store-config.js';
import { verifyDataDir, type DataDirReport } from '../store/verify-data-dir.js';
import type { ArchiveApi } from './archive-api.js';
import type { ArchiveConfig } from './config.js';
import { assertDirectoryInput, assertRegularFileInput } from './package/input-file.js';
import type { RestoreApi } from './restore-api.js';
import type { LiveStore } from './timetravel/rollback.js';

// What a program over these APIs prints: the types of their answers.
export type { ArchiveApi, CreatedAndStored } from './archive-api.js';
export type { RestoreApi, RestoreCallOptions, RestoreListing, ShippedRange } from './restore-api.js';
export type { CatalogArchive, MergedListing, UnreadableCopy, SourceFailure } from './copies/catalog.js';
export type { CopyStatus } from './copies/upload.js';
export type { ThawStatus } from './copies/thaw.js';
export type { ShippingReport } from './shipping/report.js';
export type { VerifyReport } from './package/verify.js';
export type { RestorePlan, TimelineRange } from './restore/plan.js';
export type { RestoreResult } from './restore/execute.js';
export type { DataDirReport } from '../store/verify-data-dir.js';
export type { DataDirStats } from '../store/stats.js';
export { PHASE_LABELS, type ProgressEvent, type ProgressListener } from './package/progress.js';

/** Where the archive configuration of an offline program comes from (`bri --config`, `--archive-dir`). */
export interface OfflineConfigSource {
  /** A JSON file: the archive block of createDB's storeConfig, or an object with an `archive` key. */
  configFile?: string;
  /** Where archives are kept: overrides the file's localDir. */
  archiveDir?: string;
  /** The command makes archives (`bri archive create`): an `archiveDir` not made yet is where the first one goes. */
  archiveDirMayBeNew?: boolean;
}

/**
 * A path the file gives for `key`: relative to the file's directory, `~/` the home directory, `..` as the
 * kernel resolves it (after a link, the link target's parent: see store/files/user-path.ts).
 */
function atFile(value: string, key: string, dir: string): string {
  return resolveUserPath(value, { what: `--config: archive.${key}`, code: ErrorCodes.CONFIG_INVALID, key }, dir);
}

/** The data directory as the kernel resolves it (`..` after a link, `~`): every path under it is joined to this one. */
function dataDirOf(dataDir: string): string {
  return resolveUserPath(dataDir, { what: '--data-dir' });
}

/** Hook commands of a config file run in the file's directory (unless they name their cwd), so `./notify.sh` works. */
function hooksRunFrom(hooks: Record<string, unknown>, dir: string, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(hooks)) {
    if (typeof v === 'string' || Array.isArray(v)) out[name] = { command: v, cwd: dir };
    else if (typeof v === 'object' && v !== null && !('cwd' in v)) out[name] = { ...v, cwd: dir };
    else if (typeof v === 'object' && v !== null && typeof (v as { cwd: unknown }).cwd === 'string' && (v as { cwd: string }).cwd !== '') out[name] = { ...v, cwd: atFile((v as { cwd: string }).cwd, `${key}.${name}.cwd`, dir) };
    else out[name] = v;
  }
  return out;
}

/** A remote's keys that name files or directories: a local remote's `path`, a GCS key file. */
const REMOTE_PATH_KEYS = ['path', 'keyFilename'];

/** A JSON object (anything else is left as it is, for validation to name). */
function isBlock(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `block` with its string `keys` resolved against `dir`; an empty one stays empty, for validation to refuse (resolved, it named the file's directory). */
function pathsAtFile(block: Record<string, unknown>, keys: readonly string[], dir: string, at = ''): Record<string, unknown> {
  const out: Record<string, unknown> = { ...block };
  for (const key of keys) if (typeof out[key] === 'string' && out[key] !== '') out[key] = atFile(out[key], at + key, dir);
  return out;
}

/**
 * The file's archive block: the file itself, or what its `archive` key holds (README: `{ "archive": {...} }`).
 * The block has no `archive` key of its own, so a file with one is always the wrapped form; anything beside
 * it is refused by name (it was reported as an unknown `archive` key, the documented one).
 */
function archiveBlockOf(obj: Record<string, unknown>, file: string): Record<string, unknown> {
  if (!('archive' in obj)) return obj;
  const beside = Object.keys(obj).filter((k) => k !== 'archive');
  if (beside.length > 0) {
    throw new BriError(ErrorCodes.CONFIG_INVALID, `--config ${file}: unknown key(s) ${beside.map((k) => `'${k}'`).join(', ')} beside 'archive'`, {
      hint: 'The file holds the archive block alone ({ "remotes": [...] }), or { "archive": {...} } with nothing beside it (the data directory is -d).',
      details: { key: beside[0]! },
    });
  }
  if (typeof obj.archive !== 'object' || obj.archive === null || Array.isArray(obj.archive)) {
    throw new BriError(ErrorCodes.CONFIG_INVALID, `--config ${file}: 'archive' must be a JSON object (the archive block)`, { hint: 'Write { "archive": { "remotes": [...] } }, or the archive block alone.', details: { key: 'archive' } });
  }
  return obj.archive as Record<string, unknown>;
}

/**
 * The archive block of a JSON config file, not yet validated: relative paths in it (localDir, a
 * local remote's path, a GCS keyFilename, a restore source's path, encryption.identityFile, hooks' cwd) are relative to the
 * file, and hook commands run in the file's directory. The file may hold credentials: its values
 * are never printed, errors name keys only.
 */
export function loadArchiveConfigFile(configFile: string): ArchiveConfig {
  const file = resolveUserPath(configFile, { what: '--config' });
  assertRegularFileInput(file, '--config');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new BriError(ErrorCodes.CONFIG_INVALID, `cannot read --config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'Give the path of a JSON file holding the archive configuration.' });
  }
  let parsed: unknown;
  try {
    // A byte order mark (editors on Windows write one) is no part of the JSON.
    parsed = JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch (err) {
    // JSON.parse quotes the text near the error, which may be a secret: only the position is kept.
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new BriError(ErrorCodes.CONFIG_INVALID, `--config ${file} is not valid JSON${pos ? ` (at character ${pos})` : ''}`, { hint: 'The file must be one JSON object.' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BriError(ErrorCodes.CONFIG_INVALID, `--config ${file} must hold a JSON object`, { hint: 'Put the archive block ({ "remotes": [...] }) or { "archive": {...} } in it.' });
  }
  let config = archiveBlockOf(parsed as Record<string, unknown>, file);
  // Relative paths in the file are relative to the file, like any config file: the same file must
  // name the same archive directory, NAS and key files from any working directory.
  const dir = path.dirname(file);
  config = pathsAtFile(config, ['localDir'], dir);
  // identityFile may hold the key itself (as the API takes it): only a path is resolved against the file.
  if (isBlock(config.encryption) && !isIdentityText(String(config.encryption.identityFile ?? ''))) config = { ...config, encryption: pathsAtFile(config.encryption, ['identityFile'], dir, 'encryption.') };
  const remoteAtFile = (r: unknown, at: string) => (isBlock(r) ? pathsAtFile(r, REMOTE_PATH_KEYS, dir, `${at}.`) : r);
  if (config.remote !== undefined) config = { ...config, remote: remoteAtFile(config.remote, 'remote') };
  if (Array.isArray(config.remotes)) config = { ...config, remotes: config.remotes.map((r, i) => remoteAtFile(r, `remotes[${i}]`)) };
  // A restore source given as its location ({ type: 'local', path }) names the same directory as the remote or localDir it is.
  for (const key of ['restoreSources', 'sources']) {
    const list = config[key];
    if (Array.isArray(list)) config = { ...config, [key]: list.map((r, i) => remoteAtFile(r, `${key}[${i}]`)) };
  }
  for (const key of ['hooks', 'restoreHooks']) {
    if (typeof config[key] === 'object' && config[key] !== null) config = { ...config, [key]: hooksRunFrom(config[key] as Record<string, unknown>, dir, key) };
  }
  return config as ArchiveConfig;
}

/**
 * The archive configuration of the file (if any) with `archiveDir` overriding its localDir,
 * validated; an archive directory that exists and is not a directory is refused at once.
 */
export async function offlineArchiveConfig(from: OfflineConfigSource, dataDir?: string): Promise<ArchiveConfig> {
  let config: Record<string, unknown> = from.configFile !== undefined ? { ...loadArchiveConfigFile(from.configFile) } : {};
  const archiveDir = from.archiveDir ? resolveUserPath(from.archiveDir, { what: '--archive-dir' }) : undefined;
  if (archiveDir !== undefined) config = { ...config, localDir: archiveDir };
  else if (config.localDir === undefined && dataDir !== undefined) {
    const recorded = await recordedArchiveDirOf(dataDir);
    if (recorded !== undefined) config = { ...config, localDir: recorded };
  }
  if (typeof config.localDir === 'string') assertDirectoryInput(config.localDir, from.archiveDir ? '--archive-dir' : 'the archive directory (localDir)');
  (await import('./config.js')).parseArchiveConfig(config);
  if (archiveDir !== undefined && !from.archiveDirMayBeNew) refuseMissingArchiveDir(archiveDir, config);
  return config as ArchiveConfig;
}

/**
 * `--archive-dir` names where to look: one that does not exist, with no remote to look on instead, is a
 * wrong path (a typo, an unmounted disk), never "no archives" with exit 0 a script takes for an empty list.
 */
function refuseMissingArchiveDir(dir: string, config: Record<string, unknown>): void {
  const remotes = (Array.isArray(config.remotes) ? config.remotes.length : 0) + (config.remote !== undefined ? 1 : 0);
  if (remotes > 0 || fs.existsSync(dir)) return;
  throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `--archive-dir ${dir} does not exist`, {
    hint: 'Check the path (and that its disk is mounted); without --archive-dir the data directory\'s own archive directory is used. `bri archive create` makes the directory.',
    details: { path: dir },
  });
}

/**
 * Where this data directory's archives are made, as bri-archive.json records it, when it is a
 * directory: a program not told where (no -a, no localDir) lists, restores and archives there, as
 * the database configured with that localDir does (`<dataDir>/archives` said "no archives").
 */
async function recordedArchiveDirOf(dataDir: string): Promise<string | undefined> {
  const dir = dataDirOf(dataDir);
  const state = await readArchiveState(dir).catch(() => null);
  const recorded = recordedArchiveDir(state, dir);
  if (recorded === undefined) return undefined;
  const st = fs.statSync(recorded, { throwIfNoEntry: false });
  if (st?.isDirectory()) return recorded;
  // Gone while the state names an archive made there (moved away, a disk not mounted): looked at all the
  // same, so that list, restore and create say so (the path, the last archive), never "no archives" in
  // <dataDir>/archives and a new chain there from a seed. `-a` names where the archives are now.
  return st === undefined && state?.last ? recorded : undefined;
}

/** The key of an offline program: $BRI_ENCRYPTION_KEY only, never an argument (other users could read it). */
export function encryptionKeyFromEnv(): EncryptionKey | undefined {
  return resolveEncryptionKey(undefined);
}

/** `db.archive` over a data directory no process has open: its lock is taken per operation (`purpose` names the holder). */
export async function openOfflineArchive(opts: { dataDir: string; purpose: string } & OfflineConfigSource): Promise<ArchiveApi> {
  const { ArchiveApi, offlineHost } = await import('./archive-api.js');
  // A restore killed mid-swap leaves the archives in the old directory: finished first, so that no
  // command answers "no archives" or makes a new chain beside them (the store's open does the same).
  const dataDir = dataDirOf(opts.dataDir);
  await recoverInterruptedRestoreSaying(dataDir);
  const host = offlineHost(dataDir, encryptionKeyFromEnv(), opts.purpose);
  return new ArchiveApi(host, await offlineArchiveConfig(opts, dataDir));
}

/** `db.restore` for a data directory that is not open in this process. */
export async function openOfflineRestore(opts: { dataDir: string } & OfflineConfigSource): Promise<RestoreApi> {
  const dataDir = dataDirOf(opts.dataDir);
  await recoverInterruptedRestoreSaying(dataDir);
  const config = await offlineArchiveConfig(opts, dataDir);
  const key = encryptionKeyFromEnv();
  const { openRestore } = await import('./restore-api.js');
  return openRestore({ dataDir, config, ...(key ? { key } : {}) });
}

/**
 * An existing data directory, a restore killed in its swap finished first: between its renames the directory
 * was missing ("does not exist"), before them it was the old one, which the next open replaces.
 */
async function assertStoppedDataDir(given: string): Promise<string> {
  const dataDir = dataDirOf(given);
  await recoverInterruptedRestoreSaying(dataDir);
  await assertDataDir(dataDir, false);
  return dataDir;
}

/** The WAL hash chain, the snapshot and the cold tier of a data directory (reads only, takes no lock, once an interrupted restore is finished). */
export async function verifyDataDirectory(given: string): Promise<DataDirReport> {
  const dataDir = await assertStoppedDataDir(given);
  return verifyDataDir(dataDir, encryptionKeyFromEnv());
}

/** The documents and sets of a data directory as the store sees them (reads only). */
export async function dumpDataDirectory(given: string, opts: { skipInvalid?: boolean } = {}): Promise<PlainState> {
  const dataDir = await assertStoppedDataDir(given);
  const rec = await recover(dataDir, { encryptionKey: encryptionKeyFromEnv(), invalidLines: opts.skipInvalid ? 'skip' : 'error' });
  return toPlainState(rec.state);
}

/** Segments, lines, bytes, the snapshot's line, operations by type. */
export async function dataDirectoryStats(given: string): Promise<DataDirStats> {
  const dataDir = await assertStoppedDataDir(given);
  return collectStats(dataDir, encryptionKeyFromEnv());
}

/**
 * Runs `fn` with the stopped database at `dataDir` open under its lock (what a rollback writes
 * into: its writes go through the WAL like any other), closed afterwards whatever happens. With
 * `readOnly` (a dry run), the directory is only read, nothing in it changes (opening and closing the
 * store writes a snapshot and starts a segment); a database open elsewhere is refused all the same.
 */
export async function withStoppedDatabase<T>(given: string, fn: (live: LiveStore) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  const dataDir = dataDirOf(given);
  if (opts.readOnly) {
    await assertDataDir(dataDir, false);
    await refuseIfLocked(dataDir, 'Stop the process that has the database open, or roll back through it (db.restore.rollback).');
    const { state } = await recover(dataDir, { encryptionKey: encryptionKeyFromEnv() });
    const refused = () => Promise.reject(new BriError(ErrorCodes.USAGE, 'a dry run writes nothing'));
    return fn({ state, set: refused, delete: refused, sAdd: refused, sRem: refused });
  }
  const { BriStore } = await import('../store/store.js');
  const live = await BriStore.open({ dataDir, createIfMissing: false });
  try {
    return await fn(live);
  } finally {
    await live.close();
  }
}
