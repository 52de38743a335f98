// Chat server: nicks, rooms and messages over TCP, one UTF-8 line per command.
// Read README.md for the exact protocol and the stages the grader checks.
import net from 'node:net';

const port = Number(process.env.PORT ?? 7000);
// TODO(stage 5): read PING_INTERVAL_MS (default 15000), PING_TIMEOUT_MS (default 10000) and
//                MAX_QUEUE_BYTES (default 1048576) from process.env.

const server = net.createServer((socket) => {
  socket.on('data', (chunk: Buffer) => {
    // TODO(stage 1): one 'data' event is not one line: keep the bytes after the last \n per
    //                connection and take whole lines out. Then answer them:
    //                NICK -> OK | ERR nick taken | ERR bad nick; other commands need a nick
    //                first (ERR no nick); QUIT -> BYE and close; PONG gets no reply.
    // TODO(stage 2): JOIN, PART, MSG, PRIV and WHO; a room is a set of clients.
    // TODO(stage 3): on QUIT, EOF, a reset or a line over 4,096 bytes (bytes, not characters),
    //                everyone sharing a room hears QUIT <nick> once.
    // TODO(stage 4): write a message to every member in one synchronous loop: one order for all.
    // TODO(stage 5): PING silent clients and drop those that do not PONG in time; drop a client
    //                once socket.writableLength passes MAX_QUEUE_BYTES, never wait for it.
    // For now every line gets the same answer.
    for (const byte of chunk) if (byte === 0x0a) socket.write('ERR unknown command\n');
  });
  socket.on('error', () => socket.destroy());
});

server.listen(port, '0.0.0.0', () => {
  console.log(`chat server listening on ${port}`);
});

// Docker stops the grader's container with SIGTERM; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
