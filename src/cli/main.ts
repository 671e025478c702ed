import { processIo } from './io.ts';
import { runCli } from './run-cli.ts';

// Exit explicitly: keep-alive sockets to Consul must not hold a finished command open.
// (stdout/stderr to pipes and files are synchronous on Linux, so nothing is cut off.)
process.exit(await runCli(process.argv.slice(2), processIo()));
