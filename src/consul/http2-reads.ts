/**
 * Reads over HTTP/2 from an agent reached over HTTPS. Consul's HTTPS port
 * speaks HTTP/2 with up to 250 concurrent streams per connection (Go's
 * default; measured on 1.8.7: ALPN "h2", 250 in its SETTINGS, 600 blocking
 * queries held on connections of 250, each woken by its own service's write).
 * So the watcher's blocking queries cost streams, not connections: a view per
 * node fits whatever the node count (node-views.ts), where HTTP/1.1 holds a
 * connection per query.
 *
 * At most `maxConnections` connections, streams spread over them (a new one
 * opens while each has a stream open); a stream waits here for room rather
 * than being queued unseen by Node beyond the agent's limit. An agent whose
 * HTTPS port does not speak HTTP/2 (it refuses ALPN "h2", or picks nothing)
 * turns these reads off for good, and the client reads over HTTP/1.1 instead.
 */
import http2 from 'node:http2';
import { ConsulError } from '../errors.ts';
import type { ReadOptions, ReadResult } from './client.ts';
import { toConsulError, type FailedRequest } from './request-error.ts';

export interface Http2Options {
  /** https://host:port */
  readonly origin: string;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly servername?: string; readonly rejectUnauthorized: boolean };
  readonly headers: Readonly<Record<string, string>>;
  readonly maxConnections: number;
}

export interface Http2Answer {
  readonly status: number;
  readonly index: string;
  readonly text: string;
}

export interface Http2Reads {
  /** undefined when the agent does not speak HTTP/2: read over HTTP/1.1 instead. Throws papi-shaped errors (request-error.ts). */
  get(pathAndQuery: string, options: { readonly signal?: AbortSignal; readonly timeout?: number }): Promise<Http2Answer | undefined>;
  /** Streams the agent allows per connection, once one has told; undefined before, and when HTTP/2 is off. */
  streamsPerConnection(): number | undefined;
  close(): void;
}

interface Connection {
  readonly session: http2.ClientHttp2Session;
  readonly ready: Promise<boolean>;
  active: number;
  /** Streams the agent allows on it: its SETTINGS, once they came. */
  limit: number;
}

/**
 * Flow-control window per stream and per connection: a node's answer is megabytes at thousands
 * of instances, and HTTP/2's default of 64 KiB would have the agent wait for window updates.
 */
const WINDOW = 16 * 1024 * 1024;
/** Streams a connection takes until its SETTINGS arrive: the least the HTTP/2 specification advises a server to allow. */
const STREAMS_BEFORE_SETTINGS = 100;
/** Most streams used on one connection, whatever an agent allows (Consul's Go server: 250); the watcher sizes its listeners by it. */
export const MAX_STREAMS_PER_CONNECTION = 1_000;

