import { createSocket, type Socket } from 'node:dgram';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';

export interface AccessLogOptions {
  /** `ip:port` or `[ipv6]:port` (listen.accessLog): where HAProxy sends its lines. */
  readonly address: string;
  /** Where each line goes: ipx's standard output in production. */
  readonly out: Writable;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** How long proxy start and stop notices are gathered into one line; default 1 s. */
  readonly noticeWindowMs?: number;
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
export async function startAccessLog({ address, out, logger, noticeWindowMs = 1000 }: AccessLogOptions): Promise<AccessLogForwarder> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  const socket: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
  let count = 0;
  const proxyNotices = gatherProxyNotices(logger, noticeWindowMs);
  socket.on('message', (message) => {
    // HAProxy may end a raw line with a newline; exactly one is written.
    const line = message.toString('utf8').replace(/\n+$/, '');
    // The target only gets info-level messages, but HAProxy's own notices (a proxy stopping) are not access lines.
    if (!line.startsWith('{')) {
      if (proxyNotices.take(line)) return;
      return logger.info({ message: line.slice(0, 500) }, 'haproxy log message');
    }
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
        proxyNotices.flush();
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      })),
  };
}

const PROXY_NOTICE = /^Proxy (\S+) (started|stopped)\b/;

/**
 * HAProxy says "Proxy <name> started." and "Proxy <name> stopped (…)" for every
 * frontend and backend whenever a worker starts or finishes: 5,000 lines per
 * reload at 5,000 services. They are counted, and one line says how many a
 * worker started or stopped, naming one of them.
 */
function gatherProxyNotices(logger: Pick<Logger, 'info'>, windowMs: number): { take(line: string): boolean; flush(): void } {
  let counts = { started: 0, stopped: 0 };
  let examples = { started: '', stopped: '' };
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [event, proxies] of Object.entries(counts)) {
      if (proxies > 0) logger.info({ proxies, example: examples[event as keyof typeof examples] }, `haproxy: ${proxies} ${proxies === 1 ? 'proxy' : 'proxies'} ${event}`);
    }
    counts = { started: 0, stopped: 0 };
    examples = { started: '', stopped: '' };
  };
  return {
    take(line) {
      const notice = PROXY_NOTICE.exec(line);
      if (!notice) return false;
      const event = notice[2] as 'started' | 'stopped';
      counts[event] += 1;
      examples[event] ||= notice[1] as string;
      timer ??= setTimeout(flush, windowMs).unref();
      return true;
    },
    flush,
  };
}
