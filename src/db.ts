/**
 * createDB(): the store on a data directory, plus db.archive (and db.restore
 * as that layer lands).
 */
import { ArchiveApi, archiveDirFor, type ArchiveConfig } from './archive/archive-api.js';
import { checkLocations } from './archive/copies/locations.js';
import { ArchiveSources } from './archive/copies/sources.js';
import { parseArchiveConfig } from './archive/config.js';
import { par2RecoveryWriter } from './archive/package/recovery.js';
import { readArchiveState } from './store/archive-state.js';
import { refuseInsideHook } from './archive/jobs/function-hook.js';
import type { SchedulerOptions } from './archive/jobs/scheduler.js';
import { openRestore, par2Repairer, RestoreApi } from './archive/restore-api.js';
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { SNAPSHOT_FILE } from './store/layout.js';
import { afterClose } from './archive/archive-host.js';
import type { WalShipping } from './archive/shipping/shipping.js';
import { BriError, ErrorCodes, typedIoError } from './errors.js';
import { BriStore, type StoreConfig } from './store/store.js';
import { assertStoreConfig, STORE_CONFIG_KEYS } from './store/store-config.js';

export interface DBStoreConfig extends StoreConfig {
  archive?: ArchiveConfig;
}

export interface CreateDBOptions {
  storeConfig: DBStoreConfig;
  /** The archive block beside storeConfig, as the design note's section on restore hooks writes it: the same as storeConfig.archive (not both). */
  archive?: ArchiveConfig;
  /** The triggers' clock and retry holdoff (tests drive cron and interval triggers with a fake clock). */
  scheduler?: SchedulerOptions;
}

export type BriDB = BriStore & { readonly archive: ArchiveApi; readonly restore: RestoreApi };

const CREATE_DB_KEYS = ['storeConfig', 'archive', 'scheduler'];

function optionsError(message: string, key: string): BriError {
  return new BriError(ErrorCodes.CONFIG_INVALID, message, {
    hint: "Call createDB({ storeConfig: { dataDir: './data', archive: { ... } } }).",
    details: { key },
  });
}

/**
 * The options, checked before anything is read: a plain JavaScript caller gets a typed error, not a
 * TypeError, and a key in the wrong place or misspelt is refused rather than ignored (an archive block
 * beside storeConfig, or storeConfig.archve, would leave the database without a single archive).
 */
function assertCreateOptions(options: CreateDBOptions): void {
  const o = options as unknown as { storeConfig?: { dataDir?: unknown }; dataDir?: unknown } | null | undefined;
  if (o === null || typeof o !== 'object' || o.storeConfig === null || typeof o.storeConfig !== 'object' || typeof o.storeConfig.dataDir !== 'string' || o.storeConfig.dataDir === '') {
    const flat = o !== null && typeof o === 'object' && 'dataDir' in o;
    throw optionsError(`createDB needs { storeConfig: { dataDir } }${flat ? ': dataDir was given at the top level' : ''}`, 'storeConfig.dataDir');
  }
  const unknown = Object.keys(o).filter((k) => !CREATE_DB_KEYS.includes(k));
  if (unknown.length > 0) {
    const misplaced = unknown.filter((k) => STORE_CONFIG_KEYS.includes(k));
    const where = misplaced.length > 0 ? `; ${misplaced.map((k) => `'${k}'`).join(', ')} goes inside storeConfig` : '';
    throw optionsError(`createDB: unknown option(s) ${unknown.map((k) => `'${k}'`).join(', ')} (it takes ${CREATE_DB_KEYS.join(' and ')}${where})`, unknown[0]!);
  }
  if ((o as { archive?: unknown }).archive !== undefined && (o.storeConfig as { archive?: unknown }).archive !== undefined) {
    throw optionsError('createDB: the archive block is given both beside storeConfig and inside it: keep one', 'archive');
  }
  assertStoreConfig(o.storeConfig, ['archive']);
  assertSchedulerOptions((o as { scheduler?: unknown }).scheduler);
}

/** BRI evicts documents to cold/ past maxMemoryMB; this store keeps every one in memory: said at open when the snapshot alone is larger. */
async function warnPastMemoryLimit(dataDir: string, limitMB: number | undefined): Promise<void> {
  if (limitMB === undefined) return;
  const size = await fsp.stat(path.join(dataDir, SNAPSHOT_FILE)).then((st) => st.size, () => 0);
  if (size <= limitMB * 1024 * 1024) return;
  const mib = (size / 1024 / 1024).toFixed(1);
  process.emitWarning(`storeConfig.maxMemoryMB is ${limitMB}, and the snapshot alone is ${mib} MiB: this store keeps every document in memory (it does not evict to cold/ as BRI does)`, { code: 'BRI_MAX_MEMORY' });
}

