/**
 * Where the watcher's list of services comes from. By default the blocking
 * /v1/catalog/services, whose every new index also has the node views follow
 * the nodes, or has the nodes scanned when they do not fit (node-views.ts).
 *
 * /v1/catalog/services costs the agent a pass over every instance on each
 * registration (50-70 ms at 50,000 instances, measured on Consul 1.8.7), for
 * every gateway. While node views follow every node, their answers already
 * list the services, so the catalog's list gives way to a blocking
 * /v1/catalog/nodes, which wakes for nodes coming and going and answers in a
 * millisecond; when the nodes no longer fit, the catalog's list comes back.
 */
import type { NodeViews } from './node-views.ts';
import { catalogNodesQuery, catalogServicesQuery, type Query } from './query.ts';
import type { Slot } from './signal-slot.ts';

export interface CatalogSourceOptions {
  /** Starts a long-held query (the watcher's startView: with its failure and resync handling). */
  start(query: Query<readonly string[]>, onData: (names: readonly string[]) => void, onIndex?: (index: string) => void): Slot<readonly string[]>;
  readonly views: () => NodeViews;
  /** The services to watch, whichever source listed them. */
  onNames(names: readonly string[]): void;
}

export interface CatalogSource {
  start(): void;
  /** The node views' list of services (their onNames): from now on the list comes from them. */
  fromViews(names: readonly string[]): void;
  /** The query held now: catalog/services or catalog/nodes. */
  slot(): Slot<readonly string[]> | undefined;
  /** Whether a list of services has been had at all. */
  listed(): boolean;
}

export function createCatalogSource(options: CatalogSourceOptions): CatalogSource {
  let catalog: Slot<readonly string[]> | undefined;
  let nodes: Slot<readonly string[]> | undefined;
  let catalogIndex = '';
  let listed = false;
  const names = (list: readonly string[]): void => {
    listed = true;
    options.onNames(list);
  };

  function startCatalog(): void {
    catalog = options.start(catalogServicesQuery(), names, (index) => {
      // The list of names may stay the same while instances come and go: every new index
      // follows the nodes or scans them. Not the first: every service is read after it anyway.
      if (index === catalogIndex) return;
      const first = catalogIndex === '';
      catalogIndex = index;
      void options.views().refresh(first);
    });
  }

  return {
    start: startCatalog,
    fromViews(list) {
      if (!nodes) {
        catalog?.stop();
        catalog = undefined;
        nodes = options.start(catalogNodesQuery(), (nodeNames) => {
          if (options.views().follow(nodeNames)) return;
          nodes?.stop();
          nodes = undefined;
          // Not a first index: with the views gone, the next registration scans.
          catalogIndex = 'views stopped';
          startCatalog();
        });
      }
      names(list);
    },
    slot: () => nodes ?? catalog,
    listed: () => listed,
  };
}
