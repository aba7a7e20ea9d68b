/**
 * A TCP proxy on 127.0.0.1 in front of a test server that passes at most `bytesPerTick` bytes
 * each way every `tickMs`: a slow link on which bytes keep moving. It holds at most one tick's
 * worth per direction and stops reading beyond that, so the sender feels the slowness. With
 * `stallAfter`, a direction of each connection stops for good after that many bytes: a server
 * that stops reading an upload, or stops sending a download, part-way and keeps the connection.
 */
import * as net from 'node:net';

export interface ThrottleOptions {
  bytesPerTick: number;
  tickMs: number;
  /** Bytes per connection after which `up` (to the server) or `down` (to the client) passes nothing more. */
  stallAfter?: { up?: number; down?: number };
}

export interface ThrottleProxy {
  endpoint: string;
  port: number;
  /** Bytes passed so far: `up` to the server, `down` to the client. */
  moved(): { up: number; down: number };
  close(): Promise<void>;
}

/** Passes `from` to `to` at the throttled rate; returns a function that stops it. */
function pump(from: net.Socket, to: net.Socket, o: ThrottleOptions, limit: number, count: (n: number) => void): () => void {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let passed = 0;
  let ended = false;
  from.on('data', (chunk: Buffer) => {
    held.push(chunk);
    heldBytes += chunk.length;
    if (heldBytes >= o.bytesPerTick) from.pause();
  });
  from.on('end', () => {
    ended = true;
  });
  const timer = setInterval(() => {
    if (to.destroyed) {
      clearInterval(timer);
      return;
    }
    let budget = Math.min(o.bytesPerTick, limit - passed);
    while (budget > 0 && held.length > 0) {
      const first = held[0]!;
      const piece = first.subarray(0, budget);
      to.write(piece);
      count(piece.length);
      passed += piece.length;
      budget -= piece.length;
      heldBytes -= piece.length;
      if (piece.length === first.length) held.shift();
      else held[0] = first.subarray(piece.length);
    }
    if (passed >= limit) from.pause();
    else if (heldBytes < o.bytesPerTick && !from.destroyed) from.resume();
    if (ended && held.length === 0) {
      clearInterval(timer);
      to.end();
    }
  }, o.tickMs);
  return () => {
    clearInterval(timer);
    held = [];
  };
}

export async function startThrottleProxy(targetPort: number, o: ThrottleOptions): Promise<ThrottleProxy> {
  const moved = { up: 0, down: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const stops = [
      pump(client, upstream, o, o.stallAfter?.up ?? Infinity, (n) => (moved.up += n)),
      pump(upstream, client, o, o.stallAfter?.down ?? Infinity, (n) => (moved.down += n)),
    ];
    // A side that closes cleanly is ended on the other once what is held for it has passed (a
    // server's answer followed by its close); a side that fails takes the other down with it.
    const fail = (): void => {
      for (const stop of stops) stop();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail).on('close', () => sockets.delete(client));
    upstream.on('error', fail).on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    moved: () => ({ ...moved }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
