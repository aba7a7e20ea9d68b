/**
 * Writing an archive package: a POSIX (ustar) tar of regular files, streamed
 * from staged member files, to a temp path that is fsynced before the caller
 * renames it into place. A hook may add a last member computed over every
 * byte written before it (the PAR2 recovery data protects the whole prefix):
 * it starts with the writing and reads each byte once it is on disk.
 */
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { typedIoError } from '../../errors.js';
import { freshFile } from '../../store/durable-fs.js';

export interface PackageMember {
  name: string;
  /** A file to stream the member from, or the bytes themselves. */
  path?: string;
  data?: Buffer;
  size: number;
}

export interface WritePackageOptions {
  mtime: Date;
  /**
   * Called before the members are written, with their total tar length and a wait for the bytes
   * before an offset to be on disk (it rejects when the writing fails); may return one more member.
   */
  finalMember?: (prefixBytes: number, ready: (end: number) => Promise<void>) => Promise<PackageMember | null>;
}

export interface WrittenPackage {
  bytes: number;
  /** Offset of each member's data in the file, by name. */
  offsets: Record<string, number>;
}

const BLOCK = 512;
const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** A sink that counts what reached the file, so that the prefix can be read back while the tar is still open. */
class FileSink extends Writable {
  written = 0;
  private waiters: Array<{ at: number; resolve: () => void; reject: (err: Error) => void }> = [];
  private failure: Error | null = null;
  constructor(private readonly fh: fs.promises.FileHandle) {
    super({ highWaterMark: 1 << 20 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.fh.write(chunk, 0, chunk.length, this.written).then(
      ({ bytesWritten }) => {
        this.written += bytesWritten;
        this.waiters = this.waiters.filter((w) => (w.at <= this.written ? (w.resolve(), false) : true));
        done();
      },
      (err: Error) => done(err),
    );
  }
  reached(at: number): Promise<void> {
    if (this.written >= at) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ at, resolve, reject }));
  }
  /** The bytes will not come: every wait, and every later one, rejects. */
  abandon(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }
}

async function addMember(pack: tar.Pack, m: PackageMember, mtime: Date): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const header = { name: m.name, size: m.size, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file' as const };
    if (m.data !== undefined) {
      pack.entry(header, m.data, (err) => (err ? reject(err) : resolve()));
      return;
    }
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    pipeline(fs.createReadStream(m.path!, { highWaterMark: 1 << 20 }), sink as unknown as NodeJS.WritableStream).catch(reject);
  });
}

/**
 * Pipes a tar stream into its sink. A write that fails (a full disk) fails the pipe while members
 * are still being added, which then wait for a drain that never comes: `guarded` races each such
 * wait against the pipe, so the failure is the caller's error, never an unhandled rejection or a hang.
 */
export function guardedPipe(pack: tar.Pack, sink: NodeJS.WritableStream): { done: Promise<void>; guarded: <T>(p: Promise<T>) => Promise<T> } {
  const done = pipeline(pack as unknown as NodeJS.ReadableStream, sink);
  const broken = done.then(
    () => new Promise<never>(() => undefined),
    (err: unknown) => Promise.reject(err),
  );
  broken.catch(() => undefined);
  done.catch(() => undefined);
  return { done, guarded: (p) => Promise.race([p, broken]) };
}

export async function writePackage(outPath: string, members: PackageMember[], opts: WritePackageOptions): Promise<WrittenPackage> {
  const fh = await freshFile(outPath);
  const pack = tar.pack();
  const sink = new FileSink(fh);
  let final: Promise<PackageMember | null> | null = null;
  try {
    const { done: piping, guarded } = guardedPipe(pack, sink);
    const offsets: Record<string, number> = {};
    let offset = 0;
    const add = async (m: PackageMember) => {
      offsets[m.name] = offset + BLOCK;
      await guarded(addMember(pack, m, opts.mtime));
      offset += BLOCK + padded(m.size);
    };
    if (opts.finalMember) {
      const prefixBytes = members.reduce((a, m) => a + BLOCK + padded(m.size), 0);
      final = opts.finalMember(prefixBytes, (end) => guarded(sink.reached(end)));
      final.catch(() => undefined);
    }
    for (const m of members) await add(m);
    if (final) {
      const last = await guarded(final);
      if (last) await add(last);
    }
    pack.finalize();
    await piping;
    await fh.sync();
    return { bytes: sink.written, offsets };
  } catch (err) {
    pack.destroy();
    // The last member's computation waits for bytes that will not come: it is let go and settled before the file closes.
    sink.abandon(err instanceof Error ? err : new Error(String(err)));
    await final?.catch(() => undefined);
    // A write() error names no file: the package being written is the one (its disk is the full one). Others name theirs.
    throw (err as NodeJS.ErrnoException | null)?.path === undefined ? typedIoError(err, `writing ${outPath}`, outPath) : err;
  } finally {
    await fh.close();
  }
}
