/** A remote store whose downloads are counted as the consumer takes them (highWaterMark 1: no read-ahead in the count). */
import { Readable } from 'node:stream';
import type { GetOptions, RemoteStore } from '../../src/remote/remote.js';

export interface Served {
  bytes: number;
  gets: number;
}

export function countingStore(inner: RemoteStore, served: Served): RemoteStore {
  const get = async (key: string, opts?: GetOptions): Promise<Readable> => {
    served.gets++;
    const body = await inner.get(key, opts);
    async function* counted(): AsyncGenerator<Buffer> {
      try {
        for await (const c of body as AsyncIterable<Buffer>) {
          served.bytes += c.length;
          yield c;
        }
      } finally {
        body.destroy();
      }
    }
    return Readable.from(counted(), { objectMode: false, highWaterMark: 1 });
  };
  return new Proxy(inner, { get: (t, p) => (p === 'get' ? get : (Reflect.get(t, p) as unknown)) }) as RemoteStore;
}
