export { compileTemplates, type CompiledTemplates, type TemplateSources } from './compile-templates.ts';
export { render, CONFIG_FILE, type RenderAssets, type RenderInput, type RenderResult, type TemplateContext } from './render.ts';
export { quoteSingle } from './haproxy-quote.ts';
export { hashFiles } from './hash-files.ts';
