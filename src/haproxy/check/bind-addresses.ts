/** A TCP address HAProxy will listen on, and the config key that set it (for the error message). */
export interface BindTarget {
  /** `<ip>:<port>`, `[<ipv6>]:<port>` or `*:<port>`. */
  readonly address: string;
  /** e.g. `listen.http`; named in the message so the user knows what to change. */
  readonly key?: string;
}

// Address families HAProxy accepts before '@' that still mean a TCP socket here.
const TCP_PREFIX = /^(ipv4|ipv6|tcp|tcp4|tcp6)@/;

/**
 * Pure: the TCP addresses of every `bind` and `peer` line in a config. Unix sockets,
 * abstract namespaces, inherited fds and port ranges are skipped: they are
 * not ports another process can hold.
 */
export function bindAddressesOf(configText: string): string[] {
  const addresses = new Set<string>();
  for (const line of configText.split(/\r?\n/)) {
    // A `peer` line names the address of a peers section's listener: ipx renders only the local peer (rateLimit.syncBind).
    const match = /^\s*(?:bind|peer\s+\S+)\s+(\S+)/.exec(line);
    if (!match?.[1]) continue;
    for (const raw of match[1].replace(/^["']|["']$/g, '').split(',')) {
      const address = raw.replace(TCP_PREFIX, '');
      if (address.includes('@') || address.startsWith('/')) continue;
      const port = address.slice(address.lastIndexOf(':') + 1);
      if (/^\d+$/.test(port)) addresses.add(address);
    }
  }
  return [...addresses];
}

/** Names each bound address by the config key that holds it (`listen.http`), where one does. */
export function bindTargets(addresses: readonly string[], listen: Readonly<Record<string, string>> = {}): BindTarget[] {
  return addresses.map((address) => {
    const key = Object.keys(listen)
      .sort()
      .find((name) => listen[name] === address);
    return key === undefined ? { address } : { address, key: `listen.${key}` };
  });
}
