/* Event-loop server in C: one thread, one level-triggered epoll set, a small state per
 * connection. The protocol is in exercises/04-event-loop/README.md.
 *
 * Per connection: unparsed input, pending output, and at most one command under way (a SLEEP
 * waiting in the timer heap, or a STREAM sent chunk by chunk as EPOLLOUT allows). Lines are
 * taken out of the input one at a time, only when nothing is under way: that keeps answers
 * in request order, and stops reading (no EPOLLIN) once the input is full, so a client that
 * does not read its answers is held back by TCP.
 *
 * Timers: SLEEPs in a min-heap by deadline; idle connections in a list ordered by the moment
 * they became idle (all share one timeout, so appending keeps it sorted); closing connections
 * in a list ordered by linger deadline. epoll_wait sleeps until the nearest of the three. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE_BYTES 65536        /* a longer line is refused */
#define INPUT_LIMIT_BYTES (2 * MAX_LINE_BYTES) /* stop reading past this much unparsed input */
#define OUTPUT_LIMIT_BYTES 65536    /* stop answering lines past this much unsent output */
#define READ_BYTES 16384            /* at most this much per read: one turn, one bite */
#define STREAM_CHUNK_BYTES 65536
#define STREAM_TURN_BYTES (4 * STREAM_CHUNK_BYTES) /* a stream's share of one turn of the loop */
#define MAX_SLEEP_MS 60000ULL
#define MAX_STREAM_BYTES 4294967296ULL
#define PERIOD 251
#define LINGER_MS 2000
#define SHUTDOWN_GRACE_MS 1500
#define MAX_EVENTS 512

enum job { JOB_NONE, JOB_SLEEP, JOB_STREAM };

/* A link in a circular list with a sentinel (as in Linux's list.h); unlinked when next is NULL. */
struct link {
  struct link *prev, *next;
};

struct conn {
  int fd;
  uint32_t events;             /* what epoll watches for now */
  char *in;                    /* unparsed input: in[in_off, in_len) */
  size_t in_off, in_len, in_cap;
  size_t scanned;              /* in[in_off, scanned) holds no \n */
  char *out;                   /* unsent output: out[out_off, out_len) */
  size_t out_off, out_len, out_cap;
  enum job job;
  uint64_t stream_sent, stream_total;
  int64_t sleep_until;
  unsigned sleep_ms;
  size_t heap_index;
  int peer_eof;                /* the client sent FIN */
  int closing;                 /* last answer queued: shut down our side once it is out */
  int write_shut;              /* our FIN is sent; lingering until the client's */
  int64_t since;               /* idle since, or linger deadline */
  struct link idle, linger;     /* membership in idle_list, linger_list */
};

static int epfd, listener = -1, sigfd;
static int64_t idle_timeout_ms = 30000;
static uint64_t open_conns, accepted;
static int draining;
static int accept_paused; /* out of file descriptors: wait for a connection to close */
static int64_t drain_deadline;
static struct conn **heap;
static size_t heap_len, heap_cap;
static struct link idle_list = {&idle_list, &idle_list};
static struct link linger_list = {&linger_list, &linger_list};
static char pattern[PERIOD + STREAM_CHUNK_BYTES];
static int64_t now_ms;

static int64_t clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    perror("realloc");
    exit(1);
  }
  return q;
}

/* ---- lists ordered by `since`: idle connections, lingering ones. Each holds connections that
 * share one timeout and joined it in time order, so appending keeps it sorted. */

#define CONN_OF(l, member) ((struct conn *)((char *)(l) - offsetof(struct conn, member)))

static void link_append(struct link *list, struct link *l) {
  l->prev = list->prev;
  l->next = list;
  list->prev->next = l;
  list->prev = l;
}
static void link_remove(struct link *l) {
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->prev = l->next = NULL;
}
static int linked(const struct link *l) { return l->next != NULL; }
static struct conn *first_idle(void) { return idle_list.next == &idle_list ? NULL : CONN_OF(idle_list.next, idle); }
static struct conn *first_linger(void) { return linger_list.next == &linger_list ? NULL : CONN_OF(linger_list.next, linger); }

