// Reference chat server: the protocol is in protocol.ts, the server in chat-server.ts.
import { configFromEnv, createChatServer } from './chat-server.ts';

const port = Number(process.env.PORT ?? 7000);

createChatServer(configFromEnv()).listen(port, '0.0.0.0', () => console.log(`chat server listening on ${port}`));

// Docker sends SIGTERM on stop; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
