/**
 * Error classes shared by every stage. Each carries a stable `code` and a
 * full-sentence message that names the component and suggests the fix; the
 * CLI maps codes to exit statuses in one place.
 */
export class IpxError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The config file, an env variable or a flag is invalid. */
export class ConfigError extends IpxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', message, options);
  }
}

/** Consul could not be read. Never turned into empty data. */
export class ConsulError extends IpxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONSUL', message, options);
  }
}

/** A template failed to render. */
export class RenderError extends IpxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_RENDER', message, options);
  }
}

/** `haproxy -c` rejected a staged configuration. */
export class HaproxyCheckError extends IpxError {
  readonly output: string;

  constructor(message: string, output: string, options?: { cause?: unknown }) {
    super('E_HAPROXY_CHECK', message, options);
    this.output = output;
  }
}

/** Starting, reloading or talking to HAProxy failed. */
export class HaproxyRuntimeError extends IpxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_HAPROXY', message, options);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
