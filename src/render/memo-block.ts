import type Handlebars from 'handlebars';

/**
 * `{{#memo}}…{{/memo}}` inside `{{#each services}}`: the block's text for a
 * service is kept and written again while the service is the same object and
 * nothing else the block can read changed. At thousands of services a change
 * touches one backend, yet rendering every backend again is most of a render
 * (profiled at 5,000 services); the model memo keeps unchanged services the
 * same objects (model/model-memo.ts). Models are immutable, so this changes no
 * output: a block may read its service, `@index`/`@first`/`@last` (part of the
 * key) and anything else in the context, whose JSON (all but `services`) is
 * compared once per render; a difference empties the memo.
 *
 * `{{#memo @root.global @root.timeoutsMap}}` names what else the block reads:
 * then only those values are compared. Without it a new service empties the
 * memo (its route is in the context) and the reload it causes renders every
 * backend again (measured at 5,000 services: 250 ms and about 100 MB of
 * garbage at the reload, the process's memory peak).
 */
export function registerMemoBlock(hb: typeof Handlebars): void {
  let root: unknown;
  let fingerprint: string | undefined;
  let texts = new WeakMap<object, { readonly position: string; readonly text: string }>();
  // Handlebars passes the block's arguments first and its options last.
  hb.registerHelper('memo', function (this: unknown, ...args: unknown[]) {
    const options = args.pop() as Handlebars.HelperOptions;
    if (typeof this !== 'object' || this === null) return options.fn(this);
    const data = (options.data ?? {}) as { root?: unknown; index?: number; first?: boolean; last?: boolean };
    if (data.root !== root) {
      root = data.root;
      // The named values come from @root, so they are the same for every service of one render.
      const next = args.length > 0 ? JSON.stringify(args) : fingerprintOf(root);
      if (next !== fingerprint) texts = new WeakMap();
      fingerprint = next;
    }
    const position = `${data.index}/${data.first}/${data.last}`;
    const known = texts.get(this);
    if (known?.position === position) return known.text;
    const text = flatten(options.fn(this));
    texts.set(this, { position, text });
    return text;
  });
}

/**
 * One flat string instead of the rope of thousands of pieces a block renders to.
 * Slicing makes V8 flatten the rope; a kept rope held its pieces (measured at
 * 5,000 services: 478,000 rope nodes, 15 MB, in the heap at rest), and hashing
 * the whole configuration walked them on every render.
 */
function flatten(text: string): string {
  return (` ${text}`).slice(1);
}

function fingerprintOf(root: unknown): string {
  if (typeof root !== 'object' || root === null) return JSON.stringify(root);
  return JSON.stringify(Object.entries(root).filter(([key]) => key !== 'services'));
}
