/**
 * What the HAProxy stage consumes from the renderer. Declared structurally
 * (the same shape as render's RenderResult) so this stage depends on the
 * data, not on the render module.
 */
export interface RenderedConfig {
  /** File name (a plain name in the config's directory) → content; `haproxy.cfg` is the main file. */
  readonly files: Readonly<Record<string, string>>;
  /** Content hash over every file: an equal hash means nothing to apply. */
  readonly hash: string;
}

/** The main configuration's file name inside runDir. */
export const MAIN_CONFIG = 'haproxy.cfg';
