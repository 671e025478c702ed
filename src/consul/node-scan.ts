/**
 * The instance signal: every node's instances with their ModifyIndex
 * (GET /v1/catalog/nodes, then GET /v1/catalog/node/<node> for each, through
 * the read pool). It runs when /v1/catalog/services wakes, which tells that a
 * registration happened somewhere but not to which service. One scan at a
 * time; triggers during a scan coalesce into one more scan after it.
 */
import type { ConsulError } from '../errors.ts';
import { asConsulError, backoffDelay } from './blocking-view.ts';
import { nodeNamesOf, type InstanceSignal } from './change-signals.ts';
import { createInstanceScan } from './node-instances.ts';
import type { ReadPool } from './read-pool.ts';

export const NODE_SCAN_KEY = 'catalog.node-scan';

/**
 * Node reads of one scan in flight at once. Each answer is megabytes at thousands of
 * services; two keep the agent busy without holding many of them in memory.
 */
const NODES_AT_ONCE = 2;

export interface NodeScanOptions extends ReadPool {
  onScan(signal: InstanceSignal): void;
  /** A scan went through, after `failures` failed ones in a row. */
  onSuccess(failures: number): void;
  onError(error: ConsulError, attempt: number): void;
}

export interface NodeScan {
  trigger(): void;
  /** Resolves when no scan runs. */
  readonly done: () => Promise<void>;
  /** When the scans began failing, while they fail. */
  readonly failingSince: () => number | undefined;
}

export function createNodeScan(options: NodeScanOptions): NodeScan {
  const { client, limit, signal, timing, effects } = options;
  let wanted = false;
  let running: Promise<void> | undefined;
  let failingSince: number | undefined;

  async function scanOnce(): Promise<InstanceSignal> {
    const read = { index: '0', signal, timeout: options.timeoutMs } as const;
    const nodes = nodeNamesOf((await limit(() => client.catalogNodes(read))).body);
    const scan = createInstanceScan();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < nodes.length && !signal.aborted) {
        const node = nodes[next++] as string;
        scan.add(await limit(() => client.catalogNode(node, read)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(NODES_AT_ONCE, nodes.length) }, worker));
    return scan.finish();
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (wanted && !signal.aborted) {
      wanted = false;
      try {
        const scanned = await scanOnce();
        if (signal.aborted) return;
        options.onSuccess(failures);
        failures = 0;
        failingSince = undefined;
        options.onScan(scanned);
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        failingSince ??= effects.now();
        options.onError(asConsulError(err, NODE_SCAN_KEY), failures);
        wanted = true;
        await effects.sleep(backoffDelay(failures, timing, effects.random()), signal);
      }
    }
  }

  function trigger(): void {
    wanted = true;
    running ??= loop().finally(() => {
      running = undefined;
      // A trigger that came as the loop was ending.
      if (wanted && !signal.aborted) trigger();
    });
  }

  return { trigger, done: () => running ?? Promise.resolve(), failingSince: () => failingSince };
}
