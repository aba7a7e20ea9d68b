/**
 * `db.archive`: create, list, get, stats, delete, download, verify, inspect,
 * over a local archive directory (default `<dataDir>/archives`).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../errors.js';
import { ARCHIVE_EXTENSION, archiveFileName } from './ids.js';
import type { EncryptionKey } from '../format/encryption.js';
import type { Manifest } from '../format/manifest.js';
import { acquireLock } from '../store/lock.js';
import {
  catalogStats,
  deleteLocalArchive,
  downloadLocalArchive,
  getLocalArchive,
  listLocalArchives,
  scanArchiveDir,
  type CatalogStats,
  type LocalArchive,
  type Listing,
} from './catalog.js';
import { createArchive, type CreatedArchive, type RecoveryWriter, type Retention, type Sealer } from './create.js';
import { DEFAULT_ZSTD_LEVEL } from './compress.js';
import { offlineSealer } from './offline-seal.js';
import { readManifest } from './package-reader.js';
import type { ProgressListener } from './progress.js';
import { verifyArchive, type VerifyReport } from './verify.js';
import { DEFAULT_REDUNDANCY, par2RecoveryWriter, repairArchive, type RepairResult } from './recovery.js';

export const DEFAULT_ARCHIVE_SUBDIR = 'archives';

export interface ArchiveConfig {
  /** Where archives are kept (default `<dataDir>/archives`). */
  localDir?: string;
  compression?: { level?: number; workers?: number };
  errorCorrection?: { enabled?: boolean; redundancy?: number };
}

export interface CreateOptions {
  name?: string;
  retention?: Retention;
  level?: number;
  onProgress?: ProgressListener;
}

/** How the archive system reaches its data directory: through an open store, or offline under the lock. */
export interface ArchiveHost {
  dataDir: string;
  key?: EncryptionKey;
  seal: Sealer;
  /** Runs `fn` with the right to change the data directory. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** PAR2 support is plugged in by the layer that has it (see recovery-writer). */
export type RecoveryFactory = (redundancy: number) => RecoveryWriter;

export class ArchiveApi {
  readonly archiveDir: string;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: ArchiveHost,
    private readonly config: ArchiveConfig = {},
    private readonly recoveryFactory: RecoveryFactory = par2RecoveryWriter,
  ) {
    this.archiveDir = path.resolve(config.localDir ?? path.join(host.dataDir, DEFAULT_ARCHIVE_SUBDIR));
  }

  /** An archive id (validated) in the archive directory, or a path to a file. */
  fileFor(idOrFile: string): string {
    return idOrFile.includes('/') || idOrFile.endsWith(ARCHIVE_EXTENSION) ? path.resolve(idOrFile) : path.join(this.archiveDir, archiveFileName(idOrFile));
  }

  /** One create at a time in this process; others wait their turn. */
  create(opts: CreateOptions = {}): Promise<CreatedArchive> {
    const run = this.running.then(() =>
      this.host.exclusive(() => {
        const ec = this.config.errorCorrection;
        const redundancy = ec?.redundancy ?? DEFAULT_REDUNDANCY;
        const recovery = (ec?.enabled ?? true) && redundancy > 0 ? this.recoveryFactory(redundancy) : undefined;
        return createArchive({
          dataDir: this.host.dataDir,
          archiveDir: this.archiveDir,
          seal: this.host.seal,
          ...(this.host.key ? { key: this.host.key } : {}),
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          ...(opts.retention !== undefined ? { retention: opts.retention } : {}),
          level: opts.level ?? this.config.compression?.level ?? DEFAULT_ZSTD_LEVEL,
          workers: this.config.compression?.workers ?? 2,
          ...(recovery ? { recovery } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        });
      }),
    );
    this.running = run.catch(() => undefined);
    return run;
  }

  list(): Promise<LocalArchive[]> {
    return listLocalArchives(this.archiveDir);
  }

  /** The listing with the files whose manifest cannot be read. */
  scan(): Promise<Listing> {
    return scanArchiveDir(this.archiveDir);
  }

  get(id: string): Promise<LocalArchive> {
    return getLocalArchive(this.archiveDir, id);
  }

  async stats(): Promise<CatalogStats> {
    return catalogStats(await this.list());
  }

  delete(id: string): Promise<LocalArchive> {
    return deleteLocalArchive(this.archiveDir, id);
  }

  download(id: string, file: string): Promise<LocalArchive> {
    return downloadLocalArchive(this.archiveDir, id, file);
  }

  /** Verifies an archive by id (in the archive directory) or by file path. */
  async verify(idOrFile: string, opts: { onProgress?: ProgressListener } = {}): Promise<VerifyReport> {
    // A damaged manifest must not stop verification: resolve the file without reading it.
    const file = this.fileFor(idOrFile);
    await fsp.access(file).catch(() => {
      throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${idOrFile}`, { hint: '`bri archive list` shows the archives there are.', details: { archiveId: idOrFile } });
    });
    const neighbours = await this.list().catch(() => []);
    return verifyArchive(file, { ...(this.host.key ? { key: this.host.key } : {}), neighbours, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  }

  /**
   * Repairs a damaged archive with its PAR2 data: into `out` (default: beside it, `<id>.repaired.bri`),
   * or in place (through a temp file and a rename) with `inPlace`.
   */
  async repair(idOrFile: string, opts: { out?: string; inPlace?: boolean } = {}): Promise<RepairResult> {
    const file = this.fileFor(idOrFile);
    const out = opts.inPlace ? file : path.resolve(opts.out ?? file.replace(/\.bri$/, '') + '.repaired.bri');
    return repairArchive(file, out);
  }

  /** The manifest of an archive file, read without unpacking the rest. */
  inspect(file: string): Promise<Manifest> {
    return readManifest(path.resolve(file));
  }
}

/** The host for a data directory that no process has open: the lock is taken per operation. */
export function offlineHost(dataDir: string, key: EncryptionKey | undefined, purpose = 'bri archive'): ArchiveHost {
  return {
    dataDir,
    ...(key ? { key } : {}),
    seal: offlineSealer(dataDir, key),
    async exclusive(fn) {
      const lock = await acquireLock(dataDir, purpose);
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    },
  };
}