/* Idle: nothing under way, nothing to send, no complete line. The clock starts on joining. */
static void set_idle(struct conn *c, int idle) {
  if (idle && !linked(&c->idle)) {
    c->since = now_ms;
    link_append(&idle_list, &c->idle);
  } else if (!idle && linked(&c->idle)) {
    link_remove(&c->idle);
  }
}

/* ---- the SLEEP timer heap */

static void heap_swap(size_t a, size_t b) {
  struct conn *t = heap[a];
  heap[a] = heap[b];
  heap[b] = t;
  heap[a]->heap_index = a;
  heap[b]->heap_index = b;
}
static void heap_up(size_t i) {
  while (i > 0 && heap[(i - 1) / 2]->sleep_until > heap[i]->sleep_until) {
    heap_swap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}
static void heap_down(size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_len && heap[l]->sleep_until < heap[m]->sleep_until) m = l;
    if (r < heap_len && heap[r]->sleep_until < heap[m]->sleep_until) m = r;
    if (m == i) return;
    heap_swap(i, m);
    i = m;
  }
}
static void heap_push(struct conn *c) {
  if (heap_len == heap_cap) {
    heap_cap = heap_cap ? 2 * heap_cap : 64;
    heap = xrealloc(heap, heap_cap * sizeof *heap);
  }
  heap[heap_len] = c;
  c->heap_index = heap_len++;
  heap_up(c->heap_index);
}
static void heap_remove(struct conn *c) {
  size_t i = c->heap_index;
  heap_swap(i, --heap_len);
  if (i < heap_len) {
    heap_up(i);
    heap_down(i);
  }
}

/* ---- connections */

static void watch(struct conn *c, uint32_t events) {
  if (events == c->events) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->events = events;
}

static void destroy(struct conn *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  if (c->job == JOB_SLEEP) heap_remove(c);
  set_idle(c, 0);
  if (linked(&c->linger)) link_remove(&c->linger);
  free(c->in);
  free(c->out);
  free(c);
  open_conns--;
  if (accept_paused && listener >= 0) { /* a descriptor is free again */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener};
    epoll_ctl(epfd, EPOLL_CTL_MOD, listener, &ev);
    accept_paused = 0;
  }
}

static void append(struct conn *c, const char *data, size_t n) {
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  if (c->out_len + n > c->out_cap) {
    if (c->out_off > 0) { /* slide what is left to the front before growing */
      memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
      c->out_len -= c->out_off;
      c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
      while (c->out_len + n > c->out_cap) c->out_cap = c->out_cap ? 2 * c->out_cap : 256;
      c->out = xrealloc(c->out, c->out_cap);
    }
  }
  memcpy(c->out + c->out_len, data, n);
  c->out_len += n;
}

static void reply(struct conn *c, const char *text) { append(c, text, strlen(text)); }

/* Queues the last answer; once it is out we send FIN and linger (see flush). */
static void close_with(struct conn *c, const char *last) {
  if (c->closing) return;
  if (last) reply(c, last);
  c->closing = 1;
  if (c->job == JOB_SLEEP) heap_remove(c);
  c->job = JOB_NONE;
  c->in_off = c->in_len = c->scanned = 0;
}

/* An integer of decimal digits only, at most max; -1 if it is not one. */
static long long parse_count(const char *s, size_t n, unsigned long long max) {
  if (n == 0 || n > 12) return -1;
  unsigned long long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  return v <= max ? (long long)v : -1;
}

static int word_is(const char *line, size_t word_len, const char *name) {
  return word_len == strlen(name) && memcmp(line, name, word_len) == 0;
}

