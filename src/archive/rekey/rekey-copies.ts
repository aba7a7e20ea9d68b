/**
 * `bri archive rekey` / `db.archive.rekey`: every copy of this database's archives encrypted with age (or one
 * archive, or the copies on one source), its encrypted shipments and its sealed seeds get age headers for the
 * new recipients, unwrapped with an old identity; payloads are not re-encrypted. Other databases' archives
 * and shipments on the same sources (a clone's origin on a shared remote) are left alone, and counted.
 * A local copy is rewritten beside itself and renamed over; remote copies are replaced by an upload
 * of the new file (confirmed by size and sha256, as every upload); a remote-only archive is
 * downloaded (verified, repaired if need be) first. Old identities do not open what was rekeyed.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { asBriError, BriError, ErrorCodes, isBriError, typedIoError } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { processGone } from '../../store/lock/process-identity.js';
import { readManifest, readPackage } from '../package/reader.js';
import { commitFile } from '../../store/durable-fs.js';
import type { AgeIdentity, AgeRecipients } from '../crypto/age-keys.js';
import { rekeyHeader } from '../crypto/age-rekey.js';
import { rekeyPackage } from './rekey-package.js';
import type { RecoveryWriter } from '../package/recovery.js';
import { rekeySealedSeeds } from '../create/seeds.js';
import { rekeyShipments, type ShipmentsSeen } from '../shipping/rekey-shipments.js';
import { instancesOfThisDatabase } from './rekey-scope.js';
import { assertOwnArchives } from '../copies/archive-dir-owner.js';
import type { CatalogArchive } from '../copies/catalog.js';
import { downloadTo } from '../copies/copy-ops.js';
import { LOCAL_SOURCE, type ArchiveSources } from '../copies/sources.js';
import { replicateArchive } from '../copies/upload.js';

export interface RekeyOptions {
  /** The new recipients (or passphrase): they replace the old ones. */
  to: AgeRecipients;
  /** An identity that opens the archives now. */
  identity: AgeIdentity | null;
  /** One archive (default: all). */
  archiveId?: string;
  /** Only the copies (and shipments) on these sources. */
  only?: string[];
}

export interface RekeyResult {
  /** Archives rewritten, with the sources whose copies were replaced, and those already for the new recipients (an earlier rekey). */
  archives: Array<{ archiveId: string; sources: string[]; alreadyNew: string[] }>;
  /** Archives not encrypted with age: left as they are. */
  notEncrypted: string[];
  shipments: number;
  /** Shipments encrypted for the new recipients already (an earlier rekey, finished or stopped): left as they are. */
  shipmentsAlreadyNew: number;
  seeds: number;
  /** Other databases' archives and shipments on the same sources (another instance's, not this one's lineage): not touched. */
  leftAlone: { instances: string[]; archives: string[]; shipments: number };
  /** Copies, shipments and seeds that could not be rewrapped; `state` says what each one opens with now. */
  failures: RekeyFailure[];
}

export interface RekeyFailure {
  archiveId: string | null;
  source: string;
  error: string;
  code?: string;
  seed?: string;
  /** What to do about it, when the error says (a full disk: where to free space). */
  hint?: string;
  /** What is true of it after the failure: which copies (or shipments) open with the old identity, which with the new recipients. */
  state: string;
}

export interface RekeyContext {
  archiveDir: string;
  sources: ArchiveSources;
  archives: CatalogArchive[];
  recovery: RecoveryWriter | undefined;
  /**
   * The data directory the rekey is for: its instance and its lineage are rekeyed (with its seeds, before it
   * ever archived). Without it, the instances of the archive directory's own archives and seeds.
   */
  dataDir?: string;
}

const OLD_ONLY = 'it still opens with the old identity only';
/** An age header is a few hundred bytes per recipient: the first 64 KiB of a member hold it. */
const HEAD_BYTES = 64 * 1024;

