// Reference WebSocket server: the handshake in handshake.ts, frames in frames.ts, UTF-8 in
// utf8.ts, connections, the echo and the room in server.ts.
import { WebSocketServer } from './server.ts';

const port = Number(process.env.PORT ?? 8080);
new WebSocketServer().listen(port, () => console.log(`WebSocket server on ${port}: /echo and /room`));

// Docker stops the container with SIGTERM; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
