/**
 * A small Google Cloud Storage JSON API server for tests (there is no
 * installable GCS emulator here), written from the public JSON API reference:
 *
 *   buckets:  POST /storage/v1/b, GET|PATCH|DELETE /storage/v1/b/{bucket}
 *   objects:  GET /storage/v1/b/{bucket}/o            (prefix, delimiter, maxResults<=1000,
 *                                                       pageToken, startOffset, endOffset)
 *             GET /storage/v1/b/{bucket}/o/{object}   (metadata; alt=media: the bytes, with Range)
 *             GET /download/storage/v1/b/{bucket}/o/{object}?alt=media
 *             DELETE /storage/v1/b/{bucket}/o/{object}
 *   uploads:  POST /upload/storage/v1/b/{bucket}/o?uploadType=media|multipart|resumable
 *             PUT <session URI> with Content-Range `bytes a-b/total|*` (308 Resume Incomplete
 *             with `Range: bytes=0-n` until the last byte; `bytes * /total` asks for the status),
 *             DELETE <session URI> cancels (499).
 *
 * Objects carry generation, metageneration, size, md5Hash and crc32c (base64,
 * big-endian CRC-32C), custom metadata; media responses carry `x-goog-hash:
 * crc32c=...,md5=...`, x-goog-generation and x-goog-stored-content-*.
 * md5Hash/crc32c given with an upload (metadata or X-Goog-Hash) are checked,
 * and a mismatch is a 400 that stores nothing. Errors use the JSON API's
 * `{ error: { code, message, errors: [{ domain, reason, message }] } }`.
 * No authentication; buckets listed in `forbiddenBuckets` answer 403.
 * Bodies are streamed to files under `root`, never held whole (multipart
 * uploads, which are for small objects, are buffered up to 64 MiB).
 *
 * What the server acknowledged survives a crash: buckets and finished objects
 * are indexed in `<root>/index.json` (written before the answer), and a
 * server started again on the same root has them (open resumable sessions
 * are not kept).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32cBytes, crc32cUpdate } from '../../../src/remote/crc32c.js';
import { compareNames, HttpError, readBody, rfc3339, sendError, sendJson, splitMultipart } from './gcs-http.js';
import { ResumableUploads, type UploadSession } from './gcs-resumable.js';

export interface GcsServerOptions {
  /** Directory for object data (created). */
  root: string;
  /** Buckets created at start. */
  buckets?: string[];
  /** Buckets whose every request is answered 403 (for permission tests). */
  forbiddenBuckets?: string[];
}

const MAX_MULTIPART_BYTES = 64 * 1024 * 1024;
const INDEX_FILE = 'index.json';
const MAX_LIST_RESULTS = 1000;

export interface StoredObject {
  name: string;
  bucket: string;
  generation: string;
  metageneration: string;
  size: number;
  md5: Buffer;
  crc32c: number;
  contentType: string;
  storageClass: string;
  metadata: Record<string, string>;
  timeCreated: string;
  updated: string;
  file: string;
}

/** `<root>/index.json`: the buckets and finished objects (md5 in base64). */
interface SavedIndex {
  version: 1;
  buckets: Array<Omit<BucketState, 'objects'> & { objects: Array<Omit<StoredObject, 'md5'> & { md5: string }> }>;
}

interface BucketState {
  name: string;
  timeCreated: string;
  metageneration: number;
  lifecycle?: unknown;
  storageClass: string;
  objects: Map<string, StoredObject>;
}

export class GcsServer {
  readonly server: http.Server;
  private readonly root: string;
  private readonly buckets = new Map<string, BucketState>();
  private readonly uploads = new ResumableUploads(
    (req, res, s) => this.finishSession(req, res, s),
    (req, res, s) => sendJson(res, 200, this.objectResource(req, s.done!)),
  );
  private readonly forbidden: Set<string>;
  private generationCounter = Date.now() * 1000;
  /** Index writes, one after the other. */
  private saving: Promise<void> = Promise.resolve();
  /** Requests seen, by "METHOD path-kind", for tests that count them. */
  readonly requestLog: string[] = [];

