export { apiKeyEntries } from './api-keys.ts';
export { buildCallerModel, NO_CALLER, type CallerConfig, type CallerService } from './caller-model.ts';
export { CALLER_NAME } from './caller-name.ts';
export { parseByteRate, parseRate, UNIT_SECONDS, type Rate, type RateUnit } from './rates.ts';
export type { CallerModel, CallerRules, JwtModel } from './types.ts';
