/**
 * Request/answer over a worker's message port: the benchmark keeps backends
 * and the load generator in worker threads so they do not share an event
 * loop with ipx, and asks them for their state with these calls.
 */
import { parentPort, Worker } from 'node:worker_threads';

interface Call {
  readonly id: number;
  readonly op: string;
  readonly args: unknown;
}
type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

export type Handlers = Record<string, (args: never) => unknown>;

/** Worker side: answers each call with its handler's (awaited) value. */
export function serveCalls(handlers: Handlers): void {
  const port = parentPort;
  if (!port) throw new Error('bench: serveCalls runs inside a worker thread');
  port.on('message', (call: Call) => {
    void (async () => {
      const handler = handlers[call.op] as ((args: unknown) => unknown) | undefined;
      try {
        if (!handler) throw new Error(`bench: the worker has no operation '${call.op}'`);
        port.postMessage({ id: call.id, ok: true, value: await handler(call.args) } satisfies Reply);
      } catch (err) {
        port.postMessage({ id: call.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies Reply);
      }
    })();
  });
}

export interface WorkerClient {
  readonly worker: Worker;
  call<T>(op: string, args?: unknown): Promise<T>;
  terminate(): Promise<void>;
}

/**
 * Main side: starts `file` (a .ts module) in a worker thread and calls into it.
 * Node 20 does not hand the parent's `--import tsx` hooks to workers, so the
 * worker registers tsx itself before importing the module.
 */
export function startWorker(file: URL, workerData?: unknown): WorkerClient {
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsx}).then((api) => { api.register(); return import(${JSON.stringify(file.href)}); })`;
  const worker = new Worker(boot, { eval: true, workerData });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let failure: Error | undefined;
  const failAll = (err: Error) => {
    failure = err;
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(new Error(reply.error));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`bench: worker ${file.pathname} exited (${code})`)));
  return {
    worker,
    call: <T>(op: string, args?: unknown) =>
      new Promise<T>((resolve, reject) => {
        if (failure) return reject(failure);
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        worker.postMessage({ id, op, args } satisfies Call);
      }),
    terminate: async () => {
      await worker.terminate();
    },
  };
}
