#!/usr/bin/env node
// Launcher: runs the CLI from its bundle (scripts/bundle.mjs), built again whenever a source is
// newer, so the installed bin never goes stale; through tsx where the bundle cannot be written.
import { setFlagsFromString } from 'node:v8';
import { bundled } from './bundle.mjs';

// V8 lets the heap grow up to four times what was live at the last full collection before it
// collects again; each change at thousands of services leaves megabytes behind (a node's answer,
// the rendered files), so the peak was mostly garbage: at 5,000 services, 436 MB against 280-297
// MB with a growth of 30 %, at the same propagation times (README, Performance). A value given on
// node's command line (node --heap-growing-percent=N scripts/ipx.mjs) wins.
if (!process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent'))) setFlagsFromString('--heap-growing-percent=30');
const bundle = await bundled('cli/main');
if (bundle) {
  process.setSourceMapsEnabled(true);
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
