import { replaceMap } from './replace-map.ts';
import { adminCommands } from './runtime-commands.ts';
import type { AdminCli } from './admin-cli.ts';
import type { Drainer } from './drainer.ts';
import type { RuntimeOp } from '../plan/plan-apply.ts';

export interface RuntimeOpsDeps {
  readonly admin: AdminCli;
  readonly drainer: Drainer;
}

/**
 * Carries out a runtime plan in order through the admin socket. Servers are
 * dynamic (`add server` / `del server`), not pre-allocated slots; the
 * measurements behind that are at createHaproxyManager. Throws on the first
 * command HAProxy refuses; the caller falls back to a reload, which makes
 * the live state whatever the new config says.
 */
export async function runRuntimeOps(ops: readonly RuntimeOp[], { admin, drainer }: RuntimeOpsDeps): Promise<void> {
  for (const op of ops) {
    switch (op.kind) {
      case 'add': {
        const { backend, server } = op;
        if (drainer.cancel(backend, server.name)) {
          // The instance came back while its server drained: reuse the server rather than wait to delete it.
          await admin.run(adminCommands.addr(backend, server.name, server.address, server.port));
          await admin.run(adminCommands.weight(backend, server.name, server.weight));
          await admin.run(adminCommands.state(backend, server.name, server.state));
        } else {
          await admin.run(adminCommands.add(backend, server, op.keywords));
          if (/(^| )check( |$)/.test(op.keywords)) await admin.run(adminCommands.enableHealth(backend, server.name));
          if (server.state === 'ready') await admin.run(adminCommands.state(backend, server.name, 'ready'));
        }
        break;
      }
      case 'remove':
        await drainer.start(op.backend, op.server);
        break;
      case 'addr':
        await admin.run(adminCommands.addr(op.backend, op.server, op.address, op.port));
        break;
      case 'weight':
        await admin.run(adminCommands.weight(op.backend, op.server, op.weight));
        break;
      case 'state':
        await admin.run(adminCommands.state(op.backend, op.server, op.state));
        break;
      case 'map':
        await admin.run(adminCommands.setMap(op.map, op.key, op.value));
        break;
      case 'maxconn':
        await admin.run(adminCommands.maxconn(op.backend, op.server, op.maxconn));
        break;
      case 'replace-map':
        await replaceMap(admin, op.map, op.entries);
        break;
    }
  }
}
