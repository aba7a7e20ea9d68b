/**
 * `db.restore` and `bri restore`: list what can be restored, find the archive
 * for a time, and restore the latest state, an archive, a point in time, or a
 * clone.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { repairArchive } from './recovery.js';
import { recoverInterruptedRestore } from '../store/dir-swap.js';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { readArchiveState } from './archive-state.js';
import { scanArchiveDir, type LocalArchive, type UnreadableArchive } from './catalog.js';
import { readManifest } from './package-reader.js';
import * as fsp from 'node:fs/promises';
import { findForTimestamp, instanceArchives, parseTimestamp, planRestore, timeline, type RestorePlan, type RestoreTarget, type TimelineRange } from './restore-plan.js';
import { executeRestore, type ArchiveRepairer, type RestoreHooks, type RestoreResult } from './restore.js';
import type { ProgressListener } from './progress.js';
import { verifyArchive, type VerifyReport } from './verify.js';

export interface RestoreCallOptions {
  /** Where to restore (default: the data directory). */
  targetDir?: string;
  verify?: boolean;
  cleanExisting?: boolean;
  force?: boolean;
  dryRun?: boolean;
  hooks?: RestoreHooks;
  onProgress?: ProgressListener;
  /** Which instance's archives (default: the data directory's, else the newest archive's). */
  instanceId?: string;
}

export interface RestoreContext {
  dataDir: string;
  archiveDir: string;
  key?: EncryptionKey;
  /** True for a directory this process has open (the open database's own). */
  openHere?: (dir: string) => boolean;
  repair?: ArchiveRepairer;
}

export interface RestoreListing {
  archives: LocalArchive[];
  /** What can be restored: ranges of archives that chain with no gap. */
  ranges: TimelineRange[];
}

/** An archive directory inside the target moves on with it (the restored directory keeps its archives). */
function carryOverFor(archiveDir: string, target: string): string[] {
  const rel = path.relative(target, archiveDir);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? [rel] : [];
}

export class RestoreApi {
  constructor(private readonly ctx: RestoreContext) {}

