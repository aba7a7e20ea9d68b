/**
 * `bri archive rekey` / `db.archive.rekey`: every copy of every archive encrypted with age (or one
 * archive, or the copies on one source), every encrypted shipment and every sealed seed gets age
 * headers for the new recipients, unwrapped with an old identity; payloads are not re-encrypted.
 * A local copy is rewritten beside itself and renamed over; remote copies are replaced by an upload
 * of the new file (confirmed by size and sha256, as every upload); a remote-only archive is
 * downloaded (verified, repaired if need be) first. Old identities do not open what was rekeyed.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { asBriError, BriError, ErrorCodes } from '../../errors.js';
import { commitFile } from '../../store/durable-fs.js';
import type { AgeIdentity, AgeRecipients } from '../crypto/age-keys.js';
import { rekeyPackage } from './rekey-package.js';
import type { RecoveryWriter } from '../package/recovery.js';
import { rekeySealedSeeds } from '../create/seeds.js';
import { rekeyShipments } from '../shipping/rekey-shipments.js';
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
  /** Archives rewritten, with the sources whose copies were replaced. */
  archives: Array<{ archiveId: string; sources: string[] }>;
  /** Archives not encrypted with age: left as they are. */
  notEncrypted: string[];
  shipments: number;
  seeds: number;
  /** Copies that could not be replaced (the old copy stays, still readable with the old identity). */
  failures: Array<{ archiveId: string | null; source: string; error: string }>;
}

export interface RekeyContext {
  archiveDir: string;
  sources: ArchiveSources;
  archives: CatalogArchive[];
  recovery: RecoveryWriter | undefined;
  instanceIds: string[];
}

export async function rekeyCopies(ctx: RekeyContext, opts: RekeyOptions): Promise<RekeyResult> {
  const out: RekeyResult = { archives: [], notEncrypted: [], shipments: 0, seeds: 0, failures: [] };
  const allowed = (source: string) => opts.only === undefined || opts.only.includes(source);
  const chosen = ctx.archives.filter((a) => opts.archiveId === undefined || a.manifest.archiveId === opts.archiveId);
  if (opts.archiveId !== undefined && chosen.length === 0) {
    throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${opts.archiveId}`, { hint: '`bri archive list` shows the archives there are.' });
  }
  const stageRoot = path.join(ctx.archiveDir, '.tmp', `rekey-${process.pid}-${Date.now()}`);
  try {
    for (const a of chosen) {
      const id = a.manifest.archiveId;
      if (!a.manifest.encryption) {
        out.notEncrypted.push(id);
        continue;
      }
      const copies = a.copies.filter((c) => allowed(c.source));
      if (copies.length === 0) continue;
      const stage = path.join(stageRoot, id);
      const local = copies.find((c) => c.source === LOCAL_SOURCE);
      // The file to rewrite: the local copy, else a verified copy downloaded from the first remote that has a good one.
      const from = local ? (local.file ?? local.location) : (await downloadTo(a, path.join(stage, 'downloaded.bri'), { sources: ctx.sources, archiveDir: ctx.archiveDir, order: ctx.sources.order.filter((s) => s !== LOCAL_SOURCE), workDir: stage })).file;
      const rekeyed = await rekeyPackage(from, path.join(stage, 'new'), opts.identity, opts.to, ctx.recovery);
      let file = rekeyed.path;
      const done: string[] = [];
      if (local) {
        file = local.file ?? local.location;
        await commitFile(rekeyed.path, file, { synced: true });
        done.push(LOCAL_SOURCE);
      }
      const remotes = copies.filter((c) => c.source !== LOCAL_SOURCE).map((c) => c.source);
      for (const s of await replicateArchive({ file, manifest: rekeyed.manifest }, ctx.sources, ctx.archiveDir, {}, remotes)) {
        if (s.outcome === 'failed') out.failures.push({ archiveId: id, source: s.source, error: s.error?.message ?? 'upload failed' });
        else done.push(s.source);
      }
      out.archives.push({ archiveId: id, sources: done });
      await fsp.rm(stage, { recursive: true, force: true });
    }
    if (opts.archiveId === undefined) {
      for (const remote of ctx.sources.remotes.filter((r) => allowed(r.name))) {
        try {
          out.shipments += await rekeyShipments(remote, path.join(stageRoot, 'shipments'), opts.identity, opts.to);
        } catch (err) {
          out.failures.push({ archiveId: null, source: remote.name, error: asBriError(err, `rekey of the shipments on ${remote.name}`).message });
        }
      }
      if (allowed(LOCAL_SOURCE)) for (const id of ctx.instanceIds) out.seeds += await rekeySealedSeeds(ctx.archiveDir, id, opts.identity, opts.to);
    }
  } finally {
    await fsp.rm(stageRoot, { recursive: true, force: true });
  }
  return out;
}
