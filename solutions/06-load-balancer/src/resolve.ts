// Name resolution for backends, off libuv's thread pool. Node's default, dns.lookup
// (getaddrinfo), runs on a pool of 4 threads shared with file I/O and crypto; the name of a
// killed container can take seconds to fail, so a few lookups of a dead backend (a health check
// every interval, requests in flight) fill the pool, and lookups of the healthy backends queue
// behind them: their checks time out and the whole fleet is marked down. c-ares (dns.Resolver)
// asks the DNS server itself, without threads, with our own short timeout.
import dns from 'node:dns';
import net from 'node:net';

const resolver = new dns.Resolver({ timeout: 500, tries: 2 });

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A `lookup` for net/http options: IPs as they are, localhost from the hosts file, the rest by DNS. */
export function lookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  const answer = (address: string, family: number) => (options.all ? callback(null, [{ address, family }]) : callback(null, address, family));
  const family = net.isIP(hostname);
  if (family) return answer(hostname, family);
  if (hostname === 'localhost') return void dns.lookup(hostname, options, callback as never);
  resolver.resolve4(hostname, (error, addresses) => {
    if (error || addresses.length === 0) return callback(error ?? Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
    answer(addresses[0]!, 4);
  });
}
