export { configSchema, type Config, type ConfigInput } from './schema.ts';
export { parseConfig } from './parse.ts';
export { loadConfig, type LoadConfigOptions, type LoadedConfig } from './load.ts';
export { parseDuration } from './duration.ts';
export { DISCOVERY_FILE, discoveryPath, readDiscovery, removeDiscovery, type Discovery } from './discovery.ts';
