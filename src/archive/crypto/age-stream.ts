/**
 * Streaming age encryption and decryption of archive members, in bounded memory: the library's
 * ReadableStream pipeline (64 KiB STREAM chunks), fed by a pull stream that reads the input only as
 * fast as the output is consumed. Errors become BriErrors naming the member; an error thrown by the
 * caller's own input goes through unchanged (it is the input's error, not the archive's).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { Encrypter } from 'age-encryption';
import { BriError, ErrorCodes, typedIoError } from '../../errors.js';
import { freshFile } from '../../store/durable-fs.js';
import { assertRecipients, corrupted, headerError, identityMissingError, tracedDecrypter, type AgeIdentity, type AgeRecipients, type HeaderTrace } from './age-keys.js';
import { ageHeaderLength, isAgeFile } from './age-rekey.js';

export { isAgeFile };

/** The payload starts with a 16-byte nonce; its chunks follow. */
const NONCE_SIZE = 16;
/** First bytes of the input kept while the header is read (to tell a truncated file from a bad MAC). */
const HEAD_KEEP = 64 * 1024;
/** encryptFile reads its input, and writes its output, in pieces of these sizes. */
const READ_PIECE = 256 * 1024;
const WRITE_BATCH = 1024 * 1024;

/** A pull-based ReadableStream over the caller's input that knows its own errors, its size and its first bytes. */
class Input {
  private failed = false;
  private error: unknown;
  private head: Uint8Array[] = [];
  private headSize = 0;
  total = 0;
  ended = false;

  constructor(private readonly source: AsyncIterable<Uint8Array>) {}

  /** Whether `err` is the input's own error (rethrown unchanged). */
  owns(err: unknown): boolean {
    return this.failed && err === this.error;
  }

  firstBytes(): Uint8Array {
    return Buffer.concat(this.head);
  }

  dropHead(): void {
    this.head = [];
  }

