/**
 * A minimal HTTP/1.1 client over one socket, for the load generator: node's
 * http client costs about twice the CPU per request, and on a 2-core
 * machine the generator's CPU is taken from the proxies it measures. It
 * understands what HAProxy and node send (Content-Length or chunked bodies,
 * `Connection: close`) and reports anything else as an error.
 */
import { connect, type Socket } from 'node:net';

export interface Outcome {
  readonly status?: number;
  /** Set when no complete response came back: a socket error code, `closed`, `timeout` or `bad-response`. */
  readonly error?: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

interface Pending {
  readonly resolve: (outcome: Outcome) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One connection that is reused while the server keeps it open (`keepAlive`),
 * or a new connection for every request (`Connection: close`).
 */
export class Http1Client {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;

  constructor(
    private readonly port: number,
    private readonly keepAlive: boolean,
    private readonly timeoutMs: number,
  ) {}

  request(host: string, extraHeaders: string): Promise<Outcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.fail('timeout'), this.timeoutMs);
      this.pending = { resolve, timer };
      const socket = this.socket ?? this.open();
      socket.write(`GET / HTTP/1.1\r\nhost: ${host}\r\n${extraHeaders}${this.keepAlive ? '' : 'connection: close\r\n'}\r\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (socket === this.socket) this.fail(err.code ?? err.message);
    });
    socket.on('close', () => {
      if (socket === this.socket) this.fail('closed');
    });
    this.socket = socket;
    return socket;
  }

  /** Completes the pending request once a whole response is buffered. */
  private parse(): void {
    const headEnd = this.buffer.indexOf(HEAD_END);
    if (headEnd < 0 || !this.pending) return;
    const head = this.buffer.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    let end: number;
    if (status === 204 || status === 304) end = headEnd + 4;
    else if (lengthMatch) end = headEnd + 4 + Number(lengthMatch[1]);
    else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
      const chunkedEnd = endOfChunks(this.buffer, headEnd + 4);
      if (chunkedEnd === undefined) return;
      if (chunkedEnd < 0) return this.fail('bad-response');
      end = chunkedEnd;
    } else return this.fail('bad-response');
    if (this.buffer.length < end) return;
    if (!head.startsWith('HTTP/1.') || !Number.isInteger(status)) return this.fail('bad-response');
    this.buffer = this.buffer.subarray(end);
    if (!this.keepAlive || /\r\nconnection:\s*close/.test(lower)) this.close();
    this.settle({ status });
  }

  private fail(error: string): void {
    this.close();
    this.settle({ error });
  }

  private settle(outcome: Outcome): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.resolve(outcome);
  }
}

/** Where a chunked body ends: undefined while incomplete, -1 when malformed. */
function endOfChunks(buffer: Buffer, start: number): number | undefined {
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(buffer.toString('latin1', at, lineEnd).split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) return -1;
    if (size === 0) {
      // No trailers are expected: the body ends with the empty line after the last chunk.
      const trailerEnd = buffer.indexOf('\r\n', lineEnd + 2);
      return trailerEnd < 0 ? undefined : trailerEnd + 2;
    }
    at = lineEnd + 2 + size + 2;
    if (at > buffer.length) return undefined;
  }
}
