#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx, so the installed bin never goes stale.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
