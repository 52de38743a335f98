// Echo server: every byte a client sends comes back to it, in order, unchanged.
// Read README.md for the exact contract and the stages the grader checks.
import net from 'node:net';

const port = Number(process.env.PORT ?? 7000);

const server = net.createServer((socket) => {
  // TODO(stage 1): send back what the client sends.
  // TODO(stage 2): keep bytes as bytes (Buffer), never as strings.
  // TODO(stage 4): when the client half-closes, finish echoing, then close; survive resets.
  // TODO(stage 5): respect backpressure: do not read faster than the client reads.
  socket.on('error', () => {});
});

server.listen(port, '0.0.0.0', () => {
  console.log(`echo server listening on ${port}`);
});
