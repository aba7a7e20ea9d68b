/**
 * The `archive` block of the configuration (createDB's storeConfig.archive,
 * or the JSON file of `bri --config`), validated once at startup: an unknown
 * key, a wrong type or a bad remote is a CONFIG_INVALID naming the key, and
 * values are never echoed (they may be secrets).
 */
import { z } from 'zod';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import { createRemote, durationMs, parseRemoteConfig, PROVIDERS, type RemoteConfig } from '../remote/registry.js';
import { normalizeStorePrefix } from '../remote/keys.js';
import { commandHook, type CommandHookSpec } from './jobs/command-hook.js';
import { boundedFunction, functionHook } from './jobs/function-hook.js';
import type { RestoreHooks } from './restore/execute.js';
import { triggersSchema } from './jobs/scheduler.js';
import { DEFAULT_ZSTD_LEVEL } from './package/compress.js';
import { DEFAULT_REDUNDANCY } from './package/recovery.js';
import { recipientProblem, type AgeRecipients } from './crypto/age-keys.js';
import { LOCAL_SOURCE, nameRemotes } from './copies/sources.js';
import { realPath } from './copies/locations.js';

/** Where each default lives: the one place a setting left out is given its value. */
export const ARCHIVE_DEFAULTS = {
  level: DEFAULT_ZSTD_LEVEL,
  /** zstd worker threads: the machine's two cores. */
  workers: 2,
  redundancy: DEFAULT_REDUNDANCY,
  shipIntervalMs: 1000,
} as const;

const compression = z.strictObject({
  /** The design note's `algorithm: 'zstd'`: the one algorithm archives use (their members are `.zst`), so the only value. */
  algorithm: z.literal('zstd', { message: "must be 'zstd' (archives are zstd; there is no other algorithm)" }).optional(),
  level: z.number().int().min(1).max(22).default(ARCHIVE_DEFAULTS.level),
  workers: z.number().int().min(0).max(64).default(ARCHIVE_DEFAULTS.workers),
});

const errorCorrection = z.strictObject({
  enabled: z.boolean().default(true),
  redundancy: z.number().gt(0).max(1).default(ARCHIVE_DEFAULTS.redundancy),
});

const fn = <F>() => z.custom<F>((v) => typeof v === 'function', { message: 'must be a function' });
const argv = z.array(z.string().min(1)).min(1);
const command = z.strictObject({ command: z.union([z.string().min(1), argv]), timeoutMs: durationMs(1).optional(), cwd: z.string().min(1).optional() });
/** A function with its own time limit (API): { function, timeoutMs }. */
const timedFunction = <F>() => z.strictObject({ function: fn<F>(), timeoutMs: durationMs(1).optional() });
/** A hook: a function (API), or a command (JSON config): a shell line, an argv, or { command, timeoutMs, cwd }. */
const hook = <F>() =>
  z
    .union([fn<F>(), timedFunction<F>(), z.string().min(1), argv, command], { message: 'must be a function, { function, timeoutMs }, a command line, an argv array, or { command, timeoutMs, cwd }' })
    .optional();
const hooks = z.strictObject({
  beforeArchive: hook<NonNullable<ArchiveHooks['beforeArchive']>>(),
  afterArchive: hook<NonNullable<ArchiveHooks['afterArchive']>>(),
  onError: hook<NonNullable<ArchiveHooks['onError']>>(),
});
const restoreHooks = z.strictObject({
  beforeRestore: hook<NonNullable<RestoreHooks['beforeRestore']>>(),
  afterSnapshotRestore: hook<NonNullable<RestoreHooks['afterSnapshotRestore']>>(),
  afterWalSegmentRestore: hook<NonNullable<RestoreHooks['afterWalSegmentRestore']>>(),
  afterRestore: hook<NonNullable<RestoreHooks['afterRestore']>>(),
  onError: hook<NonNullable<RestoreHooks['onError']>>(),
});

/**
 * Archives encrypted with age for these recipients: the machine that makes archives holds public keys
 * only (it can write backups it cannot read); restores take an identity (--identity, BRI_AGE_IDENTITY).
 */
