export { apiKeyEntries } from './api-keys.ts';
export { buildCallerModel, NO_CALLER, type CallerConfig, type CallerService } from './caller-model.ts';
export { CALLER_NAME, CALLER_NAME_HAPROXY } from './caller-name.ts';
export { parseByteRate, parseRate, RATE_UNITS, UNIT_SECONDS, type Rate, type RateUnit } from './rates.ts';
export type { CallerModel, CallerRules, JwtModel } from './types.ts';
