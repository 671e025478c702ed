import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errorMessage } from '../../errors.ts';
import { serverKey } from './live-vs-model.ts';
import { adminCommands } from './runtime-commands.ts';
import type { AdminCli } from './admin-cli.ts';
import type { ServerModel } from '../../model/types.ts';

export interface DrainerOptions {
  readonly admin: AdminCli;
  /** haproxy.drainTimeout: how long requests in flight may take before they are cut. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /**
   * Runs the last steps (maintenance, delete) one at a time with applies, so
   * that a server an apply is reusing is never deleted under it.
   */
  readonly exclusive: <T>(task: () => Promise<T>) => Promise<T>;
  readonly logger: Logger;
}

/**
 * Removes servers without cutting requests: drain, wait for their sessions
 * to end, then delete. Only sessions and queue are waited for: idle server
 * connections do not hold up `del server` (measured on 2.6.12: entering
 * maintenance closes them, a server with 10 idle connections was deleted at
 * the first try), so `pool-purge-delay` keeps its default.
 */
export interface Drainer {
  /**
   * Stops new requests to the server (a ready one goes to `drain`, one in
   * maintenance gets none already) and returns; the wait and `del server`
   * follow in the background.
   */
  start(backend: string, server: ServerModel): Promise<void>;
  /** Stops draining it so an apply can reuse it; true when it was draining. Call only inside `exclusive`. */
  cancel(backend: string, server: string): boolean;
  /** `backend/server` of each server draining now. */
  draining(): ReadonlySet<string>;
  /** After a reload or a start: the new worker does not have these servers. */
  forget(): void;
  /** Resolves once no drain is in progress. */
  idle(): Promise<void>;
}

interface Task {
  cancelled: boolean;
  done: Promise<void>;
}

const POLL_MS = 100;
/** After cutting sessions, how long `del server` may keep being refused before ipx gives up (a reload cleans up). */
const GIVE_UP_AFTER_CUT_MS = 5000;

export function createDrainer(options: DrainerOptions): Drainer {
  const { admin, logger } = options;
  const pollMs = options.pollMs ?? POLL_MS;
  const tasks = new Map<string, Task>();

  async function drain(backend: string, server: string, task: Task): Promise<void> {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const key = serverKey(backend, server);
    let cut = false;
    while (!task.cancelled) {
      await sleep(pollMs);
      if (task.cancelled) return;
      const load = await admin.serverLoad(backend).catch((err: unknown) => {
        logger.warn({ server: key, err: errorMessage(err) }, 'haproxy: drain could not read the server load; trying again');
        return undefined;
      });
      const now = Date.now();
      if (load !== undefined && !load.has(server)) return; // gone: a reload replaced the worker
      const current = load?.get(server);
      const empty = current !== undefined && current.sessions === 0 && current.queued === 0;
      if (!empty && now < deadline) continue;
      const finished = await options.exclusive(async () => {
        if (task.cancelled) return true;
        try {
          if (!empty && !cut) {
            logger.warn({ server: key, sessions: current?.sessions, drainTimeoutMs: options.timeoutMs }, 'haproxy: drain timed out; cutting the remaining sessions');
            await admin.run(adminCommands.shutdownSessions(backend, server));
            cut = true;
          }
          await admin.run(adminCommands.state(backend, server, 'maint'));
          const del = adminCommands.del(backend, server);
          if (del.ok(await admin.command(del.text))) {
            logger.info({ server: key, drainMs: Date.now() - started }, 'haproxy: drained and deleted server');
            return true;
          }
        } catch (err) {
          logger.warn({ server: key, err: errorMessage(err) }, 'haproxy: drain step failed; trying again');
        }
        if (Date.now() < deadline + GIVE_UP_AFTER_CUT_MS) return false;
        // Left in maintenance: it gets no traffic, and the next verify or reload removes it.
        logger.warn({ server: key }, 'haproxy: could not delete a drained server; it stays in maintenance until the next reload');
        return true;
      });
      if (finished) return;
    }
  }

  return {
    start: async (backend, server) => {
      const key = serverKey(backend, server.name);
      if (tasks.has(key)) return;
      // `drain` would take a server out of maintenance (measured: admin state 5 → 12), so one there stays there.
      if (server.state === 'ready') await admin.run(adminCommands.state(backend, server.name, 'drain'));
      const task: Task = { cancelled: false, done: Promise.resolve() };
      task.done = drain(backend, server.name, task).finally(() => {
        if (tasks.get(key) === task) tasks.delete(key);
      });
      tasks.set(key, task);
    },
    cancel: (backend, server) => {
      const key = serverKey(backend, server);
      const task = tasks.get(key);
      if (!task) return false;
      task.cancelled = true;
      tasks.delete(key);
      return true;
    },
    draining: () => new Set(tasks.keys()),
    forget: () => {
      for (const task of tasks.values()) task.cancelled = true;
      tasks.clear();
    },
    idle: async () => {
      while (tasks.size > 0) await Promise.all([...tasks.values()].map((task) => task.done));
    },
  };
}
