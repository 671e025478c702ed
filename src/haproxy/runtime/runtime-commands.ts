import { helpers } from '../../render/helpers.ts';
import type { ServerModel } from '../../model/types.ts';

/**
 * Runtime API commands, built from model values through the same encoders as
 * the templates (render/helpers.ts): a `;` or a newline in a command would
 * run another one, so nothing reaches the socket unchecked.
 */
export interface AdminCommand {
  readonly text: string;
  /** Whether HAProxy's answer means it worked; 2.6 answers errors as plain text. */
  readonly ok: (answer: string) => boolean;
}

/**
 * What every runtime-added server gets besides address and weight. Measured
 * on 2.6.12: `add server` leaves a server without an idle-connection pool
 * (1,200 keep-alive requests opened 1,200 upstream connections; a config
 * server reused 5), and `default-server` is not inherited. These are the
 * config defaults, so a server behaves the same before and after a reload.
 */
export const DYNAMIC_SERVER_KEYWORDS = 'pool-max-conn -1 pool-purge-delay 5s';

export type AdminState = 'ready' | 'maint' | 'drain';

const MAP_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*\.map$/;
const MAP_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const silent = (answer: string) => answer.trim() === '';
const target = (backend: string, server: string) => `${helpers.ident(backend)}/${helpers.ident(server)}`;

export const adminCommands = {
  /**
   * Created in maintenance (HAProxy's rule); `state ready` puts it in service.
   * `keywords` are the service's policy (checks, limits, ejection), as on its config lines.
   */
  add(backend: string, server: ServerModel, keywords = ''): AdminCommand {
    const text = `add server ${target(backend, server.name)} ${helpers.addr(server.address, server.port)} weight ${helpers.int(server.weight)} ${DYNAMIC_SERVER_KEYWORDS}${helpers.keywords(keywords)}`;
    return { text, ok: (answer) => /New server registered/.test(answer) };
  },
  state(backend: string, server: string, state: AdminState): AdminCommand {
    if (!['ready', 'maint', 'drain'].includes(state)) throw new Error(`state: ${JSON.stringify(state)} is not ready, maint or drain`);
    return { text: `set server ${target(backend, server)} state ${state}`, ok: silent };
  },
  weight(backend: string, server: string, weight: number): AdminCommand {
    return { text: `set server ${target(backend, server)} weight ${helpers.int(weight)}`, ok: silent };
  },
  /** HAProxy answers what it changed, or "no need to change" for either part. */
  addr(backend: string, server: string, address: string, port: number): AdminCommand {
    const [ip, portText] = splitAddr(helpers.addr(address, port));
    return { text: `set server ${target(backend, server)} addr ${ip} port ${portText}`, ok: (answer) => /changed from|no need to change/.test(answer) };
  },
  /** Refused unless the server is in maintenance with no connection and an empty queue. */
  del(backend: string, server: string): AdminCommand {
    return { text: `del server ${target(backend, server)}`, ok: (answer) => /Server deleted/.test(answer) };
  },
  /** A runtime-added server's checks start disabled (HAProxy's rule). */
  enableHealth(backend: string, server: string): AdminCommand {
    return { text: `enable health ${target(backend, server)}`, ok: silent };
  },
  /** One entry of a map file the config loaded (the version split): key and value are plain words. */
  setMap(map: string, key: string, value: string): AdminCommand {
    if (!MAP_FILE.test(map)) throw new Error(`setMap: ${JSON.stringify(map)} is not a map file name`);
    if (!MAP_KEY.test(key)) throw new Error(`setMap: key ${JSON.stringify(key)} is not a plain word`);
    return { text: `set map ${map} ${key} ${helpers.ident(value)}`, ok: silent };
  },
  /** A server's concurrency limit (circuitBreaker.maxConnsPerInstance); 0 lifts it. */
  maxconn(backend: string, server: string, maxconn: number): AdminCommand {
    return { text: `set maxconn server ${target(backend, server)} ${helpers.int(maxconn)}`, ok: silent };
  },
  shutdownSessions(backend: string, server: string): AdminCommand {
    return { text: `shutdown sessions server ${target(backend, server)}`, ok: silent };
  },
};

/** `10.0.0.1:80` or `[2001:db8::1]:80` → the bare IP and the port, as `set server … addr` takes them. */
function splitAddr(addr: string): [string, string] {
  const at = addr.lastIndexOf(':');
  return [addr.slice(0, at).replace(/^\[|\]$/g, ''), addr.slice(at + 1)];
}