static void execute(struct conn *c, const char *line, size_t len) {
  if (len > 0 && line[len - 1] == '\r') len--;
  const char *space = memchr(line, ' ', len);
  size_t word_len = space ? (size_t)(space - line) : len;
  const char *arg = space ? space + 1 : "";
  size_t arg_len = space ? len - word_len - 1 : 0;
  char text[64];
  if (word_is(line, word_len, "ECHO")) {
    append(c, arg, arg_len); /* bytes, unchanged: invalid UTF-8 and NULs too */
    append(c, "\n", 1);
  } else if (word_is(line, word_len, "SLEEP")) {
    long long ms = space ? parse_count(arg, arg_len, MAX_SLEEP_MS) : -1;
    if (ms < 0) {
      reply(c, "ERR bad argument\n");
    } else { /* a deadline in the heap, not a wait: the loop serves everyone else meanwhile */
      c->job = JOB_SLEEP;
      c->sleep_ms = (unsigned)ms;
      c->sleep_until = now_ms + ms;
      heap_push(c);
    }
  } else if (word_is(line, word_len, "STREAM")) {
    long long n = space ? parse_count(arg, arg_len, MAX_STREAM_BYTES) : -1;
    if (n < 0) {
      reply(c, "ERR bad argument\n");
    } else if (n > 0) { /* sent by flush(), as fast as the client reads */
      c->job = JOB_STREAM;
      c->stream_sent = 0;
      c->stream_total = (uint64_t)n;
    }
  } else if (word_is(line, word_len, "STATS") && !space) {
    snprintf(text, sizeof text, "conns=%llu total=%llu\n", (unsigned long long)open_conns, (unsigned long long)accepted);
    reply(c, text);
  } else if (word_is(line, word_len, "QUIT") && !space) {
    close_with(c, "BYE\n");
  } else {
    reply(c, "ERR unknown command\n");
  }
}

/* Answers complete lines one at a time while nothing is under way and the output has room. */
static void pump(struct conn *c) {
  while (!c->closing && c->job == JOB_NONE && c->out_len - c->out_off < OUTPUT_LIMIT_BYTES) {
    char *start = c->in + c->in_off;
    char *newline = memchr(c->in + c->scanned, '\n', c->in_len - c->scanned);
    if (!newline) {
      c->scanned = c->in_len; /* never search these bytes again (a byte-at-a-time client) */
      break;
    }
    size_t len = (size_t)(newline - start);
    c->in_off += len + 1;
    c->scanned = c->in_off;
    set_idle(c, 0); /* a complete line is activity (bytes of an unfinished one are not) */
    if (len > MAX_LINE_BYTES) close_with(c, "ERR line too long\n");
    else execute(c, start, len);
  }
  if (c->in_off == c->in_len) {
    c->in_off = c->in_len = c->scanned = 0;
    if (c->in_cap > 16384) { /* a long line should not cost memory for the connection's life */
      free(c->in);
      c->in = NULL;
      c->in_cap = 0;
    }
  }
}

/* Writes pending output, then STREAM bytes up to one turn's share; 0 if the connection is gone. */
static int flush(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 1;
      destroy(c);
      return 0;
    }
    c->out_off += (size_t)n;
  }
  c->out_off = c->out_len = 0;
  if (c->out_cap > 16384) { /* one large answer should not cost memory for the connection's life */
    free(c->out);
    c->out = NULL;
    c->out_cap = 0;
  }
  /* STREAM bytes go out after every earlier answer, only as fast as the client reads, and at
   * most STREAM_TURN_BYTES per turn of the loop, so one fast reader cannot starve the rest. */
  for (size_t budget = STREAM_TURN_BYTES; c->job == JOB_STREAM && budget > 0;) {
    uint64_t left = c->stream_total - c->stream_sent;
    size_t chunk = left < STREAM_CHUNK_BYTES ? (size_t)left : STREAM_CHUNK_BYTES;
    if (chunk > budget) chunk = budget;
    ssize_t n = send(c->fd, pattern + c->stream_sent % PERIOD, chunk, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 1;
      destroy(c);
      return 0;
    }
    c->stream_sent += (uint64_t)n;
    budget -= (size_t)n;
    if (c->stream_sent == c->stream_total) c->job = JOB_NONE;
    else if ((size_t)n < chunk) return 1; /* the socket is full: EPOLLOUT will say when to go on */
  }
  return 1;
}

