/**
 * What a remote holds of shipped WAL: the shipments of each instance, the
 * chain of them that continues an archive (from the line after its end, with
 * no line missing), where that chain breaks, and how far in time it reaches.
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import { parseWalLine } from '../../format/wal-line.js';
import type { EncryptionKey } from '../../format/encryption.js';
import type { RemoteSource } from '../copies/sources.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import { decodeShipment, parseShipmentKey, SHIPPED_PREFIX, type DecodedShipment, type ShipmentRef } from './shipment.js';
import { freshFile } from '../../store/durable-fs.js';

/** Shipments on a remote, by instance, in line order. */
export async function listShipments(remote: RemoteSource): Promise<Map<string, ShipmentRef[]>> {
  const out = new Map<string, ShipmentRef[]>();
  for await (const o of remote.store.list(SHIPPED_PREFIX)) {
    const ref = parseShipmentKey(o.key, o.size);
    if (!ref) continue;
    // Pushed, not copied: a day of shipments between two archives is tens of thousands of objects.
    const refs = out.get(ref.instanceId);
    if (refs) refs.push(ref);
    else out.set(ref.instanceId, [ref]);
  }
  for (const refs of out.values()) refs.sort((a, b) => a.firstLine - b.firstLine || b.lastLine - a.lastLine);
  return out;
}

export interface ShippedChain {
  refs: ShipmentRef[];
  /** Absolute line the chain reaches (the archive's end when it is empty). */
  throughLine: number;
  /** The first line missing after the chain, when later shipments exist past a gap. */
  gapAt: number | null;
}

/** The shipments that continue line `afterLine` with no line missing (overlaps are cut by reading past them). */
export function chainAfter(refs: readonly ShipmentRef[], afterLine: number): ShippedChain {
  const chain: ShipmentRef[] = [];
  let through = afterLine;
  for (const r of refs) {
    if (r.lastLine <= through) continue;
    if (r.firstLine > through + 1) return { refs: chain, throughLine: through, gapAt: through + 1 };
    chain.push(r);
    through = r.lastLine;
  }
  return { refs: chain, throughLine: through, gapAt: null };
}

async function metadataTime(remote: RemoteSource, ref: ShipmentRef | undefined, field: 'first_timestamp' | 'last_timestamp'): Promise<number | null> {
  if (!ref) return null;
  try {
    const t = Number((await remote.store.head(ref.key)).metadata[field]);
    return Number.isFinite(t) ? t : null;
  } catch (err) {
    if (isBriError(err)) return null;
    throw err;
  }
}

/** The last shipped instant of a chain (from the last object's metadata; null when it cannot be read). */
export function chainEndTime(remote: RemoteSource, chain: ShippedChain): Promise<number | null> {
  return metadataTime(remote, chain.refs[chain.refs.length - 1], 'last_timestamp');
}

/** The first shipped instant of a chain (from the first object's metadata; null when it cannot be read). */
export function chainStartTime(remote: RemoteSource, chain: ShippedChain): Promise<number | null> {
  return metadataTime(remote, chain.refs[0], 'first_timestamp');
}

/** Downloads and checks one shipment (bounded: a shipment is small, and decoding stops at its limit). */
export async function fetchShipment(remote: RemoteSource, ref: ShipmentRef, key?: EncryptionKey, age?: AgeIdentity | null): Promise<DecodedShipment> {
  return decodeShipment(await remote.store.get(ref.key), ref, key, age);
}

function isKeyError(err: BriError): boolean {
  return err.code === ErrorCodes.DECRYPTION_FAILED || err.code === ErrorCodes.ENCRYPTION_KEY_MISSING;
}

/**
 * Writes the shipped lines `afterLine+1 .. throughLine` to `file` (a new archive needs them once WAL
 * cleanup removed them): from the first source in `remotes` whose shipments hold every one of them,
 * each shipment checked and chained from `pointer`. Throws ARCHIVE_ERROR when no source has them all, or the
 * key's error (DECRYPTION_FAILED, ENCRYPTION_KEY_MISSING) when one holds them but `age` cannot open them.
 */
export async function fetchShippedLines(remotes: readonly RemoteSource[], instanceId: string, afterLine: number, throughLine: number, pointer: string, file: string, key?: EncryptionKey, age?: AgeIdentity | null): Promise<void> {
  const problems: string[] = [];
  let incomplete = false;
  let keyError: BriError | null = null;
  for (const remote of remotes) {
    try {
      const chain = chainAfter((await listShipments(remote)).get(instanceId) ?? [], afterLine);
      if (chain.throughLine < throughLine) {
        problems.push(`${remote.name}: shipped only through line ${chain.throughLine}`);
        continue;
      }
      const fh = await freshFile(file, 0o600);
      try {
        let last = afterLine;
        let prev = pointer;
        for (const ref of chain.refs) {
          if (last >= throughLine) break;
          const s = await fetchShipment(remote, ref, key, age);
          const out: string[] = [];
          for (const [i, text] of s.lines.entries()) {
            const abs = ref.firstLine + i;
            if (abs <= last) continue;
            if (abs > throughLine) break;
            if (abs === ref.firstLine && s.header.prevPointer !== prev) throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${ref.key} does not continue pointer ${prev}`);
            out.push(text + '\n');
            last = abs;
            prev = s.header.lastPointer;
          }
          // The pointer at `last`: the header's last one only when the whole shipment was taken.
          if (out.length > 0 && last !== ref.lastLine) prev = parseWalLine(out[out.length - 1]!.trimEnd())!.pointer;
          await fh.write(out.join(''));
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      return;
    } catch (err) {
      if (!isBriError(err)) throw err;
      incomplete = true;
      if (isKeyError(err)) keyError ??= err;
      problems.push(`${remote.name}: ${err.message}`);
    }
  }
  const removed = `lines ${afterLine + 1}..${throughLine} were removed from the WAL once shipped`;
  // A remote that holds them but whose shipments this identity cannot open is a key to give, not lines to wait for.
  if (keyError) throw new BriError(keyError.code, `${removed}, and this identity cannot open them: ${problems.join('; ')}`, { hint: keyError.hint, details: { ...keyError.details, incomplete }, cause: keyError });
  const lost = `${removed}, and no remote gives them back: ${problems.join('; ') || 'no remote'}`;
  // `incomplete`: some remote could not be read to the end and may still hold them; false: every remote answered that it does not.
  throw new BriError(ErrorCodes.ARCHIVE_ERROR, lost, {
    hint: incomplete ? 'The next archive waits for a remote that holds them; nothing was archived, nothing is lost while one does.' : 'No remote holds them any more.',
    details: { incomplete },
  });
}
