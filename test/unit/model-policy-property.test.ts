import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { BALANCE_ALGORITHMS, BALANCE_HEADER, HEADER_NAME, HEALTH_PATH, PATH_PREFIX, PROTOCOLS, RETRY_CONDITIONS, SERVICE_NAME, VERSION_LABEL } from '../../src/model/policy/schema.ts';
import { EMPTY_SERVER_STATE } from '../../src/haproxy/runtime/servers-state.ts';
import { CONFIG_FILE, render } from '../../src/render/render.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';
import { config } from '../helpers/model-fakes.ts';
import { GOLDEN_RUN_DIR } from '../helpers/render-inputs.ts';
import { policyDocument, policyKv, policyServices } from '../helpers/policy-arbitraries.ts';
import type { EffectivePolicy } from '../../src/model/policy/merge.ts';

const int = (value: unknown, min: number, max: number) => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

/** What the renderer may rely on, checked independently of the schema's own code paths. */
function expectSafe(policy: EffectivePolicy): void {
  expect((BALANCE_ALGORITHMS as readonly string[]).includes(policy.balance) || BALANCE_HEADER.test(policy.balance)).toBe(true);
  for (const ms of Object.values(policy.timeouts)) expect(int(ms, 1, 3_600_000)).toBe(true);
  expect(int(policy.retries.attempts, 0, 10)).toBe(true);
  for (const on of policy.retries.on) expect(RETRY_CONDITIONS).toContain(on);
  for (const value of Object.values(policy.circuitBreaker ?? {})) expect(int(value, 0, 3_600_000)).toBe(true);
  if (policy.healthCheck.path !== undefined) expect(policy.healthCheck.path).toMatch(HEALTH_PATH);
  for (const [label, share] of Object.entries(policy.versions?.split ?? {})) {
    expect(label).toMatch(VERSION_LABEL);
    expect(int(share, 0, 100)).toBe(true);
  }
  if (policy.versions?.pinHeader !== undefined) expect(policy.versions.pinHeader).toMatch(HEADER_NAME);
  if (policy.failover?.service !== undefined) expect(policy.failover.service).toMatch(SERVICE_NAME);
  for (const route of policy.routes ?? []) expect(route.pathPrefix).toMatch(PATH_PREFIX);
  expect(PROTOCOLS).toContain(policy.protocol);
  if (policy.tcpPort !== undefined) expect(int(policy.tcpPort, 1, 65535)).toBe(true);
}

