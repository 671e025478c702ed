/**
 * A caller name, wherever it comes from (a JWT claim, a KV key, an allow
 * list): it becomes a map key, a stick-table key and a header value, so it
 * keeps to characters none of them read specially. HAProxy checks the same
 * grammar at request time on names taken from tokens (caller-identity.hbs).
 */
export const CALLER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
