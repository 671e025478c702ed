import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * `ipx dev` starts Consul on a free port; a second terminal's `ipx status`,
 * `ipx explain` or `ipx confirm` would otherwise knock on the default
 * 127.0.0.1:8500. So `ipx dev` leaves this file in its runDir, and the other
 * commands take it as the layer just above the defaults: anything the config
 * file, the environment or a flag sets still wins.
 */
export const DISCOVERY_FILE = 'ipx-dev.json';

export interface Discovery {
  /** The `ipx dev` process that wrote the file; a file whose writer is gone is ignored. */
  readonly pid: number;
  readonly consul: { readonly address: string };
  readonly listen: { readonly http: string; readonly stats: string; readonly admin: string };
}

export function discoveryPath(runDir: string): string {
  return path.join(runDir, DISCOVERY_FILE);
}

/** The layer the file gives, or undefined when there is none, it is unreadable, or its `ipx dev` has exited. */
export async function readDiscovery(runDir: string): Promise<{ file: string; layer: Record<string, Record<string, unknown>> } | undefined> {
  const file = discoveryPath(runDir);
  let data: Partial<Discovery>;
  try {
    data = JSON.parse(await readFile(file, 'utf8')) as Partial<Discovery>;
  } catch {
    return undefined;
  }
  if (typeof data.pid !== 'number' || !processAlive(data.pid)) return undefined;
  const layer: Record<string, Record<string, unknown>> = {};
  if (typeof data.consul?.address === 'string') layer.consul = { address: data.consul.address };
  const listen: Record<string, unknown> = {};
  for (const key of ['http', 'stats', 'admin'] as const) if (typeof data.listen?.[key] === 'string') listen[key] = data.listen[key];
  if (Object.keys(listen).length > 0) layer.listen = listen;
  return { file, layer };
}

export async function removeDiscovery(runDir: string): Promise<void> {
  await rm(discoveryPath(runDir), { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
