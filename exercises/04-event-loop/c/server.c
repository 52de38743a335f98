/* Event-loop server in C, on epoll: one thread, one loop, many connections.
 * Read ../README.md for the exact protocol and the stages the grader checks; grade with
 *   npx netkata grade event-loop --submission exercises/04-event-loop/c
 *
 * What is here: a listening socket, an epoll loop, accepting non-blocking connections, and
 * reading from them. Every \n is answered "ERR unknown command", so the tests fail at once
 * instead of waiting. Everything else is yours. */
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

/* TODO(stage 1): state per connection: unparsed input, output not sent yet, and (stage 3) the
 *                command under way. Point epoll_event.data.ptr at it. */
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
  /* TODO(stage 1): answer ECHO <text>, STATS, QUIT, STREAM <n>, SLEEP <ms> as README.md says.
   * TODO(stage 2): one read is not one line: keep the unfinished line in the connection's
   *                input and answer every complete line; refuse a line over 65,536 bytes.
   * TODO(stage 3): answer in request order: while a SLEEP or STREAM is under way, later lines wait.
   * TODO(stage 4): never write more than the socket takes: keep the rest, ask for EPOLLOUT, and
   *                send STREAM bytes only when the socket is writable. Stop reading (drop
   *                EPOLLIN) from a client whose answers pile up.
   * TODO(stage 5): never block: SLEEP is a deadline, and epoll_wait's timeout is the nearest one.
   * TODO(stage 6): IDLE_TIMEOUT_MS: close connections idle that long; bytes of an unfinished
   *                line are not activity. */
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      const char *err = "ERR unknown command\n";
      if (write(c->fd, err, strlen(err)) < 0 && errno != EAGAIN) {
        drop(c);
        return;
      }
    }
  }
}

/* TODO: on SIGTERM stop accepting, answer what is pending, close, and exit 0 within 2 s (a
 *       signalfd in the epoll set fits the loop). For now: exit at once. (In a container the
 *       server is PID 1, which ignores a signal it has no handler for.) */
static void quit_now(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, quit_now);
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *port_env = getenv("PORT");
  int port = port_env ? atoi(port_env) : 7000;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
    perror("listen");
    return 1;
  }
  epfd = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
  epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
  printf("event-loop server (C starter) listening on %d\n", port);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, -1); /* TODO(stage 5): the nearest deadline */
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      if (!events[i].data.ptr) {
        int fd;
        while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          struct conn *c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
        }
      } else {
        on_readable(events[i].data.ptr);
      }
    }
  }
}
