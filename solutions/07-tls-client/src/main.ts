// Reference TLS client: main <https-url> --ca <pem-file> [--alpn p1,p2] [--session <file>] [--pin sha256/<base64>]
// The run is in client.ts; exit codes and how Node's errors map to them in exit-codes.ts.
import { runClient } from './client.ts';

process.exitCode = await runClient(process.argv.slice(2));
