/**
 * One compressed body per shipment, whichever remotes ship it. The shippers
 * of all remotes tick together and, when they are caught up, ship the same
 * range with the same header: the first one to ask compresses it (on the
 * zstd worker), the others take the same file, which goes once the last one
 * is done with it. A shipper that asks later (it was lagging) compresses
 * again: the body is a function of the header and the lines, so it is the
 * same either way.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { encodeShipmentToFile, type ShipmentHeader } from './shipment.js';
import { recipientsMark, type AgeRecipients } from '../crypto/age-keys.js';

export interface EncodedShipment {
  file: string;
  /** Encrypted with age (the object's name then ends in .age). */
  encrypted: boolean;
  /** The mark of the recipients it is encrypted for (kept in the object's metadata), when it is. */
  recipientsMark?: string;
  size: number;
  sha256: string;
  /** Done with the file (it is removed after the last user). */
  release(): Promise<void>;
}

export type ShipmentEncoder = (header: ShipmentHeader, texts: readonly string[]) => Promise<EncodedShipment>;

export function sharedShipmentEncoder(tmpDir: string, encryptTo?: AgeRecipients): ShipmentEncoder {
  const mark = encryptTo ? recipientsMark(encryptTo) : undefined;
  const open = new Map<string, { file: string; body: Promise<{ file: string; size: number; sha256: string }>; users: number }>();
  return async (header, texts) => {
    const key = JSON.stringify(header);
    let entry = open.get(key);
    if (!entry) {
      const file = path.join(tmpDir, `${header.firstLine}-${header.lastLine}-${randomBytes(4).toString('hex')}.wal.zst`);
      const body = fsp.mkdir(tmpDir, { recursive: true }).then(async () => ({ file, ...(await encodeShipmentToFile(header, texts, file, encryptTo)) }));
      entry = { file, body, users: 0 };
      open.set(key, entry);
    }
    const e = entry;
    e.users++;
    const release = async (): Promise<void> => {
      if (--e.users > 0) return;
      if (open.get(key) === e) open.delete(key);
      // Also what a failed compression left half written.
      await e.body.catch(() => undefined);
      await fsp.rm(e.file, { force: true }).catch(() => undefined);
    };
    try {
      return { ...(await e.body), encrypted: encryptTo !== undefined, ...(mark !== undefined ? { recipientsMark: mark } : {}), release };
    } catch (err) {
      await release();
      throw err;
    }
  };
}
