// Reference load balancer: configuration in config.ts, backends and health in backend.ts,
// consistent hashing in hash-ring.ts, the proxy in load-balancer.ts.
import { configFromEnv } from './config.ts';
import { createLoadBalancer } from './load-balancer.ts';

const config = configFromEnv();

createLoadBalancer(config).listen(config.port, '0.0.0.0', () =>
  console.log(`load balancer on ${config.port}: ${config.strategy} over ${config.backends.map((b) => b.host).join(', ')}`),
);

// Docker sends SIGTERM on stop; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
