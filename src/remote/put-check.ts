/** Checks shared by every provider's `put`: the source before sending, the bytes sent, the remote's answer. */
import * as fsp from 'node:fs/promises';
import { asBriError, type BriError } from '../errors.js';
import type { Digests } from './hash-tap.js';
import { validateKey, validateMetadata, validatePutOptions, type StoreNames } from './keys.js';
import { remoteFailure, type RemoteErrorContext } from './remote-errors.js';
import type { PutOptions, PutSource } from './remote.js';

/** Validates key (within the provider's limits below `store`'s prefix) and options and checks that the source file exists with the declared size. Returns the user metadata. */
export async function preparePut(ctx: RemoteErrorContext, key: string, source: PutSource, opts: PutOptions, store?: StoreNames): Promise<Record<string, string>> {
  validateKey(key, store);
  validatePutOptions(opts);
  const metadata = validateMetadata(opts.metadata);
  let size: number;
  try {
    const st = await fsp.stat(source.path);
    if (!st.isFile()) throw new Error(`${source.path} is not a regular file`);
    size = st.size;
  } catch (err) {
    throw asBriError(err, `${ctx.provider}: put ${key}: cannot read the source`);
  }
  if (size !== opts.size) {
    throw remoteFailure(ctx, `the source ${source.path} is ${size} bytes but its declared size is ${opts.size}; nothing was uploaded`, {
      details: { expectedSize: opts.size, actualSize: size },
      hint: 'the file changed after its size and checksum were taken: compute them again',
    });
  }
  return metadata;
}

/** An integrity failure: what was expected, what was found. */
export function integrityError(ctx: RemoteErrorContext, what: string, expected: string | number, actual: string | number, hint?: string): BriError {
  return remoteFailure(ctx, `${what} mismatch: expected ${expected}, got ${actual}; the object was not kept`, {
    details: { integrity: true, check: what, expected, actual },
    hint: hint ?? 'the upload was corrupted or the source changed while it was read: compute size and checksum again, then retry',
  });
}

/** Checks the bytes that went out against the caller's size, SHA-256 and optional MD5. */
export function checkSent(ctx: RemoteErrorContext, d: Digests, opts: PutOptions): void {
  if (d.size !== opts.size) throw integrityError(ctx, 'size of the bytes sent', opts.size, d.size);
  const sha = d.sha256.toString('hex');
  if (sha !== opts.sha256) throw integrityError(ctx, 'sha256 of the bytes sent', opts.sha256, sha);
  const md5 = d.md5.toString('hex');
  if (opts.md5 !== undefined && md5 !== opts.md5) throw integrityError(ctx, 'md5 of the bytes sent', opts.md5, md5);
}

/** base64 -> lowercase hex ('' stays ''). */
export function b64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

/** lowercase hex -> base64. */
export function hexToB64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