#define TURN_ROUNDS 8 /* pump/flush rounds per connection per turn of the loop */

/* After any event on a connection: answer, send, decide, and set what epoll watches. */
static void update(struct conn *c) {
  for (int round = 0;; round++) {
    pump(c);
    if (!flush(c)) return;
    if (c->closing || c->job != JOB_NONE || c->out_len != 0) break; /* waiting: timer, socket, or done */
    if (c->scanned < c->in_len) {
      if (round < TURN_ROUNDS) continue;
      break; /* more lines, but others get their turn first (EPOLLOUT below brings us back) */
    }
    /* Nothing under way and no complete line: only an unfinished one may wait here. */
    if (c->in_len - c->in_off > MAX_LINE_BYTES) close_with(c, "ERR line too long\n");
    else if (c->peer_eof || draining) close_with(c, NULL);
    else break;
  }
  if (c->closing && c->out_len == 0 && !c->write_shut) {
    /* Everything owed is out: send FIN, then read and discard until the client's FIN. Closing
     * with its bytes unread would send a reset, which can destroy our last answer in flight. */
    shutdown(c->fd, SHUT_WR);
    c->write_shut = 1;
    c->since = now_ms + LINGER_MS;
    link_append(&linger_list, &c->linger);
  }
  if (c->write_shut && c->peer_eof) {
    destroy(c);
    return;
  }
  int more_lines = !c->closing && c->job == JOB_NONE && c->out_len == 0 && c->scanned < c->in_len;
  set_idle(c, !c->closing && c->job == JOB_NONE && c->out_len == 0 && !more_lines);
  uint32_t events = 0;
  /* Read only with room for it: a client whose answers pile up is held back by TCP. */
  if (!c->peer_eof && (c->write_shut || (!c->closing && !draining && c->in_len - c->in_off < INPUT_LIMIT_BYTES))) events |= EPOLLIN;
  /* Level-triggered EPOLLOUT fires on every turn while the socket has room: ask for it only
   * while there is something to send (or lines left over from this turn). */
  if (c->out_len > 0 || c->job == JOB_STREAM || more_lines) events |= EPOLLOUT;
  watch(c, events);
}

static void on_readable(struct conn *c) {
  if (c->write_shut) { /* lingering: discard */
    char sink[READ_BYTES];
    ssize_t n = read(c->fd, sink, sizeof sink);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) c->peer_eof = 1;
    update(c);
    return;
  }
  /* One bite per turn, into a shared buffer: a client sending fast shares the loop with the
   * rest, and each connection keeps only what it has not answered yet. */
  static char bite[READ_BYTES];
  ssize_t n = read(c->fd, bite, sizeof bite);
  if (n == 0) c->peer_eof = 1; /* its answers are still owed; then we close */
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    destroy(c);
    return;
  }
  if (n > 0) {
    if (c->in_off > 0) { /* slide the unanswered bytes to the front */
      memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
      c->in_len -= c->in_off;
      c->scanned -= c->in_off;
      c->in_off = 0;
    }
    if (c->in_len + (size_t)n > c->in_cap) {
      size_t cap = c->in_cap ? c->in_cap : 256;
      while (cap < c->in_len + (size_t)n) cap *= 2;
      c->in = xrealloc(c->in, cap);
      c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, bite, (size_t)n);
    c->in_len += (size_t)n;
  }
  update(c);
}

