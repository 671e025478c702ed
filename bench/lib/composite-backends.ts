/**
 * The parts' upstreams for bench/composite.ts, in a process of their own so
 * that their CPU is not counted against either engine. `/d/<ms>/…` answers
 * JSON after <ms>; `/hang/…` never answers. Prints its port on stdout.
 */
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  req.resume();
  const url = req.url ?? '/';
  if (url.startsWith('/hang/')) return;
  const delay = Number(/^\/d\/(\d+)\//.exec(url)?.[1] ?? 0);
  const body = JSON.stringify({ url, items: [1, 2, 3], note: 'a part answer of a typical size' });
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }, delay);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${address && typeof address === 'object' ? address.port : 0}\n`);
});
process.on('disconnect', () => process.exit(0));
