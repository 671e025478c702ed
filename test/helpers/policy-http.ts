import http from 'node:http';

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface RequestInit {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

/** One request on a fresh connection to `base` (http://ip:port); rejects on socket errors. */
export function request(base: string, init: RequestInit = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${init.path ?? '/'}`, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false, timeout: init.timeoutMs ?? 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`${init.method ?? 'GET'} ${init.path ?? '/'} timed out`)));
    req.on('error', reject);
    req.end(init.body);
  });
}
