import { createSocket, type Socket } from 'node:dgram';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';

export interface AccessLogOptions {
  /** `ip:port` or `[ipv6]:port` (listen.accessLog): where HAProxy sends its lines. */
  readonly address: string;
  /** Where each line goes: ipx's standard output in production. */
  readonly out: Writable;
  readonly logger: Logger;
}

export interface AccessLogForwarder {
  /** Lines written so far. */
  lines(): number;
  close(): Promise<void>;
}

/**
 * Receives HAProxy's access-log datagrams (`log <listen.accessLog> format raw`:
 * one JSON line each) and writes them to `out`, one per line. UDP rather than
 * HAProxy's own stdout because the managed HAProxy outlives ipx (a restarted
 * ipx adopts it) and writes its stdout to a file; a datagram target survives
 * that. reuseAddr lets a restarted ipx bind while the old socket closes. A
 * bind failure is logged and access lines are lost; routing is unaffected.
 */
export async function startAccessLog({ address, out, logger }: AccessLogOptions): Promise<AccessLogForwarder> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  const socket: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
  let count = 0;
  socket.on('message', (message) => {
    // HAProxy may end a raw line with a newline; exactly one is written.
    const line = message.toString('utf8').replace(/\n+$/, '');
    // The target only gets info-level messages, but HAProxy's own notices (a proxy stopping) are not access lines.
    if (!line.startsWith('{')) return logger.info({ message: line.slice(0, 500) }, 'haproxy log message');
    count++;
    out.write(`${line}\n`);
  });
  socket.on('error', (err: Error) => logger.warn({ err: err.message, address }, 'access log: receiving failed; access lines are lost until ipx restarts'));
  await new Promise<void>((resolve) => {
    const failed = (err: Error) => {
      logger.warn({ err: err.message, address }, `access log: cannot listen on ${address}; set listen.accessLog to a free port or log.access: off`);
      resolve();
    };
    socket.once('error', failed);
    socket.bind(port, host, () => {
      socket.off('error', failed);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    lines: () => count,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      })),
  };
}
