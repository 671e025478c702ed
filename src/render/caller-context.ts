import { ACCESS_MAP, API_KEY_MAP, CALLER_POLICY_MAP, INTENTIONS_MAP, JWT_VERIFIED_MAP, LIMITS_MAP, SOURCES_MAP, callerMapEntries, checkedPem, jwtKeyFileName, mapFileText } from './caller-maps.ts';
import type { CallerRules } from '../model/identity/types.ts';
import type { Model } from '../model/types.ts';

/** JSON bodies of the caller answers (POLICIES.md "What a request sees"). */
export const CALLER_ERRORS = {
  unauthenticated: '{"error":"unauthenticated","message":"credentials are missing or invalid: send Authorization: Bearer <JWT> or an API key"}',
  forbidden: '{"error":"forbidden","message":"this caller may not call this service"}',
  rateLimited: '{"error":"rate_limited","message":"over a rate limit or quota: retry after Retry-After seconds"}',
} as const;

export interface CallerContext extends CallerRules {
  /** jwt_verify's key argument: the key file for RS/ES, the secret for HS; '' without JWT. */
  readonly jwtKeyArg: string;
  readonly maps: { readonly apiKeys: string; readonly policy: string; readonly access: string; readonly limits: string; readonly intentions: string; readonly sources: string; readonly jwtVerified: string };
  readonly errors: typeof CALLER_ERRORS;
  /** Stick tables of the peers section: name suffix, request and byte periods (1<unit>), expiry (the longer). */
  readonly tables: readonly { readonly name: string; readonly requests: string; readonly bytes: string; readonly expire: string }[];
}

export interface CallerParts {
  readonly context: CallerContext;
  readonly files: Record<string, string>;
}

/** What the caller partials need, and the files they read. The maps are rendered only with the feature on, so other configs keep their bytes. */
export function callerParts(model: Model): CallerParts {
  const { rules } = model.caller;
  const files: Record<string, string> = {};
  let jwtKeyArg = '';
  if (rules.jwt) {
    if (rules.jwt.algorithm.startsWith('HS')) jwtKeyArg = rules.jwt.key;
    else {
      jwtKeyArg = jwtKeyFileName(rules.jwt.key);
      files[jwtKeyArg] = checkedPem(rules.jwt.key);
    }
    files[JWT_VERIFIED_MAP] = mapFileText(JWT_VERIFIED_MAP, []);
  }
  if (rules.enabled) for (const [name, entries] of Object.entries(callerMapEntries(model.caller))) files[name] = mapFileText(name, entries);
  return {
    context: { ...rules, jwtKeyArg, maps: { apiKeys: API_KEY_MAP, policy: CALLER_POLICY_MAP, access: ACCESS_MAP, limits: LIMITS_MAP, intentions: INTENTIONS_MAP, sources: SOURCES_MAP, jwtVerified: JWT_VERIFIED_MAP }, errors: CALLER_ERRORS, tables: tablesOf(rules) },
    files,
  };
}

const LONGER: Record<string, number> = { s: 1, m: 2, h: 3 };

function table(name: string, requests: string, bytes: string) {
  return { name, requests, bytes, expire: (LONGER[requests] ?? 0) >= (LONGER[bytes] ?? 0) ? requests : bytes };
}

function tablesOf(rules: CallerRules): CallerContext['tables'] {
  return [
    ...rules.perCallerTables.map((combo) => table(`pc_${combo}`, combo.charAt(0), combo.charAt(1))),
    ...rules.totalTables.map((unit) => table(`total_${unit}`, unit, unit)),
    ...(rules.globalPerCaller ? [table(`caller_${rules.globalPerCaller}`, rules.globalPerCaller, rules.globalPerCaller)] : []),
  ];
}
