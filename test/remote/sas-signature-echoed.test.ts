/**
 * A proxy's error page (or a JSON body) that echoes the request URL escaped: `&amp;sig=`, `%26sig%3D`,
 * `\u0026sig=`. redact() only knew `?sig=` and `&sig=`, so an Azure SAS signature was printed in REMOTE_ERROR.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isBriError } from '../../src/errors.js';
import { createRemote } from '../../src/remote/registry.js';
import { redact } from '../../src/remote/remote-errors.js';

const SIG = 'SASSIGSECRET123%3D';
const SAS = `sv=2026-04-06&ss=b&srt=sco&sp=rwdlacup&sig=${SIG}`;

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A proxy that answers every request 502 with an HTML page quoting its URL, `&` escaped as HTML does. */
async function echoingProxy(): Promise<string> {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(`<html><body>ERROR: The requested URL could not be retrieved: http://${req.headers.host}${(req.url ?? '').replace(/&/g, '&amp;')}</body></html>`);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/devstoreaccount1`;
}

describe('a SAS signature echoed escaped in an error', () => {
  it('azure: a 502 page quoting the URL with &amp; is a REMOTE_ERROR without the signature', async () => {
    const endpoint = await echoingProxy();
    const store = createRemote({ provider: 'azure', container: 'bri', endpoint, sasToken: SAS, sdkMaxTries: 1 }, { retry: false });
    const err = await (async () => {
      for await (const _ of store.list('archives/')) break;
    })().catch((e: unknown) => e);
    await store.close();
    expect(isBriError(err, 'REMOTE_ERROR'), inspect(err)).toBe(true);
    for (const text of [(err as Error).message, JSON.stringify(err), inspect(err, { depth: 20 })]) expect(text).not.toContain('SASSIGSECRET');
  });

  it('redact() takes out sig= after any separator, and the given SAS\'s signature wherever it is', () => {
    const forms = [`x&amp;sig=${SIG}&amp;se=1`, `x%26sig%3D${SIG}%26se`, `x\\u0026sig=${SIG}\\u0026se`, `x;sig=${SIG};se`, `"sig":"SASSIGSECRET123="`, `signature SASSIGSECRET123=.`];
    for (const text of forms) expect(redact(text, [SAS])).not.toContain('SASSIGSECRET');
    expect(redact(`a &amp;sig=OTHERSIG123&amp;sv=2`)).toBe('a &amp;sig=***&amp;sv=2');
    expect(redact(`a %26sig%3DOTHERSIG123 b`)).toBe('a %26sig%3D*** b');
  });
});