export function createHttp2Reads(options: Http2Options): Http2Reads {
  const connections: Connection[] = [];
  const waiting: Array<() => void> = [];
  let off = false;
  let streams: number | undefined;
  let closed = false;

  function connect(): Connection {
    const session = http2.connect(options.origin, { ...options.tls, ALPNProtocols: ['h2'], settings: { initialWindowSize: WINDOW } });
    session.once('connect', () => session.setLocalWindowSize(WINDOW));
    const connection: Connection = {
      session,
      active: 0,
      limit: STREAMS_BEFORE_SETTINGS,
      ready: new Promise<boolean>((resolve, reject) => {
        session.once('remoteSettings', () => resolve(true));
        session.once('connect', () => {
          // TLS went through but the agent chose no HTTP/2: its HTTPS port speaks HTTP/1.1 only.
          if (session.alpnProtocol !== 'h2') {
            off = true;
            session.destroy();
            resolve(false);
          }
        });
        const failed = (err: Error & { code?: string }): void => {
          // The agent offers no HTTP/2 (ALPN): its HTTPS port speaks HTTP/1.1 only.
          if (err.code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') {
            off = true;
            resolve(false);
          } else reject(err);
        };
        session.once('error', failed);
        // A TLS alert after the handshake (a client certificate the agent refuses) ends the socket
        // and the session with it, without an event of the session's own.
        session.socket.once('error', failed);
        session.once('close', () => reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
        session.socket.once('close', () => reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
      }),
    };
    connection.ready.catch(() => undefined);
    // Node's remoteSettings are empty before the handshake (measured: undefined, then 100 until the agent's 250 arrive).
    session.on('remoteSettings', (settings) => {
      connection.limit = Math.min(settings.maxConcurrentStreams ?? STREAMS_BEFORE_SETTINGS, MAX_STREAMS_PER_CONNECTION);
      streams = connection.limit;
    });
    const drop = (): void => {
      const at = connections.indexOf(connection);
      if (at >= 0) connections.splice(at, 1);
      wake();
    };
    session.on('close', drop);
    session.on('error', drop);
    session.on('goaway', drop);
    session.socket.on('close', drop);
    connections.push(connection);
    return connection;
  }

  function wake(): void {
    for (const resolve of waiting.splice(0)) resolve();
  }

  /**
   * The least busy connection with room for a stream, or a new one while every open one has a
   * stream in flight and the cap allows: a node's answer of megabytes then does not hold up the
   * small answers behind it on one TCP connection. undefined when HTTP/2 is off.
   */
  async function acquire(signal: AbortSignal | undefined): Promise<Connection | undefined> {
    for (;;) {
      if (off || closed) return undefined;
      let open: Connection | undefined;
      for (const c of connections) if (!c.session.destroyed && c.active < c.limit && (!open || c.active < open.active)) open = c;
      const spare = connections.length < options.maxConnections;
      const connection = open && (open.active === 0 || !spare) ? open : spare ? connect() : undefined;
      if (connection) {
        connection.active += 1;
        try {
          if (await connection.ready) return connection;
        } catch (err) {
          connection.active -= 1;
          throw err;
        }
        connection.active -= 1;
        return undefined;
      }
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { isAbort: true });
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }

  return {
    async get(pathAndQuery, { signal, timeout }) {
      const connection = await acquire(signal);
      if (!connection) return undefined;
      connection.session.ref();
      try {
        return await exchange(connection.session, pathAndQuery, options.headers, signal, timeout);
      } finally {
        connection.active -= 1;
        // An idle connection does not keep the process alive (as Node's agents do with idle sockets).
        if (connection.active === 0 && !connection.session.destroyed) connection.session.unref();
        wake();
      }
    },
    streamsPerConnection: () => (off ? undefined : streams),
    close() {
      closed = true;
      for (const connection of connections.splice(0)) connection.session.close();
      wake();
    },
  };
}

function exchange(session: http2.ClientHttp2Session, pathAndQuery: string, headers: Readonly<Record<string, string>>, signal: AbortSignal | undefined, timeout: number | undefined): Promise<Http2Answer> {
  return new Promise<Http2Answer>((resolve, reject) => {
    if (signal?.aborted) return reject(Object.assign(new Error('aborted'), { isAbort: true }));
    if (session.destroyed || session.closed) return reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const stream = session.request({ ':method': 'GET', ':path': pathAndQuery, ...headers });
    let status = 0;
    let index = '';
    const chunks: Buffer[] = [];
    const timer = timeout ? setTimeout(() => fail(Object.assign(new Error('timeout'), { isTimeout: true })), timeout) : undefined;
    const onAbort = (): void => fail(Object.assign(new Error('aborted'), { isAbort: true }));
    signal?.addEventListener('abort', onAbort, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    function fail(err: Error): void {
      done();
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(err);
    }
    stream.on('response', (answer) => {
      status = Number(answer[':status']);
      const value = answer['x-consul-index'];
      index = typeof value === 'string' ? value : '';
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      done();
      resolve({ status, index, text: Buffer.concat(chunks).toString('utf8') });
    });
    stream.on('error', (err) => {
      done();
      reject(err);
    });
    stream.on('close', () => {
      // Closed without an end: the connection went away under it.
      if (status === 0) fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    });
    stream.end();
  });
}

/**
 * One read over HTTP/2, answered as node-consul answers it: the body parsed, and for a KV
 * prefix (read recursively) the values decoded from base64 and an empty prefix (404) as no body;
 * undefined when the agent does not speak HTTP/2.
 */
export async function readOverHttp2(
  h2: Http2Reads,
  request: FailedRequest,
  options: ReadOptions,
  query: Readonly<Record<string, string>>,
  kv?: { readonly prefix: string },
): Promise<ReadResult | undefined> {
  if (options.signal?.aborted) throw new ConsulError(`consul: ${request.method} ${request.path} not sent; the watch was stopped`);
  const search = new URLSearchParams({ ...query, ...(kv ? { recurse: '' } : {}) }).toString();
  // The message names the prefix as configured; on the wire each segment is escaped.
  const path = kv ? `/v1/kv/${kv.prefix.split('/').map(encodeURIComponent).join('/')}` : request.path;
  let answer;
  try {
    answer = await h2.get(`${path}${search ? `?${search}` : ''}`, options);
  } catch (err) {
    throw toConsulError(err, request, options.timeout);
  }
  if (!answer) return undefined;
  if (kv && answer.status === 404) return { body: undefined, index: answer.index };
  if (answer.status < 200 || answer.status > 299) {
    throw toConsulError(Object.assign(new Error(answer.text.trim() || `HTTP ${answer.status}`), { isResponse: true, response: { statusCode: answer.status } }), request);
  }
  const body = parseBody(answer.text);
  return { body: kv && Array.isArray(body) ? body.map(decodeKvValue) : body, index: answer.index };
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function decodeKvValue(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || typeof (entry as { Value?: unknown }).Value !== 'string') return entry;
  return { ...entry, Value: Buffer.from((entry as { Value: string }).Value, 'base64').toString('utf8') };
}
