import { parseDocument } from 'yaml';
import { errorMessage } from '../../errors.ts';
import { quoteForLog } from '../rejections.ts';
import { mergeLayers, type MergedPolicy } from './merge.ts';
import { META_KEY_TARGETS, metaDocument } from './meta.ts';
import { gatewayKv } from '../gateway/gateway-kv.ts';
import { parseLayer, type ParsedLayer, type PolicyIssue, type PolicyLayer } from './parse-layer.ts';
import type { PolicyDocumentInput } from './schema.ts';
import type { Rejection } from '../types.ts';
import type { InstanceEntry, KvEntry } from '../../consul/snapshot.ts';

/** What the config file says about policies (config schema `policies`); documents are parsed here, per key. */
export interface PolicyConfig {
  readonly defaults: unknown;
  readonly services: Readonly<Record<string, unknown>>;
}

export interface PolicyInput {
  readonly policies: PolicyConfig;
  /** `routing.balance`: the built-in balance, kept for configs written before `policies`. */
  readonly balance: string;
  readonly kvPrefix: string;
  /** KV entries within limits, any order. */
  readonly kv: readonly KvEntry[];
  /** `gateway.name`: its KV under `<kvPrefix>gateways/<name>/` is a layer above the shared KV; '' for none. */
  readonly gateway?: string;
}

/** Layers 1 to 3, parsed once for every service. */
export interface SharedLayers {
  readonly input: PolicyInput;
  readonly layers: readonly { readonly layer: PolicyLayer; readonly parsed: ParsedLayer }[];
  readonly kvServices: ReadonlyMap<string, KvEntry>;
  /** `<kvPrefix>gateways/<gateway.name>/services/<name>` by service name. */
  readonly gatewayServices: ReadonlyMap<string, KvEntry>;
  /** Issues of the shared layers: reported once, under "policy defaults". */
  readonly rejections: readonly Rejection[];
}

/** Built-in values: the HAProxy settings ipx always rendered in `defaults`, so a service without a policy behaves as before. */
export function builtInPolicy(balance: string): PolicyDocumentInput {
  return {
    balance,
    timeouts: { connect: '5s', server: '30s', queue: '5s' },
    retries: { attempts: 2, on: ['conn-failure'] },
    healthCheck: { interval: '2s', rise: 2, fall: 3 },
    protocol: 'http',
  };
}

export function prepareSharedLayers(input: PolicyInput): SharedLayers {
  const defaultsKey = `${input.kvPrefix}defaults`;
  const servicesPrefix = `${input.kvPrefix}services/`;
  const kvServices = new Map<string, KvEntry>();
  let kvDefaults: KvEntry | undefined;
  for (const entry of input.kv) {
    if (entry.key === defaultsKey) kvDefaults = entry;
    else if (entry.key.startsWith(servicesPrefix)) kvServices.set(entry.key.slice(servicesPrefix.length), entry);
  }
  const gateway = gatewayKv(input);
  const rejections: Rejection[] = [];
  const parsedKv = kvDefaults === undefined ? undefined : parseKvLayer('kv-defaults', kvDefaults);
  const layers = [
    { layer: 'built-in' as const, parsed: parseLayer('built-in', builtInPolicy(input.balance)) },
    { layer: 'file-defaults' as const, parsed: parseLayer('file-defaults', input.policies.defaults) },
    { layer: 'kv-defaults' as const, parsed: parsedKv ?? { document: {}, issues: [] } },
    { layer: 'kv-gateway-defaults' as const, parsed: gateway.defaults === undefined ? { document: {}, issues: [] } : parseKvLayer('kv-gateway-defaults', gateway.defaults) },
  ];
  for (const { parsed } of layers) {
    for (const issue of parsed.issues) rejections.push(policyRejection('policy defaults', issue, sourceOf(issue.layer, issue.layer === 'kv-gateway-defaults' ? (gateway.defaults?.key ?? '') : defaultsKey)));
  }
  return { input, layers, kvServices, gatewayServices: gateway.services, rejections };
}

export interface ResolvedPolicy extends MergedPolicy {
  readonly rejections: readonly Rejection[];
}