  /**
   * The archives, including damaged ones whose manifest can be read after a PAR2 repair
   * (the restore repairs them again before use). Unreadable ones make `latest` fail loudly.
   */
  private async archives(): Promise<LocalArchive[]> {
    const listing = await scanArchiveDir(this.ctx.archiveDir);
    const out = [...listing.archives];
    for (const bad of listing.unreadable) {
      const fixed = this.ctx.repair ? await this.ctx.repair(bad.file) : null;
      if (!fixed) {
        this.unreadable.push(bad);
        continue;
      }
      try {
        out.push({ file: bad.file, bytes: (await fsp.stat(bad.file)).size, manifest: await readManifest(fixed.file) });
      } finally {
        await fsp.rm(fixed.file, { force: true });
      }
    }
    if (out.length === 0 && this.unreadable.length > 0) {
      const first = this.unreadable[0]!;
      throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `no readable archive in ${this.ctx.archiveDir}: ${first.file}: ${first.error.message}`, {
        hint: 'The archives there are damaged beyond repair; restore from another copy (another source).',
        details: { unreadable: this.unreadable.map((u) => u.file) },
      });
    }
    return out.sort((a, b) => a.manifest.timeRange.walLines.start - b.manifest.timeRange.walLines.start || a.manifest.createdAt.getTime() - b.manifest.createdAt.getTime());
  }

  private unreadable: UnreadableArchive[] = [];

  private async defaultInstance(all: LocalArchive[], explicit?: string): Promise<string | undefined> {
    if (explicit) return explicit;
    const state = await readArchiveState(this.ctx.dataDir).catch(() => null);
    if (!state) return undefined;
    return all.some((a) => a.manifest.instanceId === state.instanceId) ? state.instanceId : undefined;
  }

  /** Archives (optionally by time: overlapping [after, before]) and the restorable ranges. */
  async list(opts: { source?: string; after?: number | string; before?: number | string } = {}): Promise<RestoreListing> {
    if (opts.source !== undefined && opts.source !== 'local') {
      throw new BriError(ErrorCodes.REMOTE_NOT_FOUND, `no remote source "${opts.source}" is configured`, { hint: "Configure remotes in the archive config; 'local' is always there." });
    }
    const after = opts.after === undefined ? -Infinity : parseTimestamp(opts.after);
    const before = opts.before === undefined ? Infinity : parseTimestamp(opts.before);
    const archives = (await this.archives()).filter((a) => a.manifest.timeRange.sealedAt.getTime() >= after && a.manifest.timeRange.start.getTime() <= before);
    return { archives, ranges: timeline(archives) };
  }

  async findForTimestamp(ts: number | string, instanceId?: string): Promise<LocalArchive> {
    const all = await this.archives();
    const { archives } = instanceArchives(all, await this.defaultInstance(all, instanceId));
    return findForTimestamp(archives, parseTimestamp(ts));
  }

  async plan(target: RestoreTarget, instanceId?: string): Promise<RestorePlan> {
    const all = await this.archives();
    return planRestore(all, target, await this.defaultInstance(all, instanceId));
  }

  private async run(target: RestoreTarget, opts: RestoreCallOptions, newInstanceId?: string): Promise<RestoreResult> {
    // Before planning: an interrupted in-place restore may have the archives in the directory moved aside.
    if (!opts.dryRun) await recoverInterruptedRestore(path.resolve(opts.targetDir ?? this.ctx.dataDir));
    const plan = await this.plan(target, opts.instanceId);
    return executeRestore(plan, {
      targetDir: path.resolve(opts.targetDir ?? this.ctx.dataDir),
      ...(this.ctx.key ? { key: this.ctx.key } : {}),
      ...(opts.verify !== undefined ? { verify: opts.verify } : {}),
      ...(opts.cleanExisting !== undefined ? { cleanExisting: opts.cleanExisting } : {}),
      ...(opts.force !== undefined ? { force: opts.force } : {}),
      ...(opts.dryRun !== undefined ? { dryRun: opts.dryRun } : {}),
      ...(opts.hooks ? { hooks: opts.hooks } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(newInstanceId ? { newInstanceId } : {}),
      ...(this.ctx.repair ? { repair: this.ctx.repair } : {}),
      ...(this.ctx.openHere ? { openHere: this.ctx.openHere } : {}),
      carryOver: carryOverFor(this.ctx.archiveDir, path.resolve(opts.targetDir ?? this.ctx.dataDir)),
    });
  }

  /** The end of the newest archive. */
  fromLatest(opts: RestoreCallOptions = {}): Promise<RestoreResult> {
    return this.run({ kind: 'latest' }, opts);
  }

  /** The end of a given archive. */
  from(archiveId: string, opts: RestoreCallOptions = {}): Promise<RestoreResult> {
    return this.run({ kind: 'archive', archiveId }, opts);
  }

  /** The state at T: every WAL line with timestamp <= T. */
  toTimestamp(ts: number | string, opts: RestoreCallOptions = {}): Promise<RestoreResult> {
    return this.run({ kind: 'timestamp', timestamp: parseTimestamp(ts) }, opts);
  }

  /** A restore into another directory with a new instance id; the source is untouched. */
  async clone(opts: { archiveId?: string; timestamp?: number | string; targetDir: string; newInstanceId?: string } & Omit<RestoreCallOptions, 'targetDir'>): Promise<RestoreResult> {
    if (path.resolve(opts.targetDir) === path.resolve(this.ctx.dataDir)) {
      throw new BriError(ErrorCodes.USAGE, 'a clone needs a target other than the data directory', { hint: 'Pass targetDir (--target) for the copy.' });
    }
    const target: RestoreTarget = opts.archiveId ? { kind: 'archive', archiveId: opts.archiveId } : opts.timestamp !== undefined ? { kind: 'timestamp', timestamp: parseTimestamp(opts.timestamp) } : { kind: 'latest' };
    return await this.run(target, opts, opts.newInstanceId ?? randomUUID());
  }

  async verify(archiveId: string): Promise<VerifyReport> {
    const all = await this.archives();
    const a = all.find((x) => x.manifest.archiveId === archiveId);
    if (!a) throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${archiveId}`, { hint: '`bri restore list` shows the archives there are.' });
    return verifyArchive(a.file, { ...(this.ctx.key ? { key: this.ctx.key } : {}), neighbours: all });
  }
}

/** Repairs into a temp file with the archive's PAR2 data; the restore removes it afterwards. */
export const par2Repairer: ArchiveRepairer = async (file) => {
  const out = path.join(os.tmpdir(), `bri-repaired-${process.pid}-${Date.now()}-${path.basename(file)}`);
  try {
    const r = await repairArchive(file, out);
    return r.repaired ? { file: out, damagedBlocks: r.damagedBlocks, repairedBlocks: r.repairedBlocks } : null;
  } catch {
    return null;
  }
};

/** Restore for a data directory that is not open in this process (the CLI, or after db.close()). */
export function openRestore(opts: { dataDir: string; archiveDir?: string; key?: EncryptionKey; repair?: ArchiveRepairer }): RestoreApi {
  const dataDir = path.resolve(opts.dataDir);
  return new RestoreApi({
    dataDir,
    archiveDir: path.resolve(opts.archiveDir ?? path.join(dataDir, 'archives')),
    ...(opts.key ? { key: opts.key } : {}),
    repair: opts.repair ?? par2Repairer,
  });
}
