/**
 * Servers that hold a client for ever, for timeout tests, on 127.0.0.1:
 * - a black hole accepts every connection, reads what comes and never answers (a hung server
 *   or proxy, a half-open connection);
 * - an unaccepting server never takes a connection off its listen queue (a child process whose
 *   event loop is blocked): once the queue is full, the kernel drops new SYNs and a client's
 *   connect hangs.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';

export interface HungServer {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export interface BlackHole extends HungServer {
  /** Connections accepted so far. */
  accepted(): number;
}

export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// Listens with the shortest queue, says its port, then blocks its only thread (no CPU spent).
const UNACCEPTING_CHILD = `
const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write('PORT ' + s.address().port + '\\n');
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 50);
});`;

/** Opens connections until one hangs in connect (the queue is full); returns those that got in. */
async function fillQueue(port: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < 64; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    sockets.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 300);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!connected) return sockets;
  }
  throw new Error('the listen queue never filled');
}

export async function startUnacceptingServer(): Promise<HungServer> {
  const child = spawn(process.execPath, ['-e', UNACCEPTING_CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`the unaccepting server exited (${code})`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // its thread is blocked by now
  const fillers = await fillQueue(port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
