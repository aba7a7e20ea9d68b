/**
 * Key rotation of the shipped WAL on one remote: each encrypted shipment is read, checked with the
 * old identity (its header gives the object's metadata back), and put again under the same key with
 * a new age header; its payload bytes are the same.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { recipientsMark, type AgeIdentity, type AgeRecipients } from '../crypto/age-keys.js';
import { ErrorCodes, isBriError } from '../../errors.js';
import { rekeyHeader } from '../crypto/age-rekey.js';
import type { RemoteSource } from '../copies/sources.js';
import { listShipments } from './shipped-catalog.js';
import { decodeShipment, RECIPIENTS_MARK, shipmentMetadata } from './shipment.js';
import { freshFile } from '../../store/durable-fs.js';

/** What a rekey saw of the shipments on one remote: other databases' left alone, and how many it rewrote (so far, on a failure). */
export interface ShipmentsSeen {
  otherInstances: Set<string>;
  othersLeft: number;
  rewritten: number;
  /** Encrypted for the new recipients already (an earlier rekey that finished or was stopped): left as they are. */
  alreadyNew: number;
}

/**
 * Rekeys every encrypted shipment of the `instances` on `remote` (every instance's when not given: another
 * database's shipments on a shared remote are counted in `seen`, never rewritten); answers how many were
 * rewritten, and counts them in `seen` as they are put, so that a failure half way says how many already
 * open with the new recipients only.
 */
export async function rekeyShipments(remote: RemoteSource, tmpDir: string, identity: AgeIdentity | null, to: AgeRecipients, scope?: { instances: ReadonlySet<string>; seen: ShipmentsSeen }): Promise<number> {
  let n = 0;
  const mark = recipientsMark(to);
  await fsp.mkdir(tmpDir, { recursive: true });
  for (const [instanceId, refs] of await listShipments(remote)) {
    if (scope && !scope.instances.has(instanceId)) {
      scope.seen.otherInstances.add(instanceId);
      scope.seen.othersLeft += refs.length;
      continue;
    }
    for (const ref of refs) {
      if (!ref.encrypted) continue;
      const parts: Buffer[] = [];
      for await (const c of await remote.store.get(ref.key)) parts.push(c as Buffer);
      const body = Buffer.concat(parts);
      // Checked whole with the old identity first: a damaged shipment is not made to look new.
      const decoded = await decodeShipment(body, ref, undefined, identity).catch(async (err: unknown) => {
        // One the old identity does not open may be one an earlier run already rewrapped: its metadata's mark says so.
        if (isBriError(err, ErrorCodes.DECRYPTION_FAILED) && mark !== undefined && (await markOf(remote, ref.key)) === mark) return null;
        throw err;
      });
      if (decoded === null) {
        if (scope) scope.seen.alreadyNew++;
        continue;
      }
      const { header, oldHeaderLength } = await rekeyHeader(body.subarray(0, Math.min(body.length, 64 * 1024)), identity, to, ref.key);
      const next = Buffer.concat([header, body.subarray(oldHeaderLength)]);
      const file = path.join(tmpDir, `shipment-${n}`);
      const fh = await freshFile(file, 0o600);
      await fh.writeFile(next).finally(() => fh.close());
      try {
        await remote.store.put(ref.key, { path: file }, { size: next.length, sha256: createHash('sha256').update(next).digest('hex'), metadata: shipmentMetadata(decoded.header, mark), contentType: 'application/octet-stream' });
      } finally {
        await fsp.rm(file, { force: true });
      }
      n++;
      if (scope) scope.seen.rewritten++;
    }
  }
  return n;
}

/** The recipients mark in a shipment's metadata (undefined: none, or the object cannot be read). */
async function markOf(remote: RemoteSource, key: string): Promise<string | undefined> {
  try {
    return (await remote.store.head(key)).metadata[RECIPIENTS_MARK];
  } catch {
    return undefined;
  }
}
