// Reference framing server: the protocol and its parsing are in framing.ts.
import { createFramingServer } from './framing.ts';

const port = Number(process.env.PORT ?? 7000);

createFramingServer().listen(port, '0.0.0.0', () => console.log(`framing server listening on ${port}`));

// Docker sends SIGTERM on stop; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
