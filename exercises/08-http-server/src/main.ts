// Web server: a static file server speaking HTTP/1.1, written on node:net (node:http, https and
// http2 are not allowed here: the HTTP is yours to write). Read README.md for the exact contract
// and the stages the grader checks.
import net from 'node:net';

const port = Number(process.env.PORT ?? 8080);
// TODO(stage 1): FILES_DIR names the folder to serve.
// TODO(stage 4): and HEADER_TIMEOUT_MS (10000) and IDLE_TIMEOUT_MS (60000).

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  // TODO(stage 1): collect bytes until the blank line that ends the head ("\r\n\r\n"), split the
  //                request line into method, target and version, map the target to a file in
  //                FILES_DIR, and answer with a status line, Date, Content-Type, Content-Length
  //                and the file's bytes (HEAD: the same head, no body). 404, 405, 501.
  // TODO(stage 2): keep a buffer per connection and parse requests from it in a loop (a 'data'
  //                event may hold half a request, or three); answer them in order; keep the
  //                connection open unless Connection: close or HTTP/1.0. 400, 414, 431, 505.
  //                Decode %XX before you check the path, and never serve anything whose real
  //                path is outside FILES_DIR.
  // TODO(stage 3): stream files with backpressure (write() returns false: wait for 'drain');
  //                Range (206, 416), ETag and Last-Modified (304).
  // TODO(stage 4): a header timeout (408) and an idle timeout, one timer per connection.
  // For now every request gets the same answer.
  socket.once('data', () => {
    const body = 'not implemented yet\n';
    socket.end(`HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`web server listening on ${port}`);
});

// Docker stops the grader's container with SIGTERM; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
