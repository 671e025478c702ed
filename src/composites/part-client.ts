/**
 * One part, called back through HAProxy's own frontend with the service's
 * Host, so that the part gets the service's policies (versions, retries,
 * breaker, limits) and the caller's identity, as a direct request would.
 */
import http from 'node:http';

export interface PartRequest {
  /** HAProxy's frontend: host and port to connect to. */
  readonly gateway: { readonly host: string; readonly port: number };
  readonly host: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly agent: http.Agent;
  /** Aborts the call (the composite's deadline). */
  readonly signal: AbortSignal;
}

export type PartResponse =
  | { readonly ok: true; readonly status: number; readonly headers: http.IncomingHttpHeaders; readonly body: unknown }
  | { readonly ok: false; readonly status: number; readonly error: PartError; readonly headers?: http.IncomingHttpHeaders; readonly body?: unknown };

/** Why a part has no usable answer; the status is the one reported for it. */
export type PartError = 'timeout' | 'unreachable' | 'part_too_large' | 'upstream_status';

export function callPart(request: PartRequest): Promise<PartResponse> {
  return new Promise((resolve) => {
    let settled = false;
    // `cut`: the answer is not (fully) read, so the connection cannot be reused; a complete one goes back to the pool.
    const finish = (response: PartResponse, cut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
      if (cut) req.destroy();
      resolve(response);
    };
    const timedOut = (): void => finish({ ok: false, status: 504, error: 'timeout' }, true);
    const onAbort = timedOut;
    const timer = setTimeout(timedOut, request.timeoutMs);
    request.signal.addEventListener('abort', onAbort, { once: true });

    const req = http.request(
      {
        host: request.gateway.host,
        port: request.gateway.port,
        method: 'GET',
        path: request.path,
        headers: { ...request.headers, host: request.host, accept: 'application/json' },
        agent: request.agent,
      },
      (res) => {
        const status = res.statusCode ?? 502;
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > request.maxBodyBytes) return finish({ ok: false, status: 502, error: 'part_too_large' }, true);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxBodyBytes) return finish({ ok: false, status: 502, error: 'part_too_large' }, true);
          chunks.push(chunk);
        });
        res.on('end', () => {
          const body = decodeBody(Buffer.concat(chunks), res.headers['content-type']);
          if (status >= 200 && status < 300) finish({ ok: true, status, headers: res.headers, body }, false);
          else finish({ ok: false, status, error: 'upstream_status', headers: res.headers, body }, false);
        });
        res.on('error', () => finish({ ok: false, status: 502, error: 'unreachable' }, true));
      },
    );
    req.on('error', () => finish({ ok: false, status: 502, error: 'unreachable' }, true));
    req.end();
    if (request.signal.aborted) timedOut();
  });
}

/** JSON when the part says so and it parses; otherwise the text as a string; nothing is null. */
export function decodeBody(bytes: Buffer, contentType: string | undefined): unknown {
  if (bytes.length === 0) return null;
  const text = bytes.toString('utf8');
  if (!/\bjson\b/i.test(contentType ?? '')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