describe('policy layers on hostile meta, KV and file documents', () => {
  it('hold only values within their grammar, report every rejection on one line, and never depend on input order', () => {
    fc.assert(
      fc.property(policyServices, policyKv(['web', 'api']), policyDocument, (services, kv, fileDoc) => {
        const cfg = config({ policies: { defaults: {}, services: { web: fileDoc } } });
        const model = buildModel({ snapshot: { services, kv }, config: cfg });
        for (const service of model.services) {
          expectSafe(service.policy);
          for (const key of Object.keys(service.policyOrigins)) expect(key).toMatch(/^[a-zA-Z]+(\.[a-zA-Z]+)?$/);
        }
        for (const r of model.rejections) expect(`${r.subject} ${r.reason}`).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        const reversed = { services: [...services].reverse().map((s) => ({ ...s, instances: [...s.instances].reverse() })), kv: [...kv].reverse() };
        expect(buildModel({ snapshot: reversed, config: cfg })).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });
});

const { templates, assets } = await loadRenderKit();

/** Every line a backend may hold once policies are rendered; anything else would be injected. */
const BACKEND_LINES = [
  /^backend svc_[a-z0-9-]+(\.[A-Za-z0-9][A-Za-z0-9._-]*)?$/,
  /^frontend tcp_[A-Za-z0-9-]+$/,
  /^ {4}mode tcp$/,
  /^ {4}no option idle-close-on-response$/,
  /^ {4}bind 127\.0\.0\.1:91\d\d$/,
  /^ {4}default_backend svc_[a-z0-9-]+$/,
  /^ {4}log-format '\{"type":"access","protocol":"tcp","ts":%Ts\.%ms,"service":"[A-Za-z0-9-]+","backend":"%b","instance":"%s","termination":"%ts","retries":"%rc","ms":\{"queue":%Tw,"connect":%Tc,"total":%Tt\},"bytes":\{"in":%U,"out":%B\}\}'$/,
  /^ {4}balance (roundrobin|leastconn|random|first|source|hdr\([A-Za-z][A-Za-z0-9-]*\))$/,
  /^ {4}http-request set-var\(txn\.ipx_(service|version)\) str\([A-Za-z0-9][A-Za-z0-9._-]*\)$/,
  /^ {4}hash-type consistent$/,
  /^ {4}timeout (connect|server|queue) \d+ms$/,
  /^ {4}http-request set-timeout server be_name,map_str_int\(timeouts-server\.map\)$/,
  /^ {4}retries \d+$/,
  /^ {4}retry-on( [a-z0-9-]+)+$/,
  /^ {4}http-request disable-l7-retry unless METH_GET or METH_HEAD or METH_OPTIONS or METH_PUT or METH_DELETE or METH_TRACE$/,
  /^ {4}option httpchk$/,
  /^ {4}http-check send meth GET uri '\/[A-Za-z0-9._~/?=&-]*'$/,
  /^ {4}http-check expect status 200-399$/,
  /^ {4}server [A-Za-z0-9._-]+ [0-9.]+:\d+ weight \d+( disabled)?( [a-z0-9][a-z0-9.-]*)*$/,
];

const PREFIX = '(/[A-Za-z0-9._~-]+)+';
const STRIP_LINE = new RegExp(
  `^ {4}http-request set-path %\\[path,regsub\\(\\^${PREFIX}/\\?,/\\)\\] if \\{ var\\(txn\\.ipx_route\\) -m str svc_[a-z0-9-]+ \\} \\{ path ${PREFIX} \\} \\|\\| \\{ var\\(txn\\.ipx_route\\) -m str svc_[a-z0-9-]+ \\} \\{ path_beg ${PREFIX}/ \\}$`,
);

describe('rendered policies from hostile meta and KV', () => {
  it('write only the lines the backend template makes, and haproxy -c accepts them without warnings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipx-policy-check-'));
    // As the manager does before every check: the rendered config loads this file.
    mkdirSync(GOLDEN_RUN_DIR, { recursive: true });
    writeFileSync(join(GOLDEN_RUN_DIR, 'server-state'), EMPTY_SERVER_STATE);
    let runs = 0;
    try {
      fc.assert(
        fc.property(policyServices, policyKv(['web', 'api']), policyDocument, (services, kv, fileDoc) => {
          const model = buildModel({ snapshot: { services, kv }, config: config({ policies: { defaults: {}, services: { api: fileDoc } } }) });
          const { files } = render({ model, templates, assets });
          const text = files[CONFIG_FILE] ?? '';
          const backends = text.slice(text.indexOf('\nbackend ') + 1).split('\n').filter((line) => line !== '');
          for (const line of backends) expect(BACKEND_LINES.some((re) => re.test(line)), line).toBe(true);
          for (const line of text.split('\n').filter((l) => l.includes('set-path'))) expect(line).toMatch(STRIP_LINE);
          for (const [name, content] of Object.entries(files).filter(([n]) => n.startsWith('routes-'))) {
            for (const line of content.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) expect(line, name).toMatch(/^(\/[A-Za-z0-9._~-]+)+\/? svc_[a-z0-9-]+$/);
          }
          // haproxy -c on a sample of the runs: each starts a process.
          if (runs++ % 10 !== 0) return;
          const run = mkdtempSync(join(dir, 'run-'));
          for (const [file, content] of Object.entries(files)) writeFileSync(join(run, file), content);
          const check = spawnSync(process.env.HAPROXY_BIN ?? 'haproxy', ['-c', '-f', join(run, CONFIG_FILE)], { encoding: 'utf8' });
          expect(check.status, check.stderr).toBe(0);
          expect(`${check.stdout}${check.stderr}`).not.toMatch(/\[(WARNING|ALERT)\]/);
        }),
        { numRuns: 200 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