/** `scheduler` as a plain-JS caller may give it: a clock that is not one failed later as an untyped TypeError, with the directory locked. */
function assertSchedulerOptions(scheduler: unknown): void {
  if (scheduler === undefined) return;
  if (scheduler === null || typeof scheduler !== 'object') throw optionsError('createDB: scheduler must be an object ({ clock?, retryHoldoffMs? })', 'scheduler');
  const s = scheduler as Record<string, unknown>;
  const unknown = Object.keys(s).filter((k) => k !== 'clock' && k !== 'retryHoldoffMs');
  if (unknown.length > 0) throw optionsError(`createDB: unknown scheduler option(s) ${unknown.map((k) => `'${k}'`).join(', ')} (it takes clock and retryHoldoffMs)`, `scheduler.${unknown[0]}`);
  const clock = s.clock as Record<string, unknown> | undefined;
  if (clock !== undefined && (clock === null || typeof clock !== 'object' || ['now', 'setTimeout', 'clearTimeout'].some((f) => typeof clock[f] !== 'function'))) {
    throw optionsError('createDB: scheduler.clock must have now(), setTimeout(fn, ms) and clearTimeout(handle)', 'scheduler.clock');
  }
  const holdoff = s.retryHoldoffMs;
  if (holdoff !== undefined && (typeof holdoff !== 'number' || !Number.isFinite(holdoff) || holdoff < 0)) throw optionsError('createDB: scheduler.retryHoldoffMs must be a number of milliseconds >= 0', 'scheduler.retryHoldoffMs');
}

/**
 * The options as they are at the call: plain objects and arrays copied all the way down (hooks and other functions kept).
 * createDB reads them again after its first await (the archive block, the scheduler), and a caller that reuses one
 * object for the next database (a new localDir, a new dataDir) sent this database's archives to the other's directory;
 * the stopped database's db.restore read them at each call after close(). The scheduler's clock is kept as given:
 * it is the caller's live object (a test's fake clock is advanced on it).
 */
function optionsAtCall(options: CreateDBOptions): CreateDBOptions {
  const { scheduler, archive } = options;
  const storeConfig = plainCopy(options.storeConfig);
  return { storeConfig: archive !== undefined ? { ...storeConfig, archive: plainCopy(archive) } : storeConfig, ...(scheduler !== undefined ? { scheduler: { ...scheduler } } : {}) };
}

function plainCopy<T>(value: T, seen = new Map<object, unknown>()): T {
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
  const done = seen.get(value);
  if (done !== undefined) return done as T;
  const out: Record<string, unknown> = Array.isArray(value) ? ([] as unknown as Record<string, unknown>) : proto === null ? (Object.create(null) as Record<string, unknown>) : {};
  seen.set(value, out);
  for (const k of Object.keys(value)) out[k] = plainCopy((value as Record<string, unknown>)[k], seen);
  return out as T;
}

/**
 * A failed system call while opening (a segment, wal/ or the directory of another user, a read-only disk) as the
 * CLI says it: IO_ERROR naming the errno and the path, with what to do; never a raw Node error without a hint.
 */
function openFailure(err: unknown, dataDir: string): unknown {
  return typedIoError(err, `opening the data directory ${path.resolve(dataDir)}`);
}

/**
 * Opens the data directory (recovering it) and returns the database. A failed system call (a permission, a
 * full or read-only disk) is thrown as an IO_ERROR naming the path at fault.
 */
export async function createDB(given: CreateDBOptions): Promise<BriDB> {
  assertCreateOptions(given);
  // Everything below reads this copy: the caller's object may change once the first await yields (reused for the next database).
  const options = optionsAtCall(given);
  // A bad archive configuration, or settings that overlap (a remote in the data directory), fail before the data directory is touched.
  const config = parseArchiveConfig(options.storeConfig.archive);
  const sources = new ArchiveSources(config.remotes, config.restoreSources);
  try {
    checkLocations({ dataDir: path.resolve(options.storeConfig.dataDir), archiveDir: archiveDirFor(path.resolve(options.storeConfig.dataDir), config), remotes: sources.places() });
  } catch (err) {
    await sources.close();
    throw err;
  }
  let store: BriStore;
  try {
    // The archive block is this layer's (parsed above): the store takes only its own options.
    const { archive: _archive, ...storeConfig } = options.storeConfig;
    store = await BriStore.open(storeConfig);
  } catch (err) {
    await sources.close();
    throw openFailure(err, options.storeConfig.dataDir);
  }
  await warnPastMemoryLimit(options.storeConfig.dataDir, options.storeConfig.maxMemoryMB);
  try {
    return await withArchiveAndRestore(options, store, sources);
  } catch (err) {
    // Nothing of a database that failed to start may outlive the call: its lock held the directory in this process
    // (every later createDB said LOCKED, with no handle to close it), its remotes' clients kept sockets open.
    await store.close().catch(() => undefined);
    await sources.close().catch(() => undefined);
    throw openFailure(err, options.storeConfig.dataDir);
  }
}