const encryption = z
  .strictObject({
    /** age recipients: X25519 `age1...` public keys (or post-quantum `age1pq1...`). */
    recipients: z.array(z.string().min(1)).default([]),
    /** A passphrase instead of recipients (scrypt; restores then need $BRI_AGE_PASSPHRASE). */
    passphrase: z.string().min(1).optional(),
    /** An identity file for restores made through this configuration (default: $BRI_AGE_IDENTITY). */
    identityFile: z.string().min(1).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.recipients.length === 0 && e.passphrase === undefined) ctx.addIssue({ code: 'custom', path: ['recipients'], message: 'needs at least one age recipient (age1...), or a passphrase' });
    if (e.recipients.length > 0 && e.passphrase !== undefined) ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'age encrypts to recipients or to a passphrase, not both' });
    e.recipients.forEach((r, i) => {
      const problem = recipientProblem(r);
      // The recipient is a public key: naming its position is enough, and safe.
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['recipients', i], message: problem });
    });
  });

const sourceName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { message: 'must be a source name (local, or a remote name or provider)' });
/**
 * A restore source written as the design note writes it: the location itself, with the keys of a remote of
 * that type (`{ type: 's3', bucket, prefix, region }`, `{ type: 'local', path }`), resolved to the source
 * configured there (resolveSourceLocations).
 */
const sourceLocation = z.looseObject({ type: z.enum(['local', ...PROVIDERS] as [string, ...string[]]) });
const restoreSource = z.union([sourceName, sourceLocation], {
  message: "must be a source's name (local, a remote's name or a provider) or its location as a remote is configured ({ type: 's3', bucket, prefix }, { type: 'local', path }, ...)",
});
type SourceLocation = z.infer<typeof sourceLocation>;
/** The keys named in a refusal (never a value: a location's settings may hold secrets). */
const LOCATION_KEYS = new Set(['bucket', 'container', 'prefix', 'path', 'region', 'endpoint', 'accountName', 'projectId', 'name']);

const schema = z.strictObject({
  /** Triggers run while the database is open (default true; create by hand works either way). */
  enabled: z.boolean().default(true),
  /** At most this many of the newest archives keep a local copy, once a remote copy remains. */
  keepLocal: z.number().int().min(0).optional(),
  /** Archives are pruned this many days after their seal, unless permanent or dated (default: kept). */
  retentionDays: z
    .number()
    // Whole days from 1, as --retention and a remote's retentionDays take them (a fraction near 0 pruned all but the newest at once).
    .int({ message: 'must be a whole number of days, at least 1' })
    .min(1, { message: 'must be a whole number of days, at least 1' })
    .max(3_650_000, { message: 'must be at most 3650000 days (10000 years)' })
    .optional(),
  triggers: triggersSchema.prefault({}),
  /** Remove WAL segments once every line in them is archived and stored everywhere. */
  cleanupWal: z.boolean().default(false),
  /**
   * The design note's `cleanupSnapshots: true`: BRI keeps one snapshot.jss, replaced by the next, and each archive
   * holds the snapshot it starts from, so no older snapshot is ever left to clean up. `false` (keep them) would be a
   * promise nothing keeps: refused.
   */
  cleanupSnapshots: z
    .boolean()
    .refine((v) => v, { message: 'false asks to keep old snapshots, and there are none to keep: BRI has one snapshot.jss, replaced by each snapshot, and every archive holds the snapshot it starts from. Leave it out or set it to true' })
    .optional(),
  /** Ship the WAL to every remote as it is written, between archives. */
  continuous: z.strictObject({ enabled: z.boolean().default(false), intervalMs: durationMs(10).default(ARCHIVE_DEFAULTS.shipIntervalMs) }).prefault({}),
  hooks: hooks.optional(),
  /** Around restores (default hooks of db.restore, openRestore and `bri restore`). */
  restoreHooks: restoreHooks.optional(),
  /** Where archives are kept (default `<dataDir>/archives`). */
  localDir: z.string().min(1).optional(),
  compression: compression.prefault({}),
  errorCorrection: errorCorrection.prefault({}),
  /** One remote (validated by the remote registry). */
  remote: z.unknown().optional(),
  /** Several remotes: every archive goes to each. */
  remotes: z.array(z.unknown()).optional(),
  /** Where restore and download look, in priority order (names or providers; default: local, then the remotes in order). */
  restoreSources: z.array(restoreSource).min(1).optional(),
  /** age encryption of every data member, seed and shipped WAL object (default: none). */
  encryption: encryption.optional(),
});

export type { ArchiveTriggers } from './jobs/scheduler.js';

/** Called around automatic and manual runs of the archive job. */
export interface ArchiveHooks {
  beforeArchive?(info: { reason: string }): void | Promise<void>;
  afterArchive?(result: unknown): void | Promise<void>;
  onError?(error: unknown): void | Promise<void>;
}

