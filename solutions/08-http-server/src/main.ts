// Reference web server: settings in config.ts, request parsing in request.ts, paths in
// paths.ts, response headers in headers.ts, connections in server.ts.
import { configFromEnv } from './config.ts';
import { HttpServer } from './server.ts';

const config = configFromEnv();
new HttpServer(config).listen(() => console.log(`serving ${config.filesDir} on ${config.port}`));

// Docker stops the container with SIGTERM; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
