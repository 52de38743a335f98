// WebSocket server: RFC 6455 on node:net (node:http, https and http2 are not allowed here: the
// handshake is yours to write). Two endpoints: /echo sends each message back, /room sends it to
// every member. Read README.md for the exact contract and the stages the grader checks.
import net from 'node:net';

const port = Number(process.env.PORT ?? 8080);

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  // TODO(stage 1): read the handshake's head (up to "\r\n\r\n"), check it, and answer
  //                101 Switching Protocols with Sec-WebSocket-Accept; 400, 404 and 426 otherwise.
  // TODO(stage 2): parse frames from a buffer: FIN, RSV, opcode, MASK, 7/16/64-bit length, the
  //                mask key, the payload (unmask it). Echo each message in one unmasked frame.
  //                Unmasked frames, reserved bits and opcodes: close 1002.
  // TODO(stage 3): fragments (continuation frames), ping -> pong, pongs ignored, control frames
  //                between fragments.
  // TODO(stage 4): UTF-8 checked as bytes arrive (1007), a 1 MiB limit (1009), the closing
  //                handshake (echo the code, then close TCP).
  // TODO(stage 5): /room: every message to every member in one order; drop members that do not
  //                read; backpressure for /echo.
  // For now every connection is refused.
  socket.once('data', () => {
    const body = 'not implemented yet\n';
    socket.end(`HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`WebSocket server listening on ${port}`);
});

// Docker stops the grader's container with SIGTERM; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