/** The open store with db.archive and db.restore, triggers and shipping started; close() stops them all. */
async function withArchiveAndRestore(options: CreateDBOptions, store: BriStore, sources: ArchiveSources): Promise<BriDB> {
  const key = store.encryptionKey;
  // Shipping, once started, pauses while WAL cleanup renumbers lines and removes segments (see wal-gate.ts).
  let shippingStarted: Promise<WalShipping | null> | null = null;
  const removeSegments = async (...args: Parameters<BriStore['removeArchivedSegments']>) => {
    const shipping = await shippingStarted?.catch(() => null);
    const remove = () => store.removeArchivedSegments(...args);
    return shipping ? shipping.withWalPaused(remove) : remove();
  };
  const archive = new ArchiveApi(
    {
      dataDir: store.dataDir,
      ...(key ? { key } : {}),
      seal: (removedLines) => store.sealForArchive(removedLines),
      removeSegments,
      releaseSeal: () => store.releaseSeal(),
      // The open store holds the directory's lock; in-process exclusivity is the API's own queue. Once closed, the
      // lock is gone: a run queued behind the close is refused before it touches the archive directory.
      exclusive: (fn) => (store.isClosed ? Promise.reject(new BriError(ErrorCodes.STORE_CLOSED, 'the database is closed', { hint: 'Open it again with createDB().' })) : fn()),
    },
    options.storeConfig.archive,
    // In a running database PAR2's arithmetic goes to a worker thread, whatever the archive's size: writes go on meanwhile.
    (redundancy) => par2RecoveryWriter(redundancy, { threads: 1 }),
    sources,
  );
  const restore = new RestoreApi({
    dataDir: store.dataDir,
    archiveDir: archive.archiveDir,
    sources: archive.sources,
    ...(key ? { key } : {}),
    // Restoring over the open database's own directory is refused: close it first.
    openHere: (dir) => !store.isClosed && path.resolve(dir) === store.dataDir,
    repair: par2Repairer,
    // The configuration as the archive API parsed it (command hooks wrapped once).
    ...(archive.config.restoreHooks ? { hooks: archive.config.restoreHooks } : {}),
    ...(archive.config.encryption?.identityFile ? { identityFile: archive.config.encryption.identityFile } : {}),
    live: store,
  });
  archive.bindPast(restore);
  try {
    // Triggers start with the database: WAL growth is watched through the writer's append events.
    archive.startTriggers({ onAppend: (l) => store.onAppend(l), segment: () => store.info().segment }, options.scheduler ?? {});
    // Continuous shipping reads the WAL files; the absolute end is the store's line count plus the lines removed.
    shippingStarted = archive.startShipping(
      { onAppend: (l) => store.onAppend(l), segment: () => store.info().segment },
      async () => store.info().totalLines + ((await readArchiveState(store.dataDir))?.removedLines ?? 0),
      options.scheduler?.clock,
    );
    await shippingStarted;
  } catch (err) {
    await archive.stopTriggers().catch(() => undefined);
    await archive.stopShipping().catch(() => undefined);
    throw err;
  }
  // close() stops the triggers and waits for a running archive, ships what is left, then closes the store, then the remotes' clients.
  const closeStore = store.close.bind(store);
  const closeAll = async () => {
    if (store.isClosed) return;
    try {
      await archive.stopTriggers();
      await archive.idle();
      await archive.stopShipping();
    } finally {
      try {
        await closeStore();
      } finally {
        await archive.close();
      }
    }
  };
  // A second close() while one is under way (SIGTERM and SIGINT handlers, a shutdown hook and a finally) waits for it:
  // store.isClosed turns true only at its end, and starting again found the WAL writer closed (STORE_CLOSED).
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    try {
      // From an archive hook: refused before anything stops (the run in progress waits for that very hook).
      refuseInsideHook('db.close');
    } catch (err) {
      return Promise.reject(err);
    }
    // From the moment close() is called, as the README says: the jobs stopped first must not let a write in meanwhile.
    store.refuseWrites();
    closing ??= closeAll().finally(() => {
      closing = null;
    });
    return closing;
  };
  // Once closed, db.restore is the stopped database's (its own remotes' clients, rollback under the directory's lock), as openRestore gives it.
  const isClosed = () => store.isClosed;
  let stopped: RestoreApi | null = null;
  // What the database was opened with (createDB's copy of the configuration, its archive directory, its key or none):
  // never the caller's object, nor $BRI_ENCRYPTION_KEY, as they are at the call after close().
  const config = options.storeConfig.archive;
  const stoppedRestore = () => (stopped ??= openRestore({ dataDir: store.dataDir, archiveDir: archive.archiveDir, ...(config ? { config } : {}), ...(key ? { key } : { encryptionKey: '' }) }));
  return Object.assign(store, { archive: afterClose(archive, isClosed, 'db.archive'), restore: afterClose(restore, isClosed, 'db.restore', stoppedRestore), close }) as BriDB;
}