  constructor(opts: GcsServerOptions) {
    this.root = opts.root;
    this.forbidden = new Set(opts.forbiddenBuckets ?? []);
    for (const b of opts.buckets ?? []) this.createBucket(b);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        sendError(res, err instanceof HttpError ? err : new HttpError(500, (err as Error)?.message ?? String(err), 'backendError'));
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  async init(): Promise<void> {
    await fsp.mkdir(path.join(this.root, 'objects'), { recursive: true });
    await fsp.mkdir(path.join(this.root, 'uploads'), { recursive: true });
    let saved: SavedIndex | undefined;
    try {
      saved = JSON.parse(await fsp.readFile(path.join(this.root, INDEX_FILE), 'utf8')) as SavedIndex;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const b of saved?.buckets ?? []) {
      const objects = new Map<string, StoredObject>();
      for (const o of b.objects) {
        objects.set(o.name, { ...o, md5: Buffer.from(o.md5, 'base64') });
        this.generationCounter = Math.max(this.generationCounter, Number(o.generation));
      }
      this.buckets.set(b.name, { ...b, objects });
    }
    await this.persist();
  }

  /** Writes the index (temp file, rename): what is acknowledged after this survives a kill. */
  private persist(): Promise<void> {
    this.saving = this.saving.then(async () => {
      const index: SavedIndex = {
        version: 1,
        buckets: [...this.buckets.values()].map((b) => ({ ...b, objects: [...b.objects.values()].map((o) => ({ ...o, md5: o.md5.toString('base64') })) })),
      };
      const tmp = path.join(this.root, `${INDEX_FILE}.tmp`);
      await fsp.writeFile(tmp, JSON.stringify(index));
      await fsp.rename(tmp, path.join(this.root, INDEX_FILE));
    });
    return this.saving;
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private createBucket(name: string): BucketState {
    const b: BucketState = { name, timeCreated: rfc3339(new Date()), metageneration: 1, storageClass: 'STANDARD', objects: new Map() };
    this.buckets.set(name, b);
    return b;
  }

  private bucket(name: string): BucketState {
    if (this.forbidden.has(name)) throw new HttpError(403, `anonymous caller does not have storage.objects.list access to the Google Cloud Storage bucket ${name}. Permission denied.`, 'forbidden');
    const b = this.buckets.get(name);
    if (b === undefined) throw new HttpError(404, 'The specified bucket does not exist.', 'notFound');
    return b;
  }

  private base(req: http.IncomingMessage): string {
    return `http://${req.headers.host ?? '127.0.0.1'}`;
  }

  private bucketResource(req: http.IncomingMessage, b: BucketState): Record<string, unknown> {
    return {
      kind: 'storage#bucket',
      id: b.name,
      selfLink: `${this.base(req)}/storage/v1/b/${b.name}`,
      name: b.name,
      projectNumber: '0',
      metageneration: String(b.metageneration),
      location: 'US',
      storageClass: b.storageClass,
      etag: 'CAE=',
      timeCreated: b.timeCreated,
      updated: b.timeCreated,
      ...(b.lifecycle !== undefined ? { lifecycle: b.lifecycle } : {}),
    };
  }

  private objectResource(req: http.IncomingMessage, o: StoredObject): Record<string, unknown> {
    const enc = encodeURIComponent(o.name);
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${this.base(req)}/storage/v1/b/${o.bucket}/o/${enc}`,
      mediaLink: `${this.base(req)}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: o.metageneration,
      contentType: o.contentType,
      storageClass: o.storageClass,
      size: String(o.size),
      md5Hash: o.md5.toString('base64'),
      crc32c: crc32cBytes(o.crc32c).toString('base64'),
      etag: Buffer.from(o.generation).toString('base64'),
      timeCreated: o.timeCreated,
      updated: o.updated,
      timeStorageClassUpdated: o.timeCreated,
      ...(Object.keys(o.metadata).length > 0 ? { metadata: o.metadata } : {}),
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const p = url.pathname;
    let m: RegExpExecArray | null;
    this.requestLog.push(`${method} ${p.split('/').slice(0, 6).join('/')}`);
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(p))) {
      const bucket = decodeURIComponent(m[1]!);
      const uploadId = url.searchParams.get('upload_id');
      if (uploadId !== null) {
        if (method === 'PUT' || method === 'POST') return this.uploads.chunk(req, res, uploadId);
        if (method === 'DELETE') return this.uploads.cancel(req, res, uploadId);
      }
      if (method === 'POST') return this.insert(req, res, bucket, url);
      throw new HttpError(405, `method ${method} not allowed`, 'methodNotAllowed');
    }
    if ((m = /^\/download\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(p)) && method === 'GET') {
      return this.media(req, res, this.getObject(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), url));
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(p))) {
      const bucket = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      if (method === 'GET') {
        const o = this.getObject(bucket, name, url);
        if (url.searchParams.get('alt') === 'media') return this.media(req, res, o);
        return sendJson(res, 200, this.objectResource(req, o));
      }
      if (method === 'DELETE') return this.deleteObject(res, bucket, name, url);
      throw new HttpError(405, `method ${method} not allowed`, 'methodNotAllowed');
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(p)) && method === 'GET') return this.list(req, res, decodeURIComponent(m[1]!), url);
    if ((m = /^\/storage\/v1\/b\/([^/]+)$/.exec(p))) {
      const name = decodeURIComponent(m[1]!);
      if (method === 'GET') return sendJson(res, 200, this.bucketResource(req, this.bucket(name)));
      if (method === 'PATCH' || method === 'PUT') {
        const b = this.bucket(name);
        const body = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}') as { lifecycle?: unknown };
        if ('lifecycle' in body) b.lifecycle = body.lifecycle;
        b.metageneration++;
        await this.persist();
        return sendJson(res, 200, this.bucketResource(req, b));
      }
      if (method === 'DELETE') {
        const b = this.bucket(name);
        if (b.objects.size > 0) throw new HttpError(409, 'The bucket you tried to delete is not empty.', 'conflict');
        this.buckets.delete(name);
        await this.persist();
        res.writeHead(204).end();
        return;
      }
    }
    if (p === '/storage/v1/b' && method === 'POST') {
      const body = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}') as { name?: string };
      if (typeof body.name !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(body.name)) throw new HttpError(400, 'Invalid bucket name', 'invalid');
      if (this.buckets.has(body.name)) throw new HttpError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
      const created = this.createBucket(body.name);
      await this.persist();
      return sendJson(res, 200, this.bucketResource(req, created));
    }
    throw new HttpError(404, `Not Found: ${method} ${p}`, 'notFound');
  }

  private getObject(bucket: string, name: string, url: URL): StoredObject {
    const o = this.bucket(bucket).objects.get(name);
    if (o === undefined) throw new HttpError(404, `No such object: ${bucket}/${name}`, 'notFound');
    const gen = url.searchParams.get('generation');
    if (gen !== null && gen !== o.generation) throw new HttpError(404, `No such object: ${bucket}/${name}#${gen}`, 'notFound');
    return o;
  }

  private checkGenerationMatch(b: BucketState, name: string, want: string | null | undefined): void {
    if (want === null || want === undefined) return;
    const current = b.objects.get(name)?.generation ?? '0';
    if (current !== want) throw new HttpError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
  }

  private async media(req: http.IncomingMessage, res: http.ServerResponse, o: StoredObject): Promise<void> {
    const headers: Record<string, string> = {
      'Content-Type': o.contentType,
      'Accept-Ranges': 'bytes',
      ETag: `"${Buffer.from(o.generation).toString('base64')}"`,
      'Last-Modified': new Date(o.updated).toUTCString(),
      'x-goog-generation': o.generation,
      'x-goog-metageneration': o.metageneration,
      'x-goog-stored-content-length': String(o.size),
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-storage-class': o.storageClass,
      'x-goog-hash': `crc32c=${crc32cBytes(o.crc32c).toString('base64')},md5=${o.md5.toString('base64')}`,
    };
    for (const [k, v] of Object.entries(o.metadata)) headers[`x-goog-meta-${k}`] = v;
    const range = req.headers.range;
    let start = 0;
    let end = o.size - 1;
    let status = 200;
    if (typeof range === 'string' && /^bytes=/.test(range)) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === '' && m[2] === '')) throw new HttpError(400, `Invalid Range header ${range}`, 'invalid');
      if (m[1] === '') {
        start = Math.max(0, o.size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(Number(m[2]), o.size - 1);
        if (m[2] !== '' && Number(m[2]) < start) throw new HttpError(400, `Invalid Range header ${range}`, 'invalid');
      }
      if (start >= o.size) {
        res.writeHead(416, { 'Content-Range': `bytes */${o.size}`, 'Content-Type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ error: { code: 416, message: 'The requested range cannot be satisfied.', errors: [{ domain: 'global', reason: 'requestedRangeNotSatisfiable', message: 'The requested range cannot be satisfied.' }] } }));
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${o.size}`;
    }
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || end < start) {
      res.end();
      return;
    }
    await pipeline(createReadStream(o.file, { start, end }), res).catch(() => res.destroy());
  }

  private list(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, url: URL): void {
    const b = this.bucket(bucket);
    const prefix = url.searchParams.get('prefix') ?? '';
    const delimiter = url.searchParams.get('delimiter') ?? '';
    const startOffset = url.searchParams.get('startOffset');
    const endOffset = url.searchParams.get('endOffset');
    const maxResults = Math.min(MAX_LIST_RESULTS, Math.max(1, Number(url.searchParams.get('maxResults') ?? MAX_LIST_RESULTS) || MAX_LIST_RESULTS));
    const token = url.searchParams.get('pageToken');
    const after = token !== null && token !== '' ? Buffer.from(token, 'base64url').toString('utf8') : null;
    const names = [...b.objects.keys()].sort(compareNames);
    const items: StoredObject[] = [];
    const prefixes = new Set<string>();
    let last: string | null = null;
    let truncated = false;
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      if (after !== null && compareNames(name, after) <= 0) continue;
      if (startOffset !== null && compareNames(name, startOffset) < 0) continue;
      if (endOffset !== null && compareNames(name, endOffset) >= 0) continue;
      if (items.length + prefixes.size >= maxResults) {
        truncated = true;
        break;
      }
      last = name;
      if (delimiter !== '') {
        const i = name.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          prefixes.add(name.slice(0, i + delimiter.length));
          continue;
        }
      }
      items.push(b.objects.get(name)!);
    }
    const body: Record<string, unknown> = { kind: 'storage#objects' };
    if (items.length > 0) body.items = items.map((o) => this.objectResource(req, o));
    if (prefixes.size > 0) body.prefixes = [...prefixes];
    if (truncated && last !== null) body.nextPageToken = Buffer.from(last, 'utf8').toString('base64url');
    sendJson(res, 200, body);
  }

  private async deleteObject(res: http.ServerResponse, bucket: string, name: string, url: URL): Promise<void> {
    const b = this.bucket(bucket);
    const o = b.objects.get(name);
    if (o === undefined) throw new HttpError(404, `No such object: ${bucket}/${name}`, 'notFound');
    this.checkGenerationMatch(b, name, url.searchParams.get('ifGenerationMatch'));
    b.objects.delete(name);
    await this.persist();
    void fsp.rm(o.file, { force: true });
    res.writeHead(204).end();
  }

  private nextGeneration(): string {
    this.generationCounter = Math.max(this.generationCounter + 1, Date.now() * 1000);
    return String(this.generationCounter);
  }

  /** Stores a finished upload, after checking any md5Hash/crc32c the client declared. */
  private async commit(
    b: BucketState,
    meta: { name: string; contentType: string; metadata: Record<string, string>; storageClass?: string; expected: { md5?: string; crc32c?: string } },
    file: string,
    size: number,
    md5: Buffer,
    crc: number,
  ): Promise<StoredObject> {
    const crcB64 = crc32cBytes(crc).toString('base64');
    if (meta.expected.md5 !== undefined && meta.expected.md5 !== md5.toString('base64')) {
      await fsp.rm(file, { force: true });
      throw new HttpError(400, `Provided MD5 hash "${meta.expected.md5}" doesn't match calculated MD5 hash "${md5.toString('base64')}".`, 'invalid');
    }
    if (meta.expected.crc32c !== undefined && meta.expected.crc32c !== crcB64) {
      await fsp.rm(file, { force: true });
      throw new HttpError(400, `Provided CRC32C "${meta.expected.crc32c}" doesn't match calculated CRC32C "${crcB64}".`, 'invalid');
    }
    const generation = this.nextGeneration();
    const finalFile = path.join(this.root, 'objects', `${generation}-${randomBytes(4).toString('hex')}`);
    await fsp.rename(file, finalFile);
    const now = rfc3339(new Date());
    const old = b.objects.get(meta.name);
    const o: StoredObject = {
      name: meta.name,
      bucket: b.name,
      generation,
      metageneration: '1',
      size,
      md5,
      crc32c: crc,
      contentType: meta.contentType,
      storageClass: meta.storageClass ?? b.storageClass,
      metadata: meta.metadata,
      timeCreated: now,
      updated: now,
      file: finalFile,
    };
    b.objects.set(meta.name, o);
    await this.persist();
    if (old !== undefined) void fsp.rm(old.file, { force: true });
    return o;
  }

  private parseObjectMeta(json: Record<string, unknown>, fallbackName: string | null, fallbackType: string | undefined) {
    const name = typeof json.name === 'string' ? json.name : fallbackName;
    if (name === null || name === '') throw new HttpError(400, 'Required: name', 'required');
    const metadata: Record<string, string> = {};
    if (json.metadata !== undefined && json.metadata !== null) {
      if (typeof json.metadata !== 'object') throw new HttpError(400, 'Invalid metadata', 'invalid');
      for (const [k, v] of Object.entries(json.metadata as Record<string, unknown>)) if (v !== null) metadata[k] = String(v);
    }
    return {
      name,
      contentType: typeof json.contentType === 'string' ? json.contentType : (fallbackType ?? 'application/octet-stream'),
      metadata,
      ...(typeof json.storageClass === 'string' ? { storageClass: json.storageClass } : {}),
      expected: {
        ...(typeof json.md5Hash === 'string' ? { md5: json.md5Hash } : {}),
        ...(typeof json.crc32c === 'string' ? { crc32c: json.crc32c } : {}),
      },
    };
  }

  private tempFile(): string {
    return path.join(this.root, 'uploads', randomBytes(12).toString('hex'));
  }

  private async insert(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, url: URL): Promise<void> {
    const b = this.bucket(bucket);
    const uploadType = url.searchParams.get('uploadType') ?? 'media';
    const ifGen = url.searchParams.get('ifGenerationMatch');
    if (uploadType === 'media') {
      const meta = this.parseObjectMeta({}, url.searchParams.get('name'), req.headers['content-type']);
      this.checkGenerationMatch(b, meta.name, ifGen);
      const { file, size, md5, crc } = await this.receiveToFile(req);
      return sendJson(res, 200, this.objectResource(req, await this.commit(b, meta, file, size, md5, crc)));
    }
    if (uploadType === 'multipart') {
      const ct = req.headers['content-type'] ?? '';
      const bm = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(ct);
      if (!/^multipart\/related/i.test(ct) || !bm) throw new HttpError(400, 'multipart upload needs Content-Type multipart/related with a boundary', 'invalid');
      const boundary = (bm[1] ?? bm[2]!).trim();
      const body = await readBody(req, MAX_MULTIPART_BYTES);
      const parts = splitMultipart(body, boundary);
      if (parts.length !== 2) throw new HttpError(400, `multipart upload needs 2 parts, got ${parts.length}`, 'invalid');
      const json = JSON.parse(parts[0]!.body.toString('utf8') || '{}') as Record<string, unknown>;
      const meta = this.parseObjectMeta(json, url.searchParams.get('name'), parts[1]!.headers['content-type']);
      this.checkGenerationMatch(b, meta.name, ifGen);
      const data = parts[1]!.body;
      const file = this.tempFile();
      await fsp.writeFile(file, data);
      const o = await this.commit(b, meta, file, data.length, createHash('md5').update(data).digest(), crc32cUpdate(0, data));
      return sendJson(res, 200, this.objectResource(req, o));
    }
    if (uploadType === 'resumable') {
      const raw = (await readBody(req, 1024 * 1024)).toString('utf8');
      const json = (raw.trim() === '' ? {} : JSON.parse(raw)) as Record<string, unknown>;
      const xType = req.headers['x-upload-content-type'];
      const meta = this.parseObjectMeta(json, url.searchParams.get('name'), typeof xType === 'string' ? xType : undefined);
      this.checkGenerationMatch(b, meta.name, ifGen);
      const xLen = req.headers['x-upload-content-length'];
      const id = randomBytes(16).toString('base64url');
      const file = this.tempFile();
      await fsp.writeFile(file, '');
      this.uploads.add({
        id,
        bucket,
        name: meta.name,
        contentType: meta.contentType,
        metadata: meta.metadata,
        ...(meta.storageClass !== undefined ? { storageClass: meta.storageClass } : {}),
        expected: meta.expected,
        ...(ifGen !== null ? { ifGenerationMatch: ifGen } : {}),
        file,
        received: 0,
        ...(typeof xLen === 'string' ? { total: Number(xLen) } : {}),
        md5: createHash('md5'),
        crc: 0,
      });
      const location = `${this.base(req)}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(meta.name)}&upload_id=${id}`;
      res.writeHead(200, { Location: location, 'X-GUploader-UploadID': id, 'Content-Length': '0' });
      res.end();
      return;
    }
    throw new HttpError(400, `Invalid upload type ${uploadType}`, 'invalidParameter');
  }

  /** Streams a request body to a temp file, hashing it. */
  private async receiveToFile(req: http.IncomingMessage): Promise<{ file: string; size: number; md5: Buffer; crc: number }> {
    const file = this.tempFile();
    const md5 = createHash('md5');
    let crc = 0;
    let size = 0;
    try {
      await pipeline(
        req,
        async function* (source) {
          for await (const c of source) {
            const chunk = c as Buffer;
            md5.update(chunk);
            crc = crc32cUpdate(crc, chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(file),
      );
    } catch (err) {
      await fsp.rm(file, { force: true });
      throw err;
    }
    return { file, size, md5: md5.digest(), crc };
  }

  private async finishSession(req: http.IncomingMessage, res: http.ServerResponse, s: UploadSession): Promise<void> {
    const b = this.bucket(s.bucket);
    this.checkGenerationMatch(b, s.name, s.ifGenerationMatch);
    try {
      s.done = await this.commit(
        b,
        { name: s.name, contentType: s.contentType, metadata: s.metadata, ...(s.storageClass !== undefined ? { storageClass: s.storageClass } : {}), expected: s.expected },
        s.file,
        s.received,
        s.md5.digest(),
        s.crc,
      );
    } catch (err) {
      this.uploads.forget(s.id);
      throw err;
    }
    sendJson(res, 200, this.objectResource(req, s.done));
  }

  /** Number of live (unfinished, uncancelled) resumable sessions, for tests. */
  openSessions(): number {
    return this.uploads.open();
  }
}

/** Starts a server (for in-process use and for the child in gcs-server-main.ts). */
export async function createGcsServer(opts: GcsServerOptions & { port?: number }): Promise<{ server: GcsServer; port: number; endpoint: string }> {
  const server = new GcsServer(opts);
  await server.init();
  const port = await server.listen(opts.port ?? 0);
  return { server, port, endpoint: `http://127.0.0.1:${port}` };
}
