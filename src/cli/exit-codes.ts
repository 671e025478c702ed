import { IpxError } from '../errors.ts';

/** One place maps error codes to exit statuses (documented in the README). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  consul: 4,
  invalid: 5,
  haproxy: 6,
  /** `render --diff --exit-code`: the rendered configuration differs from the live one. */
  differs: 7,
  /** `register --wait-healthy`: the instance did not become healthy (or routable) in time. */
  timeout: 8,
} as const;

/** Ends a command with this exit status and no message (the command printed what it had to say). */
export class ExitWith extends IpxError {
  constructor(readonly status: number) {
    super('E_EXIT', '');
  }
}

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof IpxError)) return EXIT.failure;
  if (err instanceof ExitWith) return err.status;
  switch (err.code) {
    case 'E_USAGE':
      return EXIT.usage;
    case 'E_TIMEOUT':
      return EXIT.timeout;
    case 'E_CONFIG':
      return EXIT.config;
    case 'E_CONSUL':
      return EXIT.consul;
    case 'E_RENDER':
    case 'E_HAPROXY_CHECK':
      return EXIT.invalid;
    case 'E_HAPROXY':
      return EXIT.haproxy;
    default:
      return EXIT.failure;
  }
}
