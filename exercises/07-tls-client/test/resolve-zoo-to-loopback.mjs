// Preloaded into your client by the visible tests only (NODE_OPTIONS=--import=<this file>):
// names under zoo.test resolve to 127.0.0.1, where the tests run the zoo, as the grader's
// network resolves them to the zoo's container. Your code resolves names as usual (tls.connect
// with a host name goes through dns.lookup); nothing to do on your side.
import dns from 'node:dns';

const domain = process.env.NETKATA_ZOO_DOMAIN ?? 'zoo.test';
const original = dns.lookup;

dns.lookup = function lookup(hostname, options, callback) {
  if (typeof hostname !== 'string' || !hostname.toLowerCase().endsWith(`.${domain}`)) return original.call(this, hostname, options, callback);
  const done = typeof options === 'function' ? options : callback;
  const all = typeof options === 'object' && options !== null && options.all;
  process.nextTick(() => (all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4)));
  return {};
};