/** A hook as the configuration takes it: a function (with its time limit, or the default 5 minutes), or a command (see command-hook.ts). */
export type HookSetting<F> = F | { function: F; timeoutMs?: number } | string | string[] | CommandHookSpec;
export type HookSettings<H> = { [K in keyof H]?: HookSetting<NonNullable<H[K]>> };

/** The archive configuration as a caller writes it (createDB's storeConfig.archive, the JSON of --config): the schema's input. */
export type ArchiveConfig = Omit<z.input<typeof schema>, 'hooks'> &
  // The design note's other places for the same settings (asTheNoteNests): triggers in the block, restore hooks in hooks, sources.
  z.input<typeof triggersSchema> & {
    hooks?: z.input<typeof hooks> & Omit<z.input<typeof restoreHooks>, 'onError'>;
    sources?: z.input<typeof schema>['restoreSources'];
  };

/** After validation: every default filled in (ARCHIVE_DEFAULTS), `remote` and `remotes` as one list, every hook a function. */
export type ParsedArchiveConfig = Omit<z.output<typeof schema>, 'remote' | 'remotes' | 'hooks' | 'restoreHooks' | 'restoreSources'> & {
  remotes: RemoteConfig[];
  /** Source names, in order (a location given is the name of the source configured there). */
  restoreSources?: string[];
  /** Every hook as a function (commands wrapped). */
  hooks?: ArchiveHooks;
  restoreHooks?: RestoreHooks;
};

/** Hooks with every command wrapped into a function that runs it (and archive hooks' functions into functionHook). */
function asFunctions<H>(settings: Record<string, unknown> | undefined, wrapFunctions = false): H | undefined {
  if (!settings) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(settings)) {
    if (v === undefined) continue;
    if (typeof v === 'function') out[name] = wrapFunctions ? functionHook(name, v as (...a: never[]) => unknown) : boundedFunction(name, v as (...a: never[]) => unknown);
    else if (typeof v === 'object' && v !== null && 'function' in v) {
      const spec = v as { function: (...a: never[]) => unknown; timeoutMs?: number };
      out[name] = wrapFunctions ? functionHook(name, spec.function, spec.timeoutMs) : boundedFunction(name, spec.function, spec.timeoutMs);
    } else out[name] = commandHook(name, typeof v === 'string' || Array.isArray(v) ? { command: v as string | string[] } : (v as CommandHookSpec));
  }
  return out as H;
}

function configError(key: string, message: string, hint = 'fix the archive configuration (see the README section on configuration)'): BriError {
  return new BriError(ErrorCodes.CONFIG_INVALID, `archive.${key}: ${message}`, { hint, details: { key } });
}

/** The keys the schema takes in the object at `at` (under its optional or default wrapper): what a misspelt key was meant to be. */
function keysAt(at: readonly PropertyKey[]): string[] {
  let t: unknown = schema;
  for (const k of [...at, null]) {
    while (t instanceof z.ZodOptional || t instanceof z.ZodDefault || t instanceof z.ZodPrefault) t = t.unwrap();
    if (k === null || !(t instanceof z.ZodObject)) break;
    t = (t.shape as Record<PropertyKey, unknown>)[k];
  }
  return t instanceof z.ZodObject ? Object.keys(t.shape as object) : [];
}

/** An unknown key, with the keys its object takes (a key in the wrong place, `retention` for retentionDays, is told at once). */
function unknownKeyError(at: readonly PropertyKey[], keys: readonly string[]): BriError {
  const where = at.length ? `archive.${at.map(String).join('.')}` : 'the archive block';
  const known = keysAt(at);
  const hint = known.length ? `The keys of ${where} are ${known.join(', ')}: fix the archive configuration (see the README section on configuration).` : undefined;
  return configError(at.map(String).join('.') || '(root)', `unknown key(s) ${keys.map((k) => `'${k}'`).join(', ')}`, hint);
}