export async function rekeyCopies(ctx: RekeyContext, opts: RekeyOptions): Promise<RekeyResult> {
  const out: RekeyResult = { archives: [], notEncrypted: [], shipments: 0, shipmentsAlreadyNew: 0, seeds: 0, leftAlone: { instances: [], archives: [], shipments: 0 }, failures: [] };
  // Another data directory's archive directory (given with -a): its archives are rewrapped by their own database, for its recipients.
  if (ctx.dataDir !== undefined) await assertOwnArchives(ctx.archiveDir, ctx.dataDir, 'rekey');
  const allowed = (source: string) => opts.only === undefined || opts.only.includes(source);
  const own = await instancesOfThisDatabase(ctx.archiveDir, ctx.dataDir, ctx.archives);
  const others = new Set<string>();
  // An archive named by id is rekeyed whoever's it is: it was asked for.
  const chosen = ctx.archives.filter((a) => {
    if (opts.archiveId !== undefined) return a.manifest.archiveId === opts.archiveId;
    if (own.has(a.manifest.instanceId)) return true;
    if (a.manifest.encryption) {
      others.add(a.manifest.instanceId);
      out.leftAlone.archives.push(a.manifest.archiveId);
    }
    return false;
  });
  if (opts.archiveId !== undefined && chosen.length === 0) {
    throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${opts.archiveId}`, { hint: '`bri archive list` shows the archives there are.' });
  }
  const tmpDir = path.join(ctx.archiveDir, '.tmp');
  await sweepDeadRekeys(tmpDir);
  const stageRoot = path.join(tmpDir, `rekey-${process.pid}-${Date.now()}`);
  try {
    for (const a of chosen) {
      const id = a.manifest.archiveId;
      if (!a.manifest.encryption) {
        out.notEncrypted.push(id);
        continue;
      }
      const copies = a.copies.filter((c) => allowed(c.source));
      if (copies.length === 0) continue;
      const done: string[] = [];
      const alreadyNew: string[] = [];
      const stage = path.join(stageRoot, id);
      try {
        await rekeyArchive(ctx, opts, a, copies, stage, out, { done, alreadyNew });
        out.archives.push({ archiveId: id, sources: done, alreadyNew });
      } catch (caught) {
        // One archive that cannot be rekeyed (a wrong identity for it, a damaged copy, a full disk) does not stop the
        // others, nor hide those rewrapped before it: a host fault too is said per archive, naming where it wrote.
        const err = typedIoError(caught, `rekey of ${id} (its new copy is written in ${stage})`, stage);
        if (!isBriError(err)) throw err;
        const left = copies.map((c) => c.source).filter((s) => !done.includes(s));
        out.failures.push({ archiveId: id, source: left.join(','), error: err.message, code: err.code, ...(err.hint ? { hint: err.hint } : {}), state: copiesState(done, left) });
      }
    }
    if (opts.archiveId === undefined) {
      for (const remote of ctx.sources.remotes.filter((r) => allowed(r.name))) {
        const seen: ShipmentsSeen = { otherInstances: others, othersLeft: 0, rewritten: 0, alreadyNew: 0 };
        try {
          out.shipments += await rekeyShipments(remote, path.join(stageRoot, 'shipments'), opts.identity, opts.to, { instances: own, seen });
        } catch (err) {
          out.shipments += seen.rewritten;
          const state = seen.rewritten > 0 ? `${seen.rewritten} shipments on ${remote.name} were rewrapped before it and open with the new recipients only; this one and the rest still open with the old identity only` : `the shipments on ${remote.name} still open with the old identity only`;
          out.failures.push({ archiveId: null, source: remote.name, ...failureOf(err, `rekey of the shipments on ${remote.name}`), state });
        }
        out.leftAlone.shipments += seen.othersLeft;
        out.shipmentsAlreadyNew += seen.alreadyNew;
      }
      // The data directory's own seeds too: a clone or a restore that has not archived yet has no archive to name its instance.
      if (allowed(LOCAL_SOURCE)) for (const id of own) await rekeySeeds(ctx, id, opts, out);
    }
    out.leftAlone.instances = [...others].filter((i) => !own.has(i));
  } finally {
    await fsp.rm(stageRoot, { recursive: true, force: true });
  }
  return out;
}

/**
 * Rekeys one archive's chosen copies into `seen`: the sources whose copy was replaced, and those already for the new
 * recipients. A local copy already for them (a rekey killed before its uploads, or run again) is not rekeyed again
 * (the old identity no longer opens it): it is the file the remotes get.
 */
async function rekeyArchive(ctx: RekeyContext, opts: RekeyOptions, a: CatalogArchive, copies: CatalogArchive['copies'], stage: string, out: RekeyResult, seen: { done: string[]; alreadyNew: string[] }): Promise<void> {
  const { done } = seen;
  const local = copies.find((c) => c.source === LOCAL_SOURCE);
  const localFile = local ? (local.file ?? local.location) : null;
  // The file to rewrite: the local copy, else a verified copy downloaded from the first remote that has a good one.
  const base = localFile
    ? { file: localFile, source: LOCAL_SOURCE }
    : await downloadTo(a, path.join(stage, 'downloaded.bri'), { sources: ctx.sources, archiveDir: ctx.archiveDir, order: ctx.sources.order.filter((s) => s !== LOCAL_SOURCE), workDir: stage });
  const baseManifest = await readManifest(base.file);
  let file: string;
  let manifest: Manifest;
  if (baseManifest && (await alreadyFor(base.file, baseManifest, opts.to))) {
    [file, manifest] = [base.file, baseManifest];
    seen.alreadyNew.push(base.source);
  } else {
    const rekeyed = await rekeyPackage(base.file, path.join(stage, 'new'), opts.identity, opts.to, ctx.recovery);
    [file, manifest] = [rekeyed.path, rekeyed.manifest];
    if (localFile) {
      await commitFile(rekeyed.path, localFile, { synced: true });
      file = localFile;
      done.push(LOCAL_SOURCE);
    }
  }
  const remotes = copies.filter((c) => c.source !== LOCAL_SOURCE).map((c) => c.source);
  for (const s of await replicateArchive({ file, manifest }, ctx.sources, ctx.archiveDir, {}, remotes)) {
    if (s.outcome === 'failed') out.failures.push({ archiveId: a.manifest.archiveId, source: s.source, error: s.error?.message ?? 'upload failed', ...(s.error ? { code: s.error.code } : {}), state: `the copy on ${s.source} still opens with the old identity only${file === localFile ? '; the local copy opens with the new recipients only' : ''}` });
    // The remote held these very bytes already: the new recipients' copy an earlier run put there.
    else if (s.outcome !== 'uploaded' && seen.alreadyNew.length > 0) { if (!seen.alreadyNew.includes(s.source)) seen.alreadyNew.push(s.source); }
    else done.push(s.source);
  }
  await fsp.rm(stage, { recursive: true, force: true });
}

/**
 * Rekeys an instance's sealed seeds into `out`: one that cannot be (sealed for recipients the identity
 * does not open) is a failure of its own, as an archive is. It was thrown after the archives were
 * rewrapped, and the rekey answered that error alone: nothing said which archives now need the new key.
 */
async function rekeySeeds(ctx: RekeyContext, instanceId: string, opts: RekeyOptions, out: RekeyResult): Promise<void> {
  const r = await rekeySealedSeeds(ctx.archiveDir, instanceId, opts.identity, opts.to);
  out.seeds += r.rekeyed;
  for (const f of r.failed) {
    const e = failureOf(f.error, `rekey of the seed ${f.seed}`);
    // A key that does not open it stopped it before anything was written; a failed write may have left its facts rewritten before its bytes.
    const untouched = e.code === ErrorCodes.DECRYPTION_FAILED || e.code === ErrorCodes.ENCRYPTION_KEY_MISSING;
    const state = untouched ? OLD_ONLY : 'it opens with the old identity only (its facts may already name the new recipients): run the rekey again to finish it';
    out.failures.push({ archiveId: null, source: LOCAL_SOURCE, seed: f.seed, ...e, state });
  }
}

/** What an archive's copies open with after its rekey stopped: those replaced, the new recipients; the others, the old identity. */
function copiesState(done: readonly string[], left: readonly string[]): string {
  if (done.length === 0) return left.length > 1 ? 'every copy of it still opens with the old identity only' : OLD_ONLY;
  return `the copies on ${done.join(', ')} open with the new recipients only; ${left.length ? `those on ${left.join(', ')} still with the old identity only` : 'no other copy was to be rekeyed'}`;
}

/** A failure as a rekey reports it: its message, and its code when it is typed (the exit code follows it). */
function failureOf(err: unknown, context: string): { error: string; code: string; hint?: string } {
  const e = asBriError(err, context);
  return { error: e.message, code: e.code, ...(e.hint ? { hint: e.hint } : {}) };
}

function sameAgeRecipients(m: Manifest, to: AgeRecipients): boolean {
  const e = m.encryption;
  return e !== undefined && [...e.recipients].sort().join('\n') === [...to.recipients].sort().join('\n') && e.passphrase === (to.passphrase !== undefined);
}

/**
 * Whether the archive at `file` is already encrypted for `to`. Every passphrase's manifest says the same
 * (passphrase: true, no recipients): one for the new passphrase is told by that passphrase opening it, else
 * rotating a passphrase kept every archive for the old one while its shipments moved to the new one.
 */
async function alreadyFor(file: string, m: Manifest, to: AgeRecipients): Promise<boolean> {
  if (!sameAgeRecipients(m, to)) return false;
  if (to.passphrase === undefined) return true;
  const newKey: AgeIdentity = { identities: [], passphrases: [to.passphrase], source: 'the new passphrase' };
  // A file that cannot be read or opened is not yet for `to`: rekeyPackage then says what is wrong with it.
  return snapshotHead(file).then((head) => rekeyHeader(head, newKey, to, m.contents.snapshot.file)).then(() => true, () => false);
}

/** The first bytes of an archive's snapshot member: its age header is in them. */
async function snapshotHead(file: string): Promise<Buffer> {
  const head: Buffer[] = [];
  let size = 0;
  await readPackage(file, {
    async member(info, data) {
      if (info.kind !== 'snapshot') return;
      for await (const c of data) {
        if (size >= HEAD_BYTES) continue;
        head.push(c);
        size += c.length;
      }
    },
  });
  return Buffer.concat(head);
}

/** Stage directories of rekeys whose process is gone (killed): each can hold a whole archive. */
async function sweepDeadRekeys(tmpDir: string): Promise<void> {
  for (const name of await fsp.readdir(tmpDir).catch(() => [] as string[])) {
    const pid = /^rekey-(\d+)-\d+$/.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && processGone(Number(pid))) await fsp.rm(path.join(tmpDir, name), { recursive: true, force: true });
  }
}
