// Reference echo server. Every byte a client sends comes back on the same connection,
// in order, unchanged.
import net from 'node:net';

const port = Number(process.env.PORT ?? 7000);

// allowHalfOpen: when the client shuts down its write side we keep ours open until every
// byte we owe it is written; pipe() then ends our side once the readable side has ended.
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  // pipe() moves Buffers (binary-safe) and applies backpressure: when write() returns
  // false it pauses reading until 'drain', so a client that stops reading is held back by
  // TCP flow control instead of by our memory.
  socket.pipe(socket);
  // A reset (ECONNRESET) or broken pipe is this client's business only: without a
  // listener, 'error' would be thrown and take every other client down with the process.
  socket.on('error', () => socket.destroy());
});

server.on('error', (error) => {
  console.error(`echo server failed: ${error.message}`);
  process.exit(1);
});

server.listen(port, '0.0.0.0', () => {
  console.log(`echo server listening on ${port}`);
});

// Docker sends SIGTERM on stop; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
