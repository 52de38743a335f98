// Reference event-loop server: the protocol is in protocol.ts, the loop's per-connection state
// machine in server.ts.
import { serve } from './server.ts';

await serve();
