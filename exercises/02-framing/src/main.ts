// Framing server: a length-prefixed binary protocol over TCP.
// Read README.md for the exact protocol and the stages the grader checks.
import net from 'node:net';

const port = Number(process.env.PORT ?? 7000);

const server = net.createServer((socket) => {
  socket.on('data', (chunk: Buffer) => {
    // TODO(stage 1): read a frame: u32 big-endian length L, a type byte, L-1 payload bytes.
    //                Answer ECHO (0x02) with 0x82 and the same payload.
    // TODO(stage 2): a frame can arrive in many 'data' events, and one event can hold many
    //                frames: buffer the bytes per connection and parse whole frames out of them.
    // TODO(stage 3): SUM (0x01) -> 0x81 with the signed 64-bit sum; SHA256 (0x03) -> 0x83.
    // TODO(stage 4): errors are 0xff frames with a message; some of them close the connection.
    // TODO(stage 5): answer in request order, also when many requests come at once.
    void chunk;
  });
  socket.on('error', () => socket.destroy());
});

server.listen(port, '0.0.0.0', () => {
  console.log(`framing server listening on ${port}`);
});
