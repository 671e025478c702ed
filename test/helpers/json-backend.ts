import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { listenLoopback } from './http.ts';

/** What a scripted backend answers to one request. */
export interface Reply {
  readonly status?: number;
  readonly body: unknown;
  /** Sent as is when a string; default application/json for objects. */
  readonly contentType?: string;
  readonly delayMs?: number;
}

export interface SeenRequest {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** An upstream whose answers a test scripts and changes while it runs; it records what it was sent. */
export interface ScriptedBackend {
  readonly port: number;
  readonly seen: SeenRequest[];
  /** Replaces how it answers from now on. */
  answer(reply: (url: string) => Reply): void;
  close(): Promise<void>;
}

export async function startScriptedBackend(reply: (url: string) => Reply): Promise<ScriptedBackend> {
  let current = reply;
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    seen.push({ url: req.url ?? '', headers: req.headers });
    const { status = 200, body, contentType, delayMs = 0 } = current(req.url ?? '');
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const timer = setTimeout(() => {
      res.writeHead(status, { 'content-type': contentType ?? (typeof body === 'string' ? 'text/plain' : 'application/json') });
      res.end(text);
    }, delayMs);
    res.on('close', () => clearTimeout(timer));
  });
  const port = await listenLoopback(server);
  return {
    port,
    seen,
    answer: (next) => (current = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
