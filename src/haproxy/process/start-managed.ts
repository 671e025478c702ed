import { HaproxyRuntimeError } from '../../errors.ts';
import { bindAddressesOf, bindTargets } from '../check/bind-addresses.ts';
import { checkBindable } from '../check/check-bindable.ts';
import { readIfExists } from '../files/stage-files.ts';
import { MAIN_CONFIG, type RenderedConfig } from '../types.ts';
import { startHaproxy, type HaproxyProcess } from './process.ts';
import type { RunDirLayout } from '../files/run-dir.ts';
import type { Config } from '../../config/index.ts';

/** `listen` by key (`{ http: '127.0.0.1:8080' }`), so that a port in use is reported as `listen.http`. */
type ListenKeys = Readonly<Record<string, string>> | undefined;

/**
 * A bind that fails at reload pauses every listener (HAPROXY-2.6.md): an
 * address the live config does not hold yet (a new TCP service port) is
 * tried first, and a busy one fails the apply while the live config serves on.
 */
export async function checkNewBinds(layout: RunDirLayout, listen: ListenKeys, rendered: RenderedConfig): Promise<void> {
  const live = new Set(bindAddressesOf((await readIfExists(layout.config)) ?? ''));
  const added = bindAddressesOf(rendered.files[MAIN_CONFIG] ?? '').filter((address) => !live.has(address));
  if (added.length > 0) await checkBindable(bindTargets(added, listen));
}

/** Starts a managed HAProxy on the config in runDir, once its binds are known to be free. */
export async function startManaged(config: Config['haproxy'], layout: RunDirLayout, listen: ListenKeys): Promise<HaproxyProcess> {
  if (!config.manage) throw new HaproxyRuntimeError(`haproxy: the master on ${layout.masterSocket} is gone and haproxy.manage is false; restart it where it is managed`);
  const text = (await readIfExists(layout.config)) ?? '';
  await checkBindable(bindTargets(bindAddressesOf(text), listen));
  return startHaproxy({
    binary: config.binary,
    runDir: layout.dir,
    configFile: layout.config,
    masterSocket: layout.masterSocket,
    socketGroup: config.socketGroup,
    pidFile: layout.pidFile,
    logFile: layout.logFile,
    startTimeoutMs: config.reloadTimeout,
  });
}
