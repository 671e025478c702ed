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
 * Each switch lets the query it ends answer first (Slot.retire): no request is
 * cut short, so its connection is reused and the agent never sees one more.
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
  let switching = false;
  const names = (list: readonly string[]): void => {
    listed = true;
    options.onNames(list);
  };

  function followNodes(nodeNames: readonly string[]): void {
    if (options.views().follow(nodeNames)) return;
    // The nodes no longer fit: this query has just answered, so it ends at once.
    const old = nodes;
    void old?.retire().then(() => {
      if (nodes !== old) return;
      nodes = undefined;
      restartCatalog();
    });
  }

  function restartCatalog(): void {
    // Not a first index: with the views gone, the next registration scans.
    catalogIndex = 'views stopped';
    startCatalog();
  }

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
      if (!nodes && !switching) {
        // The catalog's query keeps listing until its call in flight answers (a registration, or consul.wait).
        switching = true;
        const old = catalog;
        void old?.retire().then(() => {
          switching = false;
          if (catalog !== old) return;
          // Its last answer may have found more nodes than fit, and the views stopped: it goes on instead.
          if (options.views().slots().length === 0) return restartCatalog();
          catalog = undefined;
          nodes = options.start(catalogNodesQuery(), followNodes);
        });
      }
      names(list);
    },
    slot: () => nodes ?? catalog,
    listed: () => listed,
  };
}
