/* Web server in C, on epoll: one thread, one loop, 10,000 connections.
 * Read ../README.md for the exact contract and the stages the grader checks; grade with
 *   npx netkata grade http-server --submission exercises/08-http-server/c
 *
 * What is here: a listening socket, an epoll loop, accepting non-blocking connections, and
 * reading from them. Every read is answered 501 and the connection closed, so the tests fail
 * at once instead of waiting. Everything else is yours. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 512

/* TODO(stage 1): state per connection: the unparsed input, the response not sent yet, the
 *                file being sent and how far. Point epoll_event.data.ptr at it. */
struct conn {
  int fd;
};

static int epfd;

static void drop(struct conn *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

static void on_readable(struct conn *c) {
  char buf[16384];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    drop(c);
    return;
  }
  if (n < 0) return;
  /* TODO(stage 1): find the end of the head ("\r\n\r\n"), parse the request line and the
   *                header fields, map the path into getenv("FILES_DIR"), answer GET and HEAD
   *                with Date, Content-Type, Content-Length (strftime with "%a, %d %b %Y
   *                %H:%M:%S GMT" on gmtime gives the Date). 404, 405 with Allow, 501.
   * TODO(stage 2): keep the input per connection and answer every whole request in it, in
   *                order; keep-alive; 400, 414, 431, 505; percent-decoding; realpath(3) the
   *                target and refuse anything outside FILES_DIR's real path.
   * TODO(stage 3): never write more than the socket takes: keep the rest, ask for EPOLLOUT;
   *                sendfile(2) sends the file from where you are in it. Range, ETag, 304.
   * TODO(stage 4): 10,000 connections: raise nothing, allocate little per connection; one
   *                deadline per connection (HEADER_TIMEOUT_MS, IDLE_TIMEOUT_MS), and
   *                epoll_wait's timeout is the nearest one. */
  const char *answer = "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\nnot implemented yet\n";
  if (write(c->fd, answer, strlen(answer)) < 0 && errno != EAGAIN) {
    drop(c);
    return;
  }
  shutdown(c->fd, SHUT_WR);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const char *port = getenv("PORT");
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port ? atoi(port) : 8080), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("listen");
    return 1;
  }
  epfd = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  printf("web server listening on %s\n", port ? port : "8080");
  fflush(stdout);
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          struct conn *c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      on_readable(events[i].data.ptr);
    }
  }
}