/** A location's value as compared: a prefix however it is spelt (`production`, `/production/`), a local path by where it leads. */
function sameSetting(key: string, a: unknown, b: unknown): boolean {
  const [x, y] = [a, b].map((v) => (typeof v === 'string' ? v : undefined));
  if (key === 'prefix') return normalizeStorePrefix(x) === normalizeStorePrefix(y);
  // A region left to the SDK's default on the remote is not a different place.
  if (key === 'region' && a === undefined) return true;
  if (key === 'path') return x !== undefined && y !== undefined && realPath(x) === realPath(y);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A location's prefix that no remote could have ('..', an empty segment, not a string): the entry's error, not a USAGE from deep inside. */
function assertLocationPrefix(prefix: unknown, i: number): void {
  if (prefix === undefined) return;
  const hint = "Give the prefix as the remote it names is configured with (segments joined by '/', no '..', no empty segment), or the remote's name.";
  if (typeof prefix !== 'string') throw configError(`restoreSources[${i}].prefix`, `must be a string, got ${typeof prefix}`, hint);
  try {
    normalizeStorePrefix(prefix);
  } catch (err) {
    throw configError(`restoreSources[${i}].prefix`, err instanceof Error ? err.message : String(err), hint);
  }
}

/**
 * Each restore source given as a location, as the name of the source configured there: the archive directory
 * (`{ type: 'local' }`, or its path when that is localDir) or the remote of that type whose settings are the ones
 * given (a prefix left out is none; credentials need not be repeated). A location where this configuration keeps
 * no archive is refused: restores read the archive directory and the remotes archives are sent to.
 */
function resolveSourceLocations(entries: ReadonlyArray<string | SourceLocation>, remotes: RemoteConfig[], localDir: string | undefined): string[] {
  const names = nameRemotes(remotes);
  return entries.map((e, i) => {
    if (typeof e === 'string') return e;
    const { type, ...given } = e;
    const keys = Object.keys(given);
    if (type === LOCAL_SOURCE && (keys.length === 0 || (keys.length === 1 && localDir !== undefined && sameSetting('path', given.path, localDir)))) return LOCAL_SOURCE;
    assertLocationPrefix(given.prefix, i);
    // The prefix is compared even when left out (none): a remote under a prefix is another place than the bucket's root.
    const at = remotes.findIndex((r) => r.provider === type && [...new Set([...keys, 'prefix'])].every((k) => sameSetting(k, (r as Record<string, unknown>)[k], given[k])));
    if (at >= 0) return names[at]!;
    const known = [`local (${localDir ?? 'the archive directory'})`, ...names.map((n, k) => `${n} (${createRemote(remotes[k]!, { retry: false }).describe().location})`)];
    throw configError(
      `restoreSources[${i}]`,
      `this ${type} location (${keys.filter((k) => LOCATION_KEYS.has(k)).join(', ') || 'no settings'}) is not where this configuration keeps archives: the sources are ${known.join(', ')}`,
      "Restores read the archive directory and the remotes archives are sent to: add this location as a remote (remote or remotes), set archive.localDir to it if it is the archive directory, or give a source's name.",
    );
  });
}

/** Settings each valid alone that cannot work together: refused rather than silently doing nothing. */
function checkSettingsAgree(c: Pick<ParsedArchiveConfig, 'continuous' | 'restoreSources' | 'keepLocal'>, remotes: RemoteConfig[]): void {
  if (c.continuous.enabled && remotes.length === 0) throw configError('continuous.enabled', 'continuous shipping sends the WAL to remotes, and none is configured: add a remote (remote or remotes), or set enabled to false');
  if (c.restoreSources === undefined) return;
  const names = nameRemotes(remotes);
  // The remotes a source name means, as ArchiveSources.select reads it: none for `local` (the archive directory), else that remote, else every remote of that provider.
  const meant = (s: string) => (s === LOCAL_SOURCE ? [] : names.includes(s) ? [s] : names.filter((_, i) => remotes[i]!.provider === s));
  // A source named here that no remote is would fail every restore and download (REMOTE_NOT_FOUND), a config error found late.
  c.restoreSources.forEach((s, i) => {
    if (s !== LOCAL_SOURCE && meant(s).length === 0) {
      throw configError(`restoreSources[${i}]`, `names no configured source: the sources are ${[LOCAL_SOURCE, ...names].join(', ')} (a remote's name, or a provider for all its remotes)`);
    }
  });
  // keepLocal removes a local copy once any remote holds the archive: a remote restore never reads may then hold its only copy.
  const unread = names.filter((n) => !c.restoreSources!.some((s) => meant(s).includes(n)));
  if (c.keepLocal !== undefined && unread.length > 0) {
    throw configError(
      'restoreSources',
      `leaves out ${unread.join(', ')}, while keepLocal removes local copies of archives a remote holds: restore and download would not find the archives only ${unread.length === 1 ? 'it holds' : 'they hold'}. Add ${unread.join(', ')} to restoreSources, or remove keepLocal`,
    );
  }
}

/** The design note's triggers as its section on triggers writes them: in the archive block itself (the triggers block's own keys). */
const TRIGGER_KEYS = Object.keys(triggersSchema.shape);
/** The design note's restore hooks as its section on them writes them: in `hooks`, beside the archive's (onError is both's). */
const RESTORE_HOOK_KEYS = Object.keys(restoreHooks.shape).filter((k) => k !== 'onError');

/**
 * The block with what the design note writes in other places moved where the schema takes it: trigger keys
 * in the archive block into `triggers`, restore hooks in `hooks` into `restoreHooks` (with `hooks.onError`
 * then the restore's too, unless restoreHooks has its own), and `sources` (its restore manager's) as
 * `restoreSources`. One setting given in both places is refused, naming both.
 */
function asTheNoteNests(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  const moveInto = (into: string, keys: readonly string[], from: Record<string, unknown>, fromName: string): void => {
    const moving = keys.filter((k) => from[k] !== undefined);
    if (moving.length === 0) return;
    const target = out[into] === undefined ? {} : out[into];
    if (typeof target !== 'object' || target === null || Array.isArray(target)) return; // the schema names it
    const both = moving.find((k) => (target as Record<string, unknown>)[k] !== undefined);
    if (both !== undefined) throw configError(`${fromName}${both}`, `is given here and in ${into}: keep one`);
    out[into] = { ...target, ...Object.fromEntries(moving.map((k) => [k, from[k]])) };
    for (const k of moving) delete from[k];
  };
  moveInto('triggers', TRIGGER_KEYS, out, '');
  if (typeof out.hooks === 'object' && out.hooks !== null && !Array.isArray(out.hooks)) {
    const hooksGiven: Record<string, unknown> = { ...(out.hooks as Record<string, unknown>) };
    const restoreForm = RESTORE_HOOK_KEYS.some((k) => hooksGiven[k] !== undefined);
    moveInto('restoreHooks', RESTORE_HOOK_KEYS, hooksGiven, 'hooks.');
    const rh = out.restoreHooks as Record<string, unknown> | undefined;
    if (restoreForm && hooksGiven.onError !== undefined && rh !== undefined && rh.onError === undefined) out.restoreHooks = { ...rh, onError: hooksGiven.onError };
    out.hooks = hooksGiven;
  }
  if (out.sources !== undefined) {
    if (out.restoreSources !== undefined) throw configError('sources', 'is given beside restoreSources (the same setting): keep one');
    out.restoreSources = out.sources;
    delete out.sources;
  }
  return out;
}

/** Validates the archive block. Throws CONFIG_INVALID naming the key (`archive.remotes[1].s3.bucket: is required`). */
export function parseArchiveConfig(input: unknown): ParsedArchiveConfig {
  const r = schema.safeParse(asTheNoteNests(input ?? {}));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') throw unknownKeyError(issue.path, issue.keys);
    throw configError(key || '(root)', /received undefined/.test(issue.message) ? 'is required' : issue.message.replace(/^Invalid input: /, ''));
  }
  const { remote, remotes, hooks: h, restoreHooks: rh, restoreSources: sourcesGiven, ...given } = r.data;
  const raw: Array<{ where: string; value: unknown }> = [
    ...(remote !== undefined ? [{ where: 'remote', value: remote }] : []),
    ...(remotes ?? []).map((value, i) => ({ where: `remotes[${i}]`, value })),
  ];
  const parsed = raw.map(({ where, value }) => {
    try {
      return parseRemoteConfig(value);
    } catch (err) {
      if (!isBriError(err, ErrorCodes.CONFIG_INVALID)) throw err;
      // The registry names keys from `remote.`; say which entry it was.
      throw new BriError(ErrorCodes.CONFIG_INVALID, `archive.${where}${err.message.replace(/^remote/, '')}`, { ...(err.hint ? { hint: err.hint } : {}), details: { ...err.details, entry: where } });
    }
  });
  const rest = { ...given, ...(sourcesGiven !== undefined ? { restoreSources: resolveSourceLocations(sourcesGiven, parsed, given.localDir) } : {}) };
  checkSettingsAgree(rest, parsed);
  const archiveHooks = asFunctions<ArchiveHooks>(h, true);
  const restore = asFunctions<RestoreHooks>(rh);
  return { ...rest, remotes: parsed, ...(archiveHooks ? { hooks: archiveHooks } : {}), ...(restore ? { restoreHooks: restore } : {}) };
}

/** The recipients an archive is encrypted for, from the configuration's `encryption` block. */
export function ageRecipientsOf(e: NonNullable<ParsedArchiveConfig['encryption']>): AgeRecipients {
  return { recipients: [...e.recipients], ...(e.passphrase !== undefined ? { passphrase: e.passphrase } : {}) };
}
