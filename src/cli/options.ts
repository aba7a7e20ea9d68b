/**
 * What each command parses its arguments into: one options object per command, handed to its
 * handler (src/cli/handlers/), which calls the API and prints. Types only: parsing loads nothing.
 */
import type { ParsedRetention } from '../format/input.js';

export interface CommonOptions {
  /** Absolute (resolved against the working directory). */
  dataDir: string;
  json: boolean;
  quiet: boolean;
}

/** `--config` and `--archive-dir`, as given (the API reads the file and resolves the paths). */
export interface ArchiveSetup {
  configFile?: string;
  archiveDir?: string;
}

export type ArchiveCommon = CommonOptions & ArchiveSetup;

export const THAW_TIERS = ['expedited', 'standard', 'bulk'] as const;
export type ThawTier = (typeof THAW_TIERS)[number];

export const BROKEN_SHIPMENT = ['stop', 'fail'] as const;

/** `bri restore latest|from|to-timestamp|clone`. */
export interface RestoreRunOptions extends ArchiveCommon {
  source?: string;
  /** Absolute; absent: the data directory. */
  targetDir?: string;
  dryRun: boolean;
  verify: boolean;
  force: boolean;
  cleanExisting: boolean;
  instanceId?: string;
  onBrokenShipment: (typeof BROKEN_SHIPMENT)[number];
  /** An age identity file (archives encrypted with age); default $BRI_AGE_IDENTITY. */
  identity?: string;
}

/** The time-travel commands' common options: where to read (a source, an instance) and what opens encrypted archives. */
export interface PastOptions extends ArchiveCommon {
  source?: string;
  instanceId?: string;
  identity?: string;
}

export interface CommandOptions {
  'data verify': CommonOptions;
  'data dump': CommonOptions & { skipInvalid: boolean };
  'data stats': CommonOptions;
  'archive create': ArchiveCommon & { name?: string; retention?: ParsedRetention; level?: number };
  'archive list': ArchiveCommon & { source?: string };
  'archive get': ArchiveCommon & { id: string; source?: string };
  'archive inspect': ArchiveCommon & { file: string };
  /** `deep`: the contents of an archive encrypted with age too (needs `identity` or $BRI_AGE_IDENTITY). */
  /** `target` undefined: every archive (--all). */
  'archive verify': ArchiveCommon & { target?: string; source?: string; deep: boolean; identity?: string };
  'archive rekey': ArchiveCommon & { recipients: string[]; passphrase: boolean; identity?: string; id?: string; source?: string };
  'archive delete': ArchiveCommon & { id: string; source?: string; force: boolean };
  'archive upload': ArchiveCommon & { id?: string; source?: string };
  'archive stats': ArchiveCommon & { source?: string };
  'archive prune': ArchiveCommon & { dryRun: boolean };
  'archive cleanup-wal': ArchiveCommon;
  'archive repair': ArchiveCommon & { target: string; out?: string; inPlace: boolean; force: boolean };
  /** One archive (`id`) or every archive (`all`), never both. */
  'archive thaw': ArchiveCommon & { id?: string; all: boolean; source?: string; days?: number; tier?: ThawTier };
  'archive download': ArchiveCommon & { id: string; file: string; source?: string; verify: boolean; force: boolean };
  'archive history': PastOptions & { key: string; from?: number; to?: number };
  'archive show': PastOptions & { key: string; at: number };
  'restore list': ArchiveCommon & { source?: string; after?: number; before?: number };
  'restore info': ArchiveCommon & { id: string; source?: string };
  'restore latest': RestoreRunOptions;
  'restore from': RestoreRunOptions & { id: string };
  'restore to-timestamp': RestoreRunOptions & { timestamp: number };
  'restore clone': RestoreRunOptions & { targetDir: string; archiveId?: string; timestamp?: number; newInstanceId?: string };
  'restore verify': ArchiveCommon & { id: string; source?: string; deep: boolean; identity?: string };
  'restore diff': PastOptions & { at: number; to?: number };
  /** Keys to roll back to their values at `at` (and every name under `prefix`). */
  'restore keys': PastOptions & { keys: string[]; prefix?: string; at: number; dryRun: boolean };
}

export type CommandName = keyof CommandOptions;

/** The commands of one group: `CommandsOf<'archive'>` is 'archive create' | 'archive list' | ... */
export type CommandsOf<G extends string> = Extract<CommandName, `${G} ${string}`>;

/** Runs a parsed command and answers its exit code (or throws: main.ts turns the error into one). */
export type Runner = <K extends CommandName>(name: K, opts: CommandOptions[K]) => Promise<number>;

/** What a command's action hands its options object to (createProgram's, over a Runner). */
export type Dispatch = <K extends CommandName>(name: K, opts: CommandOptions[K]) => Promise<void>;

/** A command's handler: calls the API, prints, answers the exit code. */
export type Handlers<K extends CommandName> = { [N in K]: (opts: CommandOptions[N]) => Promise<number> };
