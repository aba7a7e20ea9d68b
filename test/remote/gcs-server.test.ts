/**
 * The GCS test server speaks the JSON API's wire protocol, checked here with
 * plain HTTP requests (no client library): resumable sessions (308 Resume
 * Incomplete and its Range header, status checks, cancel), media and
 * multipart uploads, hashes, ranged downloads, listing pages, errors.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c, crc32cBytes } from '../../src/remote/crc32c.js';
import { createGcsServer, type GcsServer } from '../support/servers/gcs-server.js';

let server: GcsServer;
let base: string;
let root: string;

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-gcs-wire-'));
  const started = await createGcsServer({ root, buckets: ['wire'] });
  server = started.server;
  base = started.endpoint;
});

afterAll(async () => {
  await server?.close();
  if (root) await fsp.rm(root, { recursive: true, force: true });
});

const KiB256 = 256 * 1024;
const md5b64 = (b: Buffer): string => createHash('md5').update(b).digest('base64');
const crcb64 = (b: Buffer): string => crc32cBytes(crc32c(b)).toString('base64');

describe('GCS test server, wire protocol', () => {
  it('resumable upload: 308 with Range after each chunk, status check, final 200 with md5Hash and crc32c', async () => {
    const data = Buffer.alloc(KiB256 * 2 + 1000, 7);
    data.write('hello', 0);
    const start = await fetch(`${base}/upload/storage/v1/b/wire/o?uploadType=resumable&name=${encodeURIComponent('dir/obj one')}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Upload-Content-Type': 'application/x-test' },
      body: JSON.stringify({ metadata: { k: 'v' } }),
    });
    expect(start.status).toBe(200);
    const session = start.headers.get('location')!;
    expect(session).toMatch(/upload_id=/);

    // Nothing persisted yet: 308 without a Range header.
    const empty = await fetch(session, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
    expect(empty.status).toBe(308);
    expect(empty.headers.get('range')).toBeNull();

    const first = await fetch(session, { method: 'PUT', headers: { 'Content-Range': `bytes 0-${KiB256 - 1}/*` }, body: data.subarray(0, KiB256) });
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe(`bytes=0-${KiB256 - 1}`);

    const status = await fetch(session, { method: 'PUT', headers: { 'Content-Range': `bytes */${data.length}` } });
    expect(status.status).toBe(308);
    expect(status.headers.get('range')).toBe(`bytes=0-${KiB256 - 1}`);

    // A chunk that overlaps what was persisted: the overlap is ignored.
    const second = await fetch(session, { method: 'PUT', headers: { 'Content-Range': `bytes ${KiB256 - 10}-${2 * KiB256 - 1}/*` }, body: data.subarray(KiB256 - 10, 2 * KiB256) });
    expect(second.status).toBe(308);
    expect(second.headers.get('range')).toBe(`bytes=0-${2 * KiB256 - 1}`);

    const last = await fetch(session, { method: 'PUT', headers: { 'Content-Range': `bytes ${2 * KiB256}-${data.length - 1}/${data.length}` }, body: data.subarray(2 * KiB256) });
    expect(last.status).toBe(200);
    const obj = (await last.json()) as Record<string, unknown>;
    expect(obj).toMatchObject({ kind: 'storage#object', name: 'dir/obj one', bucket: 'wire', size: String(data.length), contentType: 'application/x-test', metadata: { k: 'v' } });
    expect(obj.md5Hash).toBe(md5b64(data));
    expect(obj.crc32c).toBe(crcb64(data));
    expect(typeof obj.generation).toBe('string');

    // The finished session answers with the object again.
    const again = await fetch(session, { method: 'PUT', headers: { 'Content-Range': `bytes */${data.length}` } });
    expect(again.status).toBe(200);

    const media = await fetch(`${base}/storage/v1/b/wire/o/${encodeURIComponent('dir/obj one')}?alt=media`);
    expect(media.status).toBe(200);
    expect(media.headers.get('x-goog-hash')).toBe(`crc32c=${crcb64(data)},md5=${md5b64(data)}`);
    expect(media.headers.get('x-goog-stored-content-encoding')).toBe('identity');
    expect(Buffer.from(await media.arrayBuffer()).equals(data)).toBe(true);
  });

  it('cancelling a session answers 499, then the session is gone', async () => {
    const start = await fetch(`${base}/upload/storage/v1/b/wire/o?uploadType=resumable&name=cancelled`, { method: 'POST' });
    const session = start.headers.get('location')!;
    expect((await fetch(session, { method: 'DELETE' })).status).toBe(499);
    expect((await fetch(session, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } })).status).toBe(404);
    expect((await fetch(`${base}/storage/v1/b/wire/o/cancelled`)).status).toBe(404);
  });

  it('media and multipart uploads; a declared md5Hash that does not match is a 400 and stores nothing', async () => {
    const body = Buffer.from('media body');
    const media = await fetch(`${base}/upload/storage/v1/b/wire/o?uploadType=media&name=m1`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body });
    expect(((await media.json()) as { md5Hash: string }).md5Hash).toBe(md5b64(body));

    const multipart = (meta: object, data: Buffer): Buffer =>
      Buffer.concat([
        Buffer.from(`--b0undary\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n--b0undary\r\nContent-Type: application/octet-stream\r\n\r\n`),
        data,
        Buffer.from('\r\n--b0undary--\r\n'),
      ]);
    const data = Buffer.from('multipart body\r\n--not-a-boundary\r\n');
    const ok = await fetch(`${base}/upload/storage/v1/b/wire/o?uploadType=multipart`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/related; boundary=b0undary' },
      body: multipart({ name: 'mp1', md5Hash: md5b64(data), metadata: { a: '1' } }, data),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { size: string }).size).toBe(String(data.length));
    const bad = await fetch(`${base}/upload/storage/v1/b/wire/o?uploadType=multipart`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/related; boundary=b0undary' },
      body: multipart({ name: 'mp2', md5Hash: md5b64(Buffer.from('other')) }, data),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(400);
    expect((await fetch(`${base}/storage/v1/b/wire/o/mp2`)).status).toBe(404);
  });

  it('ranged media downloads: 206 with Content-Range, suffix ranges, 416 past the end', async () => {
    const r = await fetch(`${base}/storage/v1/b/wire/o/m1?alt=media`, { headers: { Range: 'bytes=2-4' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await r.text()).toBe('dia');
    const tail = await fetch(`${base}/download/storage/v1/b/wire/o/m1?alt=media`, { headers: { Range: 'bytes=-4' } });
    expect(await tail.text()).toBe('body');
    const past = await fetch(`${base}/storage/v1/b/wire/o/m1?alt=media`, { headers: { Range: 'bytes=10-20' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */10');
  });

  it('lists by prefix in name order, maxResults per page, nextPageToken, delimiter prefixes', async () => {
    for (const n of ['l/c', 'l/a', 'l/b/1', 'l/b/2', 'l/d']) {
      await fetch(`${base}/upload/storage/v1/b/wire/o?uploadType=media&name=${encodeURIComponent(n)}`, { method: 'POST', body: 'x' });
    }
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = (await (await fetch(`${base}/storage/v1/b/wire/o?prefix=l/&maxResults=2${token ? `&pageToken=${token}` : ''}`)).json()) as {
        items?: Array<{ name: string }>;
        nextPageToken?: string;
      };
      names.push(...(res.items ?? []).map((i) => i.name));
      token = res.nextPageToken;
      pages++;
    } while (token !== undefined);
    expect(names).toEqual(['l/a', 'l/b/1', 'l/b/2', 'l/c', 'l/d']);
    expect(pages).toBe(3);
    const dir = (await (await fetch(`${base}/storage/v1/b/wire/o?prefix=l/&delimiter=/`)).json()) as { items: Array<{ name: string }>; prefixes: string[] };
    expect(dir.items.map((i) => i.name)).toEqual(['l/a', 'l/c', 'l/d']);
    expect(dir.prefixes).toEqual(['l/b/']);
  });

  it('errors use the JSON API shape', async () => {
    const res = await fetch(`${base}/storage/v1/b/nope/o/x`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 404, message: 'The specified bucket does not exist.', errors: [{ domain: 'global', reason: 'notFound', message: 'The specified bucket does not exist.' }] },
    });
    const pre = await fetch(`${base}/upload/storage/v1/b/wire/o?uploadType=media&name=m1&ifGenerationMatch=0`, { method: 'POST', body: 'x' });
    expect(pre.status).toBe(412);
  });
});
