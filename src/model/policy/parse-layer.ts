import { isPolicyGroup, policySchema, type PolicyDocument } from './schema.ts';
import { quoteForLog } from '../rejections.ts';
import type { z } from 'zod';

/** Where a value came from, lowest first (POLICIES.md "Where a policy comes from"). */
export const POLICY_LAYERS = ['built-in', 'file-defaults', 'kv-defaults', 'kv-gateway-defaults', 'meta', 'file-service', 'kv-service', 'kv-gateway-service'] as const;
export type PolicyLayer = (typeof POLICY_LAYERS)[number];

/** One key of one layer that could not be used; lower layers still apply for it. */
export interface PolicyIssue {
  readonly layer: PolicyLayer;
  /** Dotted document key (`timeouts.server`), `(document)` for the whole layer. */
  readonly key: string;
  readonly reason: string;
}

export interface ParsedLayer {
  readonly document: PolicyDocument;
  readonly issues: readonly PolicyIssue[];
}

const WHOLE = '(document)';
/** A key written as it is in reports; any other is quoted (it may hold line breaks). */
const PLAIN_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses one layer's document with the policy schema, dropping each invalid
 * key (a group's sub-key where the fault lies inside a group) until the rest
 * parses: a typo in one key never costs the others. Pure.
 */
export function parseLayer(layer: PolicyLayer, raw: unknown): ParsedLayer {
  if (raw === undefined || raw === null) return { document: {}, issues: [] };
  if (!isPlainObject(raw)) return { document: {}, issues: [{ layer, key: WHOLE, reason: 'a policy document must be a mapping of keys such as balance or timeouts' }] };
  const input = cloneTwoLevels(raw);
  const issues: PolicyIssue[] = [];
  // Each round drops at least one key, so this ends within the number of keys (plus one round to succeed).
  for (;;) {
    const result = policySchema.safeParse(input);
    if (result.success) return { document: result.data, issues };
    const dropped = result.error.issues.map((issue) => dropFaultyKey(input, issue)).filter((d): d is Omit<PolicyIssue, 'layer'> => d !== undefined);
    if (dropped.length === 0) return { document: {}, issues: [...issues, { layer, key: WHOLE, reason: 'could not be parsed' }] };
    for (const d of dropped) issues.push({ layer, ...d });
  }
}

/** Removes the key an issue points at (a whole top-level key, or one sub-key of a group); undefined when already gone. */
function dropFaultyKey(input: Record<string, unknown>, issue: z.core.$ZodIssue): Omit<PolicyIssue, 'layer'> | undefined {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const parent = path.length === 0 ? input : input[path[0] as string];
    if (!isPlainObject(parent)) return undefined;
    const present = issue.keys.filter((key) => key in parent);
    for (const key of present) delete parent[key];
    if (present.length === 0) return undefined;
    const where = path.length === 0 ? '' : `${path[0]}.`;
    return { key: present.map((k) => `${where}${PLAIN_KEY.test(k) ? k : quoteForLog(k)}`).join(', '), reason: `unknown key${present.length > 1 ? 's' : ''} ${present.map(quoteForLog).join(', ')}; see POLICIES.md for the keys` };
  }
  const top = path[0];
  if (top === undefined) return undefined;
  const group = input[top];
  if (isPolicyGroup(top) && path.length >= 2 && isPlainObject(group)) {
    const sub = path[1] as string;
    if (!(sub in group)) return undefined;
    delete group[sub];
    return { key: `${top}.${sub}`, reason: issue.message };
  }
  if (!(top in input)) return undefined;
  delete input[top];
  return { key: top, reason: issue.message };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Copies the two levels parseLayer deletes from, so the caller's document is never changed. */
function cloneTwoLevels(raw: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) copy[key] = isPlainObject(value) ? { ...value } : value;
  return copy;
}