/** Layers 4 to 6 for one service on top of the shared ones. Pure. */
export function resolveServicePolicy(shared: SharedLayers, name: string, instances: readonly InstanceEntry[]): ResolvedPolicy {
  const subject = `policy of service ${quoteForLog(name)}`;
  const rejections: Rejection[] = [];
  const meta = metaDocument(instances);
  for (const d of meta.disagreements) rejections.push({ subject, reason: `instance meta: ${d.reason}`, layer: 'meta' });
  const metaLayer = parseLayer('meta', meta.document);
  const fileService = Object.hasOwn(shared.input.policies.services, name) ? shared.input.policies.services[name] : undefined;
  const kvEntry = shared.kvServices.get(name);
  const gatewayEntry = shared.gatewayServices.get(name);
  const own = [
    { layer: 'meta' as const, parsed: { document: metaLayer.document, issues: metaLayer.issues.map(metaKeyNamed) } },
    { layer: 'file-service' as const, parsed: parseLayer('file-service', fileService) },
    { layer: 'kv-service' as const, parsed: kvEntry === undefined ? { document: {}, issues: [] } : parseKvLayer('kv-service', kvEntry) },
    { layer: 'kv-gateway-service' as const, parsed: gatewayEntry === undefined ? { document: {}, issues: [] } : parseKvLayer('kv-gateway-service', gatewayEntry) },
  ];
  const kvKeys: Partial<Record<PolicyLayer, string>> = { 'kv-service': kvEntry?.key ?? '', 'kv-gateway-service': gatewayEntry?.key ?? '' };
  for (const { parsed } of own) {
    for (const issue of parsed.issues) {
      const kvKey = kvKeys[issue.layer];
      rejections.push(policyRejection(subject, issue, kvKey !== undefined ? `KV ${quoteForLog(kvKey)}` : sourceOf(issue.layer, '', name)));
    }
  }
  const merged = mergeLayers([...shared.layers, ...own].map(({ layer, parsed }) => ({ layer, document: parsed.document })));
  return { ...merged, rejections };
}

/** KV documents are JSON or YAML (YAML reads JSON too); an empty value is an empty document. */
function parseKvLayer(layer: 'kv-defaults' | 'kv-service' | 'kv-gateway-defaults' | 'kv-gateway-service', entry: KvEntry): ParsedLayer {
  if (entry.value.trim() === '') return { document: {}, issues: [] };
  let raw: unknown;
  try {
    // parseDocument rather than parse: YAML warnings (an unknown tag) must not reach ipx's stderr; errors are read from the document.
    const doc = parseDocument(entry.value, { prettyErrors: false, logLevel: 'silent' });
    if (doc.errors.length > 0) throw doc.errors[0];
    raw = doc.toJS({ maxAliasCount: 16 });
  } catch (err) {
    const first = errorMessage(err).split('\n')[0] ?? '';
    return { document: {}, issues: [{ layer, key: '(document)', reason: `is neither JSON nor YAML (${quoteForLog(first)}); fix the value in Consul KV` }] };
  }
  return parseLayer(layer, raw);
}

/** Meta issues name the meta key the team set, not only the document key. */
function metaKeyNamed(issue: PolicyIssue): PolicyIssue {
  const metaKeys = Object.entries(META_KEY_TARGETS)
    .filter(([, target]) => target === issue.key || target === issue.key.split('.')[0])
    .map(([key]) => key);
  return metaKeys.length === 0 ? issue : { ...issue, key: `${metaKeys.join('/')} (${issue.key})` };
}

function sourceOf(layer: PolicyLayer, kvKey: string, service?: string): string {
  switch (layer) {
    case 'built-in':
      return 'built-in defaults';
    case 'file-defaults':
      return 'config policies.defaults';
    case 'kv-defaults':
    case 'kv-gateway-defaults':
      return `KV ${quoteForLog(kvKey)}`;
    case 'meta':
      return 'instance meta';
    case 'file-service':
      return `config policies.services.${service ?? ''}`;
    case 'kv-service':
    case 'kv-gateway-service':
      return 'KV';
  }
}

function policyRejection(subject: string, issue: PolicyIssue, source: string): Rejection {
  return { subject, reason: `${source}: ${issue.key} ${issue.reason}; the lower layers' value applies`, layer: issue.layer };
}
