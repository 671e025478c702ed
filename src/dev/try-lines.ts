import { DEMO_CALLER, DEMO_KEY_HEADER, DEMO_PIN_HEADER, DEMO_RATE, DEMO_ROUTE } from './demo-gateway.ts';

export interface TryLinesInput {
  readonly domain: string;
  readonly listen: { readonly http: string; readonly stats: string; readonly admin: string };
  readonly kvPrefix: string;
  readonly apiKey: string;
}

/** The curl lines `ipx dev` prints, grouped, one comment per group; each runs as printed in a POSIX shell. */
export function tryLines({ domain, listen, kvPrefix, apiKey }: TryLinesInput): string[] {
  const url = `http://${listen.http}/`;
  const host = (service: string): string => `-H 'Host: ${service}.${domain}'`;
  const key = `-H '${DEMO_KEY_HEADER}: ${apiKey}'`;
  const period = DEMO_RATE.per === 'm' ? 'minute' : DEMO_RATE.per === 'h' ? 'hour' : 'second';
  return [
    `# routing by Host: <service>.${domain} goes to that Consul service's healthy instances`,
    `curl ${host('world')} ${url}`,
    `curl ${host('nosuch')} ${url}     # 404 {"error":"unknown_service",...}`,
    '',
    `# a version split (KV ${kvPrefix}services/hello): 90 % to v1 (hello-1), 10 % to v2 (hello-2); ${DEMO_PIN_HEADER} pins one`,
    `for i in $(seq 100); do curl -s ${host('hello')} ${url}; done | grep -o '"version":"v[12]"' | sort | uniq -c`,
    `curl ${host('hello')} -H '${DEMO_PIN_HEADER}: v2' ${url}     # always v2`,
    '',
    `# a path route (KV ${kvPrefix}services/world): ${DEMO_ROUTE}/... on any other Host goes to world, prefix stripped`,
    `curl http://${listen.http}${DEMO_ROUTE}/hi     # world answers "path":"/hi"`,
    '',
    `# an API key (its SHA-256 in KV ${kvPrefix}apikeys/${DEMO_CALLER}): orders needs a caller (KV ${kvPrefix}services/orders)`,
    `curl ${host('orders')} ${key} ${url}     # 200, "caller":"${DEMO_CALLER}"`,
    `curl ${host('orders')} ${url}     # 401 {"error":"unauthenticated",...}`,
    '',
    `# a rate limit: ${DEMO_RATE.count} requests a ${period} per caller on orders, then 429 with Retry-After`,
    `for i in $(seq ${DEMO_RATE.count + 2}); do curl -s -o /dev/null -D - ${host('orders')} ${key} ${url} | grep -iE '^(HTTP|retry-after)'; done`,
    '',
    '# HAProxy and ipx themselves',
    `curl http://${listen.stats}/metrics    # HAProxy's Prometheus metrics`,
    `curl http://${listen.admin}/status     # ipx's own state (also /readyz, /metrics)`,
  ];
}
