// Event-loop server: a line protocol on one thread, for thousands of connections at once.
// Read README.md for the exact protocol and the stages the grader checks.
import net from 'node:net';

const port = Number(process.env.PORT ?? 7000);
const idleTimeoutMs = Number(process.env.IDLE_TIMEOUT_MS ?? 30_000);

const server = net.createServer((socket) => {
  socket.on('data', (chunk: Buffer) => {
    // TODO(stage 1): answer ECHO <text>, STATS, QUIT, STREAM <n> and SLEEP <ms> as README.md says.
    // TODO(stage 2): one 'data' event is not one line: keep this connection's unfinished line
    //                and answer every complete line; refuse a line over 65,536 bytes.
    // TODO(stage 3): answer in request order: while a SLEEP or STREAM is busy, later lines wait.
    // TODO(stage 4): write STREAM bytes only as fast as the client reads them ('drain').
    // TODO(stage 5): never block: a SLEEP is a timer, not a wait.
    // TODO(stage 6): close connections idle for idleTimeoutMs; bytes of an unfinished line are not activity.
    // For now every line is an unknown command, so the tests fail at once instead of waiting.
    for (const byte of chunk) if (byte === 0x0a) socket.write('ERR unknown command\n');
  });
  socket.on('error', () => socket.destroy());
});

server.listen(port, '0.0.0.0', () => {
  console.log(`event-loop server listening on ${port} (idle timeout ${idleTimeoutMs} ms)`);
});

// TODO: on SIGTERM stop accepting, answer what is pending, close, and exit 0 within 2 s.
process.on('SIGTERM', () => process.exit(0));