static void accept_all(void) {
  for (int i = 0; i < 256; i++) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        /* The listener stays readable (level-triggered): stop watching it, or the loop spins. */
        struct epoll_event ev = {.events = 0, .data.ptr = &listener};
        epoll_ctl(epfd, EPOLL_CTL_MOD, listener, &ev);
        accept_paused = 1;
        fprintf(stderr, "accept: %s; accepting again when a connection closes\n", strerror(errno));
      }
      return; /* EAGAIN: accepted all there were */
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small answers leave at once */
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      return;
    }
    c->fd = fd;
    c->events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    open_conns++;
    accepted++;
    set_idle(c, 1);
  }
}

/* SIGTERM: stop accepting; every connection answers the lines it already sent, then closes.
 * Busy ones close when their SLEEP, STREAM or output is done (update() sees `draining`); idle
 * ones close now. */
static void start_draining(void) {
  draining = 1;
  drain_deadline = now_ms + SHUTDOWN_GRACE_MS;
  epoll_ctl(epfd, EPOLL_CTL_DEL, listener, NULL);
  close(listener);
  listener = -1;
  for (struct conn *c; (c = first_idle());) {
    set_idle(c, 0);
    update(c);
  }
}

static int64_t earlier(int64_t next, int64_t t) { return next < 0 || t < next ? t : next; }

/* Milliseconds until the nearest deadline: a SLEEP, an idle timeout, a linger, the drain. */
static int next_timeout(void) {
  int64_t next = -1;
  struct conn *c;
  if (heap_len) next = heap[0]->sleep_until;
  if ((c = first_idle())) next = earlier(next, c->since + idle_timeout_ms);
  if ((c = first_linger())) next = earlier(next, c->since);
  if (draining) next = earlier(next, drain_deadline);
  if (next < 0) return -1;
  return next <= now_ms ? 0 : (int)(next - now_ms);
}

static void run_timers(void) {
  struct conn *c;
  while (heap_len && heap[0]->sleep_until <= now_ms) {
    c = heap[0];
    heap_remove(c);
    c->job = JOB_NONE;
    char text[32];
    snprintf(text, sizeof text, "SLEPT %u\n", c->sleep_ms);
    reply(c, text);
    update(c);
  }
  while ((c = first_idle()) && c->since + idle_timeout_ms <= now_ms) {
    set_idle(c, 0);
    close_with(c, "ERR idle timeout\n");
    update(c);
  }
  while ((c = first_linger()) && c->since <= now_ms) destroy(c);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *port_env = getenv("PORT");
  const char *idle_env = getenv("IDLE_TIMEOUT_MS");
  int port = port_env ? atoi(port_env) : 7000;
  if (idle_env) idle_timeout_ms = atoll(idle_env);
  for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (char)(i % PERIOD);

  /* SIGTERM arrives as a readable fd in the loop, like everything else. (As PID 1 in a
   * container, a signal with no handler would be ignored.) */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
    perror("listen");
    return 1;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener};
  epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
  ev.data.ptr = &sigfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev);
  printf("event-loop server (C, epoll) listening on %d (idle timeout %lld ms)\n", port, (long long)idle_timeout_ms);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    now_ms = clock_ms();
    if (draining && (open_conns == 0 || now_ms >= drain_deadline)) return 0;
    int n = epoll_wait(epfd, events, MAX_EVENTS, next_timeout());
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    now_ms = clock_ms();
    int terminate = 0;
    for (int i = 0; i < n; i++) {
      void *tag = events[i].data.ptr;
      if (tag == &listener) {
        if (listener >= 0) accept_all();
      } else if (tag == &sigfd) {
        struct signalfd_siginfo info;
        while (read(sigfd, &info, sizeof info) == sizeof info) terminate = 1;
      } else {
        /* Each connection appears once per batch, and only its own handler frees it. */
        struct conn *c = tag;
        uint32_t e = events[i].events;
        if (e & (EPOLLERR | EPOLLHUP)) destroy(c); /* a reset, or both sides closed */
        else if (e & EPOLLIN) on_readable(c);
        else if (e & EPOLLOUT) update(c);
      }
    }
    /* After the batch: these may touch (and free) any connection, even one later in it. */
    if (terminate && !draining) start_draining();
    run_timers();
  }
}
