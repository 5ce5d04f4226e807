// Which Host headers the lab answers (DNS rebinding: a page on evil.example whose name is re-pointed at this machine
// sends `Host: evil.example`, and must be refused on every bind). Allowed: loopback names and addresses, the bound
// address (on a wildcard bind 0.0.0.0 / ::, every address of this machine's interfaces), and the names given with
// `tlens lab --allowed-host`.
import { networkInterfaces } from "node:os";

/** A host name or address without brackets, port or trailing dot, in lower case. */
export function bareHost(host: string): string {
  let h = host.trim().toLowerCase();
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(h);
  if (bracketed) h = bracketed[1]!;
  else if (/^[^:]*:\d*$/.test(h)) h = h.slice(0, h.indexOf(":")); // name:port (an IPv6 address has several colons)
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = bareHost(host);
  return h === "localhost" || h === "::1" || h === "::ffff:127.0.0.1" || /^127(\.\d{1,3}){3}$/.test(h);
}

const WILDCARDS = new Set(["0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0"]);

/** The allowlist for a server bound to `bindHost`: a test of a request's Host header, and the list for messages. */
export function hostAllowlist(
  bindHost: string,
  allowed: readonly string[] = [],
): { allows: (hostHeader: string) => boolean; names: string[] } {
  const names = new Set<string>(["localhost", "127.0.0.1", "::1", ...allowed.map(bareHost)]);
  const bound = bareHost(bindHost);
  if (WILDCARDS.has(bound)) {
    for (const a of Object.values(networkInterfaces()).flat()) if (a) names.add(bareHost(a.address));
  } else {
    names.add(bound);
  }
  return { allows: (h) => isLoopback(h) || names.has(bareHost(h)), names: [...names] };
}
