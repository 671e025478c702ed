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
} as const;

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof IpxError)) return EXIT.failure;
  switch (err.code) {
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
