import { HaproxyRuntimeError } from '../../errors.ts';

/** One server of `show servers state` (format version 1), the fields ipx reads. */
export interface LiveServer {
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  readonly port: number;
  /** `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly opState: number;
  /** `srv_admin_state`, a mask; see MAINT_FLAGS and DRAIN_FLAGS. */
  readonly adminState: number;
  /** `srv_uweight`: the weight in force (set by the config or `set server … weight`). */
  readonly weight: number;
  /** The line as HAProxy printed it, to write back into a state file. */
  readonly line: string;
}

export interface ServersState {
  /** The first two lines (version and column names), which a state file must start with. */
  readonly header: string;
  readonly servers: readonly LiveServer[];
}

/**
 * Forced (0x01), inherited (0x02) and resolution (0x20) maintenance. Not
 * 0x04 (CMAINT, "disabled in the config"): measured on 2.6, a server keeps
 * that bit after `set server … state ready` and serves traffic.
 */
const MAINT_FLAGS = 0x01 | 0x02 | 0x20;
/** Forced (0x08) and inherited (0x10) drain. */
const DRAIN_FLAGS = 0x08 | 0x10;

/** What HAProxy accepts as a state file with no servers (an empty file draws a warning). */
export const EMPTY_SERVER_STATE = '1\n';

const COLUMNS = ['be_name', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_port'] as const;

/** Pure: parses `show servers state` output. Throws when it is not format version 1. */
export function parseServersState(text: string): ServersState {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  const [version = '', columnsLine = ''] = lines;
  if (version.trim() !== '1' || !columnsLine.startsWith('# ')) {
    throw new HaproxyRuntimeError(
      `haproxy: 'show servers state' answered ${JSON.stringify(text.slice(0, 120))}, not format version 1; is the admin socket an HAProxy 2.6 stats socket at level admin?`,
    );
  }
  const names = columnsLine.slice(2).trim().split(/\s+/);
  const at = Object.fromEntries(COLUMNS.map((column) => [column, names.indexOf(column)])) as Record<(typeof COLUMNS)[number], number>;
  const missing = COLUMNS.filter((column) => at[column] < 0);
  if (missing.length > 0) throw new HaproxyRuntimeError(`haproxy: 'show servers state' has no column ${missing.join(', ')}; HAProxy 2.6 or newer is required`);

  // Only the seven columns ipx reads are cut out of a line: at 50,000 servers, splitting every line
  // into its 25 fields made over a million strings per reload (measured: the reload's memory peak).
  const fieldsAt = fieldReader(COLUMNS.map((column) => at[column]));
  const servers: LiveServer[] = [];
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const found = fieldsAt(line);
    const field = (column: (typeof COLUMNS)[number]) => found.get(at[column]) ?? '';
    servers.push({
      backend: field('be_name'),
      server: field('srv_name'),
      address: field('srv_addr'),
      port: Number(field('srv_port')),
      opState: Number(field('srv_op_state')),
      adminState: Number(field('srv_admin_state')),
      weight: Number(field('srv_uweight')),
      line,
    });
  }
  return { header: `${version}\n${columnsLine}\n`, servers };
}

/** Reads the whitespace-separated fields of a line at the given positions (0-based), by position; none past its end. */
function fieldReader(positions: readonly number[]): (line: string) => Map<number, string> {
  const wanted = new Set(positions);
  const last = Math.max(...positions);
  return (line) => {
    const byPosition = new Map<number, string>();
    let field = 0;
    let i = 0;
    while (i < line.length && field <= last) {
      while (i < line.length && isSpace(line.charCodeAt(i))) i++;
      if (i >= line.length) break;
      const start = i;
      while (i < line.length && !isSpace(line.charCodeAt(i))) i++;
      if (wanted.has(field)) byPosition.set(field, line.slice(start, i));
      field++;
    }
    return byPosition;
  };
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 13;
}

export function isMaint(server: LiveServer): boolean {
  return (server.adminState & MAINT_FLAGS) !== 0;
}

export function isDraining(server: LiveServer): boolean {
  return (server.adminState & DRAIN_FLAGS) !== 0;
}
