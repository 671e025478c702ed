/**
 * Runs the aggregator as a child process and keeps it running: started on
 * the first model with a composite, given every applied model's composites,
 * started again (with the last state) when it dies.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IpxError } from '../errors.ts';
import type { ReplyMessage, StateMessage } from './messages.ts';
import type { Logger } from '../log.ts';

// Run from the sources (tsx) or from the bundle of them (scripts/bundle.mjs: dist/cli/main.mjs beside
// dist/composites/child.mjs): the child is taken the same way.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const CHILD = fileURLToPath(new URL(FROM_SOURCES ? '../composites/child.ts' : '../composites/child.mjs', import.meta.url));
const RESTART_MIN_MS = 200;
const RESTART_MAX_MS = 10_000;
const REPLY_TIMEOUT_MS = 10_000;

/** The aggregator process could not start or take a state. */
export class AggregatorError extends IpxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_AGGREGATOR', message, options);
  }
}

export class AggregatorSupervisor {
  private child: ChildProcess | undefined;
  private last: StateMessage | undefined;
  private stopped = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger) {}

  /** The aggregator's PID while it runs (tests stop it by PID). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends the state; resolves once the aggregator serves it, rejects with why not. */
  async update(message: StateMessage): Promise<void> {
    this.last = message;
    const child = this.child ?? this.spawn();
    await this.send(child, message);
    this.restarts = 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private spawn(): ChildProcess {
    const execArgv = FROM_SOURCES ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : ['--enable-source-maps'];
    const child = fork(CHILD, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.restarts++);
      this.logger.error({ code, signal, restartInMs: delay }, 'composites: the aggregator process exited; starting it again (other routes are not affected)');
      this.restartTimer = setTimeout(() => {
        if (this.stopped || !this.last) return;
        this.update(this.last).catch((err: unknown) => this.logger.error({ err: String(err) }, 'composites: restarting the aggregator failed'));
      }, delay);
    });
    return child;
  }

  private send(child: ChildProcess, message: StateMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (reply: ReplyMessage): void => {
        done();
        if (reply.type === 'ready') resolve();
        else reject(new AggregatorError(`composites: the aggregator could not serve on ${message.listen} (${reply.message}); is aggregator.listen free?`));
      };
      const onExit = (): void => {
        done();
        reject(new AggregatorError('composites: the aggregator process exited before serving; see its output above'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new AggregatorError(`composites: the aggregator did not answer within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(message);
    });
  }
}
