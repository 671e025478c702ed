import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMasterCli } from '../../src/haproxy/index.ts';
import { createTestManager, testConfig, type TestManager } from '../helpers/haproxy.ts';
import { startBackend, type TestBackend } from '../helpers/http-backend.ts';
import { startLoad } from '../helpers/load.ts';
import { freePort } from '../helpers/ports.ts';

const RELOADS = 20;

describe('hitless reloads under load (real HAProxy)', () => {
  let t: TestManager;
  let backends: TestBackend[];
  let port: number;

  beforeAll(async () => {
    t = await createTestManager();
    [backends, port] = await Promise.all([Promise.all([startBackend('alpha'), startBackend('beta')]), freePort()]);
  });

  afterAll(async () => {
    await t?.cleanup();
    await Promise.all((backends ?? []).map((backend) => backend.close()));
  });

  it(`serves every request across ${RELOADS} reloads, keep-alive and new connections, and old workers stay bounded`, async () => {
    const config = (i: number) => testConfig({ runDir: t.runDir, port, backends, route: backends[i % 2]?.name, generation: i });
    expect((await t.manager.start({ rendered: config(0) })).action).toBe('start');

    const load = startLoad({ host: '127.0.0.1', port, hostHeader: 'default.test', keepAliveClients: 8, freshClients: 4, maxDurationMs: 40_000 });
    await sleep(300);
    // Samples old workers from the side, as an operator's `show proc` would.
    const cli = createMasterCli({ socketPath: join(t.runDir, 'master.sock') });
    const oldWorkers: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const proc = await cli.showProc({ waitMs: 3000 }).catch(() => undefined);
        if (proc) oldWorkers.push(proc.oldWorkers.length);
        await sleep(20);
      }
    })();
    const reloadMs: number[] = [];
    for (let i = 1; i <= RELOADS; i++) {
      const result = await t.manager.apply({ rendered: config(i) });
      expect(result.action).toBe('reload');
      reloadMs.push(result.reloadMs ?? -1);
      await sleep(100);
    }
    await sleep(300);
    sampling = false;
    await sampler;
    const result = await load.stop();
    await sleep(1000);
    const after = await t.manager.refresh();

    const sorted = [...reloadMs].sort((a, b) => a - b);
    console.log(
      [
        `${RELOADS} reloads: confirmed in min ${sorted[0]} / median ${sorted[Math.floor(sorted.length / 2)]} / max ${sorted.at(-1)} ms`,
        `load: ${result.requests} requests in ${result.durationMs} ms (${result.keepAliveRequests} keep-alive, ${result.freshRequests} new connections)`,
        `statuses ${JSON.stringify(result.statuses)}, errors ${JSON.stringify(result.errors)}, bodies ${JSON.stringify(result.bodies)}`,
        `old workers during the reloads: max ${Math.max(...oldWorkers)} over ${oldWorkers.length} samples (${oldWorkers.filter((n) => n > 0).length} non-zero); 1 s after the load stopped: ${after.oldWorkers.length}`,
      ].join('\n'),
    );
    expect(result.errorCount).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.requests).toBeGreaterThan(1000);
    expect(result.freshRequests).toBeGreaterThan(200);
    // Traffic followed the alternating route.
    expect(Object.keys(result.bodies).sort()).toEqual(['alpha', 'beta']);
    expect(Math.max(...oldWorkers)).toBeLessThanOrEqual(4);
    expect(after.oldWorkers.length).toBeLessThanOrEqual(2);
    expect(after.failedReloads).toBe(0);
  });
});