  stream(): ReadableStream<Uint8Array> {
    const it = this.source[Symbol.asyncIterator]();
    // Asks for the first piece now: a Node Readable's iterator attaches its 'error' listener only
    // when first asked, and an error emitted before that (e.g. ENOENT while the recipients are
    // being wrapped) would be an uncaught exception instead of this stream's error.
    let first: Promise<IteratorResult<Uint8Array>> | null = it.next();
    first.catch(() => undefined);
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let r: IteratorResult<Uint8Array>;
          try {
            r = await (first ?? it.next());
            first = null;
          } catch (err) {
            this.failed = true;
            this.error = err;
            throw err;
          }
          if (r.done) {
            this.ended = true;
            controller.close();
            return;
          }
          this.total += r.value.length;
          if (this.headSize < HEAD_KEEP) {
            this.head.push(r.value);
            this.headSize += r.value.length;
          }
          controller.enqueue(r.value);
        },
        cancel: async () => {
          await it.return?.();
        },
      },
      // Pull only when the pipeline asks: the input is read no faster than the output is taken.
      { highWaterMark: 0 },
    );
  }
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Yields a ReadableStream's chunks as Buffers; stopping early cancels the stream (and so the input). */
async function* drain(out: ReadableStream<Uint8Array>, mapError: (err: unknown) => unknown): AsyncGenerator<Buffer> {
  const reader = out.getReader();
  let finished = false;
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (err) {
        finished = true;
        throw mapError(err);
      }
      if (r.done) {
        finished = true;
        return;
      }
      yield asBuffer(r.value);
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Encrypts a stream of plaintext pieces for the recipients; yields the age file's bytes as Buffers (header first). */
export async function* encryptChunks(plain: AsyncIterable<Uint8Array>, to: AgeRecipients): AsyncGenerator<Buffer> {
  assertRecipients(to);
  const enc = new Encrypter();
  if (to.passphrase !== undefined) enc.setPassphrase(to.passphrase);
  else for (const r of to.recipients) enc.addRecipient(r);
  let out: ReadableStream<Uint8Array>;
  try {
    // Wraps the file key for every recipient now; reads nothing of the input yet.
    out = await enc.encrypt(new Input(plain).stream());
  } catch (err) {
    // A recipient that decodes but cannot be used (e.g. a low-order X25519 point).
    throw new BriError(ErrorCodes.USAGE, 'an age recipient cannot be encrypted to (an invalid public key)', { cause: err });
  }
  // Input errors pass through unchanged; the STREAM encryption itself does not fail.
  yield* drain(out, (err) => err);
}

/** The file's bytes in fresh pieces (never reused: the pipeline may keep views of them). */
async function* readPieces(fh: fsp.FileHandle): AsyncGenerator<Buffer> {
  for (;;) {
    const buf = Buffer.allocUnsafe(READ_PIECE);
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return;
    yield bytesRead < buf.length ? buf.subarray(0, bytesRead) : buf;
  }
}

/**
 * Encrypts the file at inPath into outPath (created/truncated, fsynced when `sync` is true);
 * returns the size and sha256 (hex) of the bytes written. Removes outPath on failure.
 */
export async function encryptFile(inPath: string, outPath: string, to: AgeRecipients, sync = true): Promise<{ size: number; sha256: string }> {
  assertRecipients(to);
  // The input is opened first: a missing input leaves no output file behind.
  const input = await fsp.open(inPath, 'r').catch((err: unknown) => Promise.reject(typedIoError(err, `encrypting ${inPath}`)));
  try {
    return await encryptToFile(readPieces(input), outPath, to, sync, inPath);
  } finally {
    await input.close().catch(() => undefined);
  }
}

/**
 * Encrypts a stream of plaintext pieces into outPath (created/truncated, fsynced when `sync` is
 * true): no plaintext touches the disk on the way. Returns the size and sha256 (hex) of the bytes
 * written; removes outPath on failure (the input's own error goes through unchanged). `what` names
 * the input in errors.
 */
export async function encryptToFile(plain: AsyncIterable<Uint8Array>, outPath: string, to: AgeRecipients, sync: boolean, what: string): Promise<{ size: number; sha256: string }> {
  assertRecipients(to);
  const hash = createHash('sha256');
  let size = 0;
  // Made fresh (a link planted at the name is replaced, never written through: root may run this in another user's directory).
  const out = await freshFile(outPath).catch((err: unknown) => Promise.reject(typedIoError(err, `encrypting ${what} into ${outPath}`)));
  try {
    // The pipeline yields 64 KiB pieces: write them 1 MiB at a time, fewer and larger system calls.
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async () => {
      const all = Buffer.concat(batch, batched);
      for (let off = 0; off < all.length; ) off += (await out.write(all, off, all.length - off)).bytesWritten;
      batch = [];
      batched = 0;
    };
    for await (const c of encryptChunks(plain, to)) {
      hash.update(c);
      size += c.length;
      batch.push(c);
      batched += c.length;
      if (batched >= WRITE_BATCH) await flush();
    }
    await flush();
    if (sync) await out.sync();
    await out.close();
  } catch (err) {
    await out.close().catch(() => undefined);
    await fsp.rm(outPath, { force: true }).catch(() => undefined);
    throw typedIoError(err, `encrypting ${what} into ${outPath}`);
  }
  return { size, sha256: hash.digest('hex') };
}

/** Whether a header step failed only because the input ends within the nonce right after a good header. */
function endsAfterHeader(input: Input, trace: HeaderTrace, member: string): boolean {
  if (!trace.parsed || trace.unmatched || !input.ended) return false;
  try {
    return input.total < ageHeaderLength(input.firstBytes(), member) + NONCE_SIZE;
  } catch {
    return false;
  }
}

/**
 * Decrypts an age file given as a stream of pieces; `member` names the file in every error.
 * No identity: ENCRYPTION_KEY_MISSING; none matches: DECRYPTION_FAILED; not age, a bad header or
 * MAC, a payload chunk failing authentication, truncated or trailing data: ARCHIVE_CORRUPTED.
 * Header errors are thrown before anything is yielded.
 */
export async function* decryptChunks(stored: AsyncIterable<Uint8Array>, identity: AgeIdentity | null, member: string): AsyncGenerator<Buffer> {
  if (identity === null || identity.identities.length + identity.passphrases.length === 0) throw identityMissingError(member);
  const { decrypter, trace } = tracedDecrypter(identity, member);
  const input = new Input(stored);
  let out: ReadableStream<Uint8Array>;
  try {
    // Reads and checks the header (and the payload nonce) before resolving.
    out = await decrypter.decrypt(input.stream());
  } catch (err) {
    if (input.owns(err)) throw err;
    if (endsAfterHeader(input, trace, member)) throw corrupted(member, 'ends right after its age header (truncated)', err);
    throw headerError(err, trace, identity, member, isAgeFile(input.firstBytes()));
  }
  input.dropHead();
  // Past the header, every failure is a chunk failing authentication: the last chunk carries a
  // flag, so truncation (even on a chunk boundary) and data after the end fail the same way.
  yield* drain(out, (err) => (input.owns(err) ? err : corrupted(member, 'its age payload fails authentication (damaged, truncated or with data after its end)', err)));
}
