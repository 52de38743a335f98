/* Static file server in C: HTTP/1.1 on one thread, one level-triggered epoll set, a small state
 * per connection. The contract is exercises/08-http-server/README.md; the decisions are the
 * TypeScript reference's (../src), made the C way.
 *
 * Per connection: the input not parsed yet, the output not sent yet (a response's head, or a
 * short error body), and at most one file under way (its descriptor, where we are in it and
 * how much is left), sent with sendfile(2) from the page cache straight to the socket, only as
 * fast as the client takes it. Requests are taken out of the input one at a time, only once
 * the previous answer is all in the kernel's hands: answers stay in request order, and a
 * client that pipelines more than one head's worth behind a big answer is held back by TCP
 * (no EPOLLIN) instead of by our memory.
 *
 * Timers: each connection has at most one deadline: idle (no byte of a next request),
 * header (a head under way) or linger (our FIN is sent, waiting for the client's). Each kind
 * has one timeout for every connection, so a list per kind, appended to as connections join
 * it, stays ordered by deadline; epoll_wait sleeps until the nearest of the three heads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST_LINE_BYTES 8192 /* with its line end; a longer one is 414 */
#define MAX_HEADER_BYTES 16384      /* the field lines with their line ends; past it, 431 */
#define MAX_HEADER_FIELDS 100
#define MAX_BODY_BYTES (1024 * 1024) /* a body up to this is read past; a larger one is 413 */
/* Unparsed input held while an answer is under way; past it we stop reading. */
#define INPUT_LIMIT_BYTES (MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 4)
#define READ_BYTES 16384              /* at most this much per read: one turn, one bite */
#define SEND_TURN_BYTES (1024 * 1024) /* a file's share of one turn of the loop */
#define TURN_ROUNDS 32                /* pipelined answers per connection per turn */
#define LINGER_MS 2000                /* after our FIN, how long we wait for the client's */
#define MAX_EVENTS 512
#define MAX_ACCEPTS 256 /* per turn: a burst of connections shares the loop too */
/* A joined path: the folder's real path, then at most a request line's worth of segments. */
#define JOIN_BYTES (PATH_MAX + MAX_REQUEST_LINE_BYTES + 32)
/* A response head: a Location of a whole target at most, and a few short fields. */
#define SCRATCH_BYTES (MAX_REQUEST_LINE_BYTES + 4096)

/* A link in a circular list with a sentinel (as in Linux's list.h); unlinked when next is NULL. */
struct link {
  struct link *prev, *next;
};

enum timer { T_NONE, T_IDLE, T_HEADER, T_LINGER, T_KINDS };

struct conn {
  int fd;
  uint32_t events; /* what epoll watches for now */
  char *in;        /* unparsed input: in[0, in_len); NULL when empty */
  size_t in_len, in_cap;
  /* The head under way, scanned line by line as bytes come (a client sending a byte at a
   * time costs no rescans): in[0, scan) are whole lines already checked. */
  size_t scan;
  unsigned lines;     /* whole lines of the head so far (the request line is the first) */
  size_t field_bytes; /* bytes of whole field lines so far */
  uint64_t skipping;  /* bytes of a request body still to drop before the next request */
  char *out;          /* unsent output: out[out_off, out_len); NULL when empty */
  size_t out_off, out_len, out_cap;
  int file; /* the file being sent after `out`, or -1 */
  off_t file_off;
  uint64_t file_left;
  unsigned closing : 1;    /* no more requests: once the output is out, FIN */
  unsigned write_shut : 1; /* our FIN is sent; lingering until the client's */
  unsigned peer_eof : 1;   /* the client sent FIN */
  enum timer timer;
  int64_t since; /* when the timer started */
  struct link link;
};

/* One request's head, pointing into its connection's input: valid until the head is consumed. */
struct field {
  const char *name, *value;
  size_t name_len, value_len;
};
struct request {
  const char *method, *target;
  size_t method_len, target_len;
  int minor; /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
  struct field fields[MAX_HEADER_FIELDS];
  int nfields;
};

static int epfd, listener;
static int accept_paused; /* out of file descriptors: wait for a connection to close */
static int64_t now_ms;
static int64_t timeouts[T_KINDS] = {0, 60000, 10000, LINGER_MS};
static struct link lists[T_KINDS];
static char root[PATH_MAX]; /* FILES_DIR's real path */
static size_t root_len;
static char scratch[SCRATCH_BYTES]; /* the response being built */
static size_t scratch_len;

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 416: return "Range Not Satisfiable";
  case 431: return "Request Header Fields Too Large";
  case 501: return "Not Implemented";
  case 505: return "HTTP Version Not Supported";
  default: return "";
  }
}

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

/* ---- timers: a list per kind, ordered by start (every member of a list shares its timeout) */

#define CONN_OF(l) ((struct conn *)((char *)(l) - offsetof(struct conn, link)))

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
static struct conn *first_of(enum timer kind) { return lists[kind].next == &lists[kind] ? NULL : CONN_OF(lists[kind].next); }

/* Runs `kind` from now, unless it already runs: a head's clock starts at its first byte, not
 * at its latest one. */
static void set_timer(struct conn *c, enum timer kind) {
  if (c->timer == kind) return;
  if (c->timer != T_NONE) link_remove(&c->link);
  c->timer = kind;
  if (kind == T_NONE) return;
  c->since = now_ms;
  link_append(&lists[kind], &c->link);
}

/* ---- dates */

/* IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". Always in the C locale. */
static void http_date(time_t t, char out[32]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Now, formatted once a second: a busy server answers thousands of requests in one. */
static const char *now_date(void) {
  static time_t second = -1;
  static char text[32];
  time_t t = time(NULL);
  if (t != second) {
    second = t;
    http_date(t, text);
  }
  return text;
}

/* The three forms RFC 9110 §5.6.7 says a recipient accepts; 0 if `s` is none of them. */
static int parse_date(const char *s, size_t n, time_t *out) {
  static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"};
  char text[64];
  if (n >= sizeof text) return 0;
  memcpy(text, s, n);
  text[n] = '\0';
  for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
    struct tm tm = {0};
    const char *end = strptime(text, formats[i], &tm);
    if (end && *end == '\0') {
      *out = timegm(&tm);
      return 1;
    }
  }
  return 0;
}

/* ---- connections: output, teardown */

static void watch(struct conn *c, uint32_t events) {
  if (events == c->events) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->events = events;
}

static void drop_input(struct conn *c) {
  free(c->in);
  c->in = NULL;
  c->in_len = c->in_cap = c->scan = c->field_bytes = 0;
  c->lines = 0;
  c->skipping = 0;
}

static void destroy(struct conn *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  if (c->file >= 0) close(c->file);
  set_timer(c, T_NONE);
  free(c->in);
  free(c->out);
  free(c);
  if (accept_paused) { /* a descriptor is free again */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener};
    epoll_ctl(epfd, EPOLL_CTL_MOD, listener, &ev);
    accept_paused = 0;
  }
}

static void append(struct conn *c, const char *data, size_t n) {
  if (c->out_len + n > c->out_cap) {
    while (c->out_len + n > c->out_cap) c->out_cap = c->out_cap ? 2 * c->out_cap : 512;
    c->out = xrealloc(c->out, c->out_cap);
  }
  memcpy(c->out + c->out_len, data, n);
  c->out_len += n;
}

/* Adds to the response being built in `scratch` (a head's fields are short; see SCRATCH_BYTES). */
__attribute__((format(printf, 1, 2))) static void put(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(scratch + scratch_len, sizeof scratch - scratch_len, fmt, ap);
  va_end(ap);
  if (n > 0) scratch_len += (size_t)n < sizeof scratch - scratch_len ? (size_t)n : sizeof scratch - scratch_len - 1;
}

/* Starts a response head: the status line and the fields every answer has. */
static void begin_head(int status) {
  scratch_len = 0;
  put("HTTP/1.1 %d %s\r\nDate: %s\r\nServer: netkata-reference\r\n", status, reason(status), now_date());
}

/* Ends the head and queues it. `last`: the connection ends with this answer (and says so). */
static void end_head(struct conn *c, int last) {
  if (last) {
    put("Connection: close\r\n");
    c->closing = 1;
  }
  put("\r\n");
  append(c, scratch, scratch_len);
}

/* An answer without a file: a short text body saying why (none for a HEAD). `extra` is more
 * field lines, each ending in CRLF, or NULL. */
static void send_text(struct conn *c, int status, const char *extra, const char *why, int head_only, int last) {
  char body[256];
  int n = snprintf(body, sizeof body, "%d %s: %s\n", status, reason(status), why);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof body ? (size_t)n : sizeof body - 1;
  begin_head(status);
  put("Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n", len);
  if (extra) put("%s", extra);
  end_head(c, last);
  if (!head_only) append(c, body, len);
}

/* A broken head, or a timeout: answer, and take nothing more from this connection. */
static void refuse(struct conn *c, int status, const char *why) {
  drop_input(c);
  send_text(c, status, NULL, why, 0, 1);
}

static int busy(const struct conn *c) { return c->out_off < c->out_len || c->file >= 0; }

/* Sends pending output, then file bytes up to one turn's share; 0 if the connection is gone. */
static int flush(struct conn *c) {
  while (c->out_off < c->out_len) {
    /* MSG_MORE: a head with a file behind it waits for the file's first bytes, so a small
     * file leaves in one segment with its head (as nginx's tcp_nopush). */
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | (c->file >= 0 ? MSG_MORE : 0));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 1;
      destroy(c);
      return 0;
    }
    c->out_off += (size_t)n;
  }
  if (c->out) { /* 10,000 idle connections keep no buffers */
    free(c->out);
    c->out = NULL;
    c->out_off = c->out_len = c->out_cap = 0;
  }
  /* At most SEND_TURN_BYTES per turn, so one fast reader cannot starve the rest; the kernel
   * says how much fits (a client that does not read gets EAGAIN, and EPOLLOUT brings us back
   * when it does). */
  for (size_t budget = SEND_TURN_BYTES; c->file >= 0 && budget > 0;) {
    size_t chunk = c->file_left < budget ? (size_t)c->file_left : budget;
    ssize_t n = sendfile(c->fd, c->file, &c->file_off, chunk);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    if (n <= 0) { /* an error, or the file got shorter: its Content-Length cannot be kept */
      destroy(c);
      return 0;
    }
    c->file_left -= (uint64_t)n;
    budget -= (size_t)n;
    if (c->file_left == 0) {
      close(c->file);
      c->file = -1;
    }
  }
  return 1;
}

/* ---- parsing (RFC 9112 §2, §3, §5) */

static int is_tchar(unsigned char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}
static int is_token(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_tchar((unsigned char)s[i])) return 0;
  return 1;
}

/* Removes `n` bytes from the front of the input; the head scan starts again after them. */
static void consume(struct conn *c, size_t n) {
  c->in_len -= n;
  if (c->in_len == 0) {
    free(c->in); /* an idle connection keeps no buffer */
    c->in = NULL;
    c->in_cap = 0;
  } else {
    memmove(c->in, c->in + n, c->in_len);
  }
  c->scan = c->field_bytes = 0;
  c->lines = 0;
}

/* Drops what has come of a request body (nothing here takes one). */
static void skip_body(struct conn *c) {
  if (c->skipping == 0 || c->in_len == 0) return;
  size_t n = c->skipping < c->in_len ? (size_t)c->skipping : c->in_len;
  c->skipping -= n;
  consume(c, n);
}

/* Scans the head at the front of the input, from where the last scan stopped. Returns its
 * length once its blank line is in, 0 while it is not, or -1 with *status and *why for a head
 * that passes a limit, as soon as it does (never waiting for the rest of it). */
static long scan_head(struct conn *c, int *status, const char **why) {
  while (c->scan < c->in_len) {
    char *lf = memchr(c->in + c->scan, '\n', c->in_len - c->scan);
    if (!lf) break;
    size_t end = (size_t)(lf - c->in) + 1, len = end - c->scan;
    if (c->lines == 0) {
      if (end > MAX_REQUEST_LINE_BYTES) {
        *status = 414, *why = "the request line is longer than 8192 bytes";
        return -1;
      }
    } else if (len == 1 || (len == 2 && c->in[c->scan] == '\r')) { /* a bare LF ends a line too */
      c->scan = end;
      return (long)end;
    } else {
      c->field_bytes += len;
      if (c->field_bytes > MAX_HEADER_BYTES) {
        *status = 431, *why = "the header section is longer than 16384 bytes";
        return -1;
      }
      if (c->lines > MAX_HEADER_FIELDS) { /* this line is field number lines */
        *status = 431, *why = "more than 100 header fields";
        return -1;
      }
    }
    c->lines++;
    c->scan = end;
  }
  /* A line without its end yet: its end is at least one more byte, so a request line this long
   * already passes the limit; so does a field line, unless it is the \r of the blank line. */
  size_t partial = c->in_len - c->scan;
  if (c->lines == 0 && partial >= MAX_REQUEST_LINE_BYTES) {
    *status = 414, *why = "the request line is longer than 8192 bytes";
    return -1;
  }
  if (c->lines > 0 && partial > 1 && c->field_bytes + partial >= MAX_HEADER_BYTES) {
    *status = 431, *why = "the header section is longer than 16384 bytes";
    return -1;
  }
  return 0;
}

/* Fills `r` from the whole head in[0, len) (scan_head found its end and checked its limits).
 * Returns 0, or the status a broken head gets, with *why. */
static int parse_head(const char *in, size_t len, struct request *r, const char **why) {
  const char *p = in, *end = in + len;
  const char *lf = memchr(p, '\n', (size_t)(end - p));
  size_t n = (size_t)(lf - p);
  if (n > 0 && p[n - 1] == '\r') n--;
  /* METHOD SP target SP version: exactly three parts, one space apart. */
  const char *sp1 = memchr(p, ' ', n);
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(p + n - sp1 - 1)) : NULL;
  if (!sp2 || memchr(sp2 + 1, ' ', (size_t)(p + n - sp2 - 1))) {
    *why = "a request line is METHOD SP target SP version, one space apart";
    return 400;
  }
  r->method = p, r->method_len = (size_t)(sp1 - p);
  r->target = sp1 + 1, r->target_len = (size_t)(sp2 - sp1 - 1);
  const char *version = sp2 + 1;
  size_t version_len = (size_t)(p + n - version);
  if (!is_token(r->method, r->method_len)) {
    *why = "the method is not a token";
    return 400;
  }
  if (r->target_len == 0) {
    *why = "the request target is empty";
    return 400;
  }
  for (size_t i = 0; i < r->target_len; i++) {
    unsigned char ch = (unsigned char)r->target[i];
    if (ch <= 0x20 || ch >= 0x7f) {
      *why = "the request target has spaces or control bytes";
      return 400;
    }
  }
  if (version_len == 8 && memcmp(version, "HTTP/1.1", 8) == 0) {
    r->minor = 1;
  } else if (version_len == 8 && memcmp(version, "HTTP/1.0", 8) == 0) {
    r->minor = 0;
  } else if (version_len == 8 && memcmp(version, "HTTP/", 5) == 0 && version[5] >= '0' && version[5] <= '9' && version[6] == '.' &&
             version[7] >= '0' && version[7] <= '9') {
    *why = "only HTTP/1.0 and HTTP/1.1 are served";
    return 505;
  } else {
    *why = "the version is not HTTP/x.y";
    return 400;
  }
  r->nfields = 0;
  for (p = lf + 1; p < end; p = lf + 1) {
    lf = memchr(p, '\n', (size_t)(end - p));
    n = (size_t)(lf - p);
    if (n > 0 && p[n - 1] == '\r') n--;
    if (n == 0) break; /* the blank line */
    /* obs-fold (a line starting with whitespace continues the last one): refused, RFC 9112 §5.2. */
    if (p[0] == ' ' || p[0] == '\t') {
      *why = "a folded header line (obs-fold)";
      return 400;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p) {
      *why = "a header line without a name and a colon";
      return 400;
    }
    /* Whitespace between the name and the colon: refused, RFC 9112 §5.1 (request smuggling). */
    if (!is_token(p, (size_t)(colon - p))) {
      *why = "a header name that is not a token";
      return 400;
    }
    const char *v = colon + 1, *v_end = p + n;
    while (v < v_end && (*v == ' ' || *v == '\t')) v++;
    while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t')) v_end--;
    for (const char *q = v; q < v_end; q++) {
      unsigned char ch = (unsigned char)*q;
      if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
        *why = "a header value with control bytes";
        return 400;
      }
    }
    struct field *f = &r->fields[r->nfields++];
    f->name = p, f->name_len = (size_t)(colon - p);
    f->value = v, f->value_len = (size_t)(v_end - v);
  }
  return 0;
}

static int name_is(const struct field *f, const char *name) { return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0; }

/* How many times a field came, and its first occurrence. */
static int field_count(const struct request *r, const char *name, const struct field **first) {
  int count = 0;
  if (first) *first = NULL;
  for (int i = 0; i < r->nfields; i++) {
    if (!name_is(&r->fields[i], name)) continue;
    if (count++ == 0 && first) *first = &r->fields[i];
  }
  return count;
}

/* The comma-separated items of every `name` field, trimmed, one call of `each` per item;
 * stops at the first for which it returns nonzero and returns that. */
static int each_item(const struct request *r, const char *name, int (*each)(const char *, size_t, const void *), const void *arg) {
  for (int i = 0; i < r->nfields; i++) {
    const struct field *f = &r->fields[i];
    if (!name_is(f, name)) continue;
    const char *p = f->value, *end = f->value + f->value_len;
    while (p <= end) {
      const char *comma = memchr(p, ',', (size_t)(end - p));
      const char *item_end = comma ? comma : end, *s = p;
      while (s < item_end && (*s == ' ' || *s == '\t')) s++;
      while (item_end > s && (item_end[-1] == ' ' || item_end[-1] == '\t')) item_end--;
      int result = each(s, (size_t)(item_end - s), arg);
      if (result) return result;
      if (!comma) break;
      p = comma + 1;
    }
  }
  return 0;
}

static int is_close(const char *s, size_t n, const void *arg) {
  (void)arg;
  return n == 5 && strncasecmp(s, "close", 5) == 0;
}

/* The body that follows the head, by its Content-Length: read past, since nothing here takes
 * a body. Returns its length, or -1 with *status and *why: Transfer-Encoding is not supported
 * (501); a Content-Length that is not one decimal number, or comes twice, is 400 (RFC 9112
 * §6.3: a framing doubt is never guessed). */
static long long body_length(const struct request *r, int *status, const char **why) {
  const struct field *length;
  int lengths = field_count(r, "content-length", &length);
  if (field_count(r, "transfer-encoding", NULL)) {
    if (lengths) *status = 400, *why = "both Transfer-Encoding and Content-Length";
    else *status = 501, *why = "Transfer-Encoding is not supported by this server";
    return -1;
  }
  if (!lengths) return 0;
  long long n = 0;
  int digits = lengths == 1 && length->value_len >= 1 && length->value_len <= 16;
  for (size_t i = 0; digits && i < length->value_len; i++) {
    if (length->value[i] < '0' || length->value[i] > '9') digits = 0;
    else n = n * 10 + (length->value[i] - '0');
  }
  if (!digits) {
    *status = 400, *why = "an invalid Content-Length";
    return -1;
  }
  if (n > MAX_BODY_BYTES) {
    *status = 413, *why = "a body larger than 1 MiB";
    return -1;
  }
  return n;
}

/* ---- paths: from a target to a file inside the folder. Every check is made on what the
 * kernel will open (the real path, links followed), never on the text alone: a `..` hides
 * behind percent-encoding (%2e%2e), an encoded slash (%2f) or a symbolic link. */

struct resolved {
  int status; /* 200: `file` is a regular file inside the folder; 301: a folder without its slash */
  const char *why;
  char file[PATH_MAX];
};

static int hex(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned char b = s[i];
    size_t more;
    unsigned char lo = 0x80, hi = 0xbf; /* the bounds of the byte after the first */
    if (b < 0x80) more = 0;
    else if (b >= 0xc2 && b <= 0xdf) more = 1;
    else if (b >= 0xe0 && b <= 0xef) more = 2, lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
    else if (b >= 0xf0 && b <= 0xf4) more = 3, lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
    else return 0;
    if (i + more >= n) return 0; /* the sequence is cut short */
    for (size_t k = 1; k <= more; k++) {
      unsigned char t = s[i + k];
      if (k == 1 ? (t < lo || t > hi) : (t < 0x80 || t > 0xbf)) return 0;
    }
    i += more + 1;
  }
  return 1;
}

/* Whether `real`, a path with every link resolved, is the folder or inside it. */
static int contains(const char *real) {
  if (root_len == 1) return 1; /* the folder is / */
  return strncmp(real, root, root_len) == 0 && (real[root_len] == '\0' || real[root_len] == '/');
}

/* The real path of `lexical` (links followed) into r->file, if it exists and is inside the
 * folder; else r->status says why not. Then its stat. */
static int inside(const char *lexical, struct resolved *r, struct stat *st) {
  if (!realpath(lexical, r->file) || stat(r->file, st) < 0) {
    r->status = 404, r->why = "no such file";
    return 0;
  }
  if (!contains(r->file)) {
    r->status = 403, r->why = "a link that leads out of the folder";
    return 0;
  }
  return 1;
}

/* The path of an origin-form (/a/b?q) or absolute-form (http://host/a/b?q) target (RFC 9112
 * §3.2): where it starts in `target`, and its length; NULL for anything else. */
static const char *target_path(const char *target, size_t n, size_t *len) {
  const char *p = target, *end = target + n;
  size_t scheme = n >= 7 && strncasecmp(p, "http://", 7) == 0 ? 7 : n >= 8 && strncasecmp(p, "https://", 8) == 0 ? 8 : 0;
  if (scheme) {
    p += scheme;
    while (p < end && *p != '/' && *p != '?' && *p != '#') p++;
    if (p == end) {
      *len = 1;
      return "/";
    }
  }
  if (*p != '/') return NULL;
  const char *q = p;
  while (q < end && *q != '?' && *q != '#') q++;
  *len = (size_t)(q - p);
  return p;
}

static void resolve(const char *raw, size_t raw_len, struct resolved *r) {
  static char decoded[MAX_REQUEST_LINE_BYTES + 1], lexical[JOIN_BYTES];
  /* Percent-decoding to bytes, then UTF-8 (RFC 3986 §2.1), before anything looks at them. */
  size_t n = 0;
  for (size_t i = 0; i < raw_len; i++) {
    if (raw[i] != '%') {
      decoded[n++] = raw[i];
      continue;
    }
    int h = i + 2 < raw_len ? hex(raw[i + 1]) : -1, l = h >= 0 ? hex(raw[i + 2]) : -1;
    if (l < 0 || (h == 0 && l == 0)) {
      r->status = 400, r->why = "a malformed percent-escape, a NUL or invalid UTF-8 in the path";
      return;
    }
    decoded[n++] = (char)(h * 16 + l);
    i += 2;
  }
  decoded[n] = '\0';
  if (!utf8_valid((const unsigned char *)decoded, n)) {
    r->status = 400, r->why = "a malformed percent-escape, a NUL or invalid UTF-8 in the path";
    return;
  }
  /* Segments split after decoding (an encoded slash separates them like any other), without
   * empty and `.` ones; a `..` is refused, whatever lies behind it. */
  memcpy(lexical, root, root_len + 1);
  size_t len = root_len;
  for (const char *seg = decoded;;) {
    const char *slash = strchr(seg, '/');
    size_t seg_len = slash ? (size_t)(slash - seg) : strlen(seg);
    if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') {
      r->status = 403, r->why = "a .. segment";
      return;
    }
    if (seg_len > 0 && !(seg_len == 1 && seg[0] == '.')) {
      if (lexical[len - 1] != '/') lexical[len++] = '/';
      memcpy(lexical + len, seg, seg_len);
      len += seg_len;
      lexical[len] = '\0';
    }
    if (!slash) break;
    seg = slash + 1;
  }
  struct stat st;
  if (!inside(lexical, r, &st)) return;
  int trailing = n > 0 && decoded[n - 1] == '/';
  if (S_ISDIR(st.st_mode)) {
    if (!trailing) {
      r->status = 301, r->why = "a folder: its path ends with /";
      return;
    }
    snprintf(lexical, sizeof lexical, "%s/index.html", r->file);
    if (!inside(lexical, r, &st)) return;
  } else if (trailing) {
    r->status = 404, r->why = "not a folder";
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    r->status = 404, r->why = "not a regular file";
    return;
  }
  r->status = 200;
}

/* ---- answers (RFC 9110) */

/* By the file name's last extension, case-insensitively; application/octet-stream for the rest. */
static const char *content_type(const char *file) {
  static const char *const types[][2] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},   {"txt", "text/plain; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"}, {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},         {"svg", "image/svg+xml"},               {"png", "image/png"},
      {"jpg", "image/jpeg"},                {"jpeg", "image/jpeg"},                 {"gif", "image/gif"},
      {"webp", "image/webp"},               {"ico", "image/x-icon"},                {"pdf", "application/pdf"},
      {"wasm", "application/wasm"},
  };
  const char *dot = strrchr(file, '.'), *slash = strrchr(file, '/');
  if (dot && (!slash || dot > slash + 1)) { /* a leading dot (.profile) is a name, not an extension */
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
      if (strcasecmp(dot + 1, types[i][0]) == 0) return types[i][1];
  }
  return "application/octet-stream";
}

static int opaque_equal(const char *s, size_t n, const void *etag) {
  if (n >= 2 && s[0] == 'W' && s[1] == '/') s += 2, n -= 2; /* weak comparison: W/"x" matches "x" */
  return n == strlen(etag) && memcmp(s, etag, n) == 0;
}

/* Whether the client's copy is current, so the answer is 304 (RFC 9110 §13.2.2): If-None-Match
 * decides when present (a list of ETags, or *); else If-Modified-Since, to the second. */
static int not_modified(const struct request *r, const char *etag, time_t mtime) {
  const struct field *f;
  if (field_count(r, "if-none-match", &f)) {
    for (int i = 0; i < r->nfields; i++)
      if (name_is(&r->fields[i], "if-none-match") && r->fields[i].value_len == 1 && r->fields[i].value[0] == '*') return 1;
    return each_item(r, "if-none-match", opaque_equal, etag);
  }
  time_t since;
  /* Twice is a list of dates, which is no date: ignored, as one that does not parse. */
  if (field_count(r, "if-modified-since", &f) != 1 || !parse_date(f->value, f->value_len, &since)) return 0;
  return mtime <= since;
}

enum range { RANGE_WHOLE, RANGE_PART, RANGE_UNSATISFIABLE };

/* Decimal digits, saturating (a number past any file's size acts as one). */
static uint64_t digits_value(const char *s, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(s[i] - '0');
  return v;
}

/* One byte range (bytes=a-b, bytes=a-, bytes=-n) of a file of `size` bytes. A Range that does
 * not parse, names another unit or asks for several is ignored: the whole file is a valid
 * answer to any Range (RFC 9110 §14.2), and multipart answers are not asked for. */
static enum range range_of(const struct request *r, uint64_t size, uint64_t *start, uint64_t *end) {
  const struct field *f;
  if (field_count(r, "range", &f) != 1 || f->value_len < 6 || memcmp(f->value, "bytes=", 6) != 0) return RANGE_WHOLE;
  const char *p = f->value + 6, *e = f->value + f->value_len;
  const char *first = p;
  while (p < e && *p >= '0' && *p <= '9') p++;
  size_t first_len = (size_t)(p - first);
  if (p == e || *p != '-') return RANGE_WHOLE;
  const char *last = ++p;
  while (p < e && *p >= '0' && *p <= '9') p++;
  size_t last_len = (size_t)(p - last);
  if (p != e || (first_len == 0 && last_len == 0)) return RANGE_WHOLE;
  if (first_len == 0) { /* the last n bytes */
    uint64_t suffix = digits_value(last, last_len);
    if (suffix == 0 || size == 0) return RANGE_UNSATISFIABLE;
    *start = suffix >= size ? 0 : size - suffix;
    *end = size - 1;
    return RANGE_PART;
  }
  *start = digits_value(first, first_len);
  uint64_t to = last_len ? digits_value(last, last_len) : UINT64_MAX;
  /* a-b with b before a is not a range at all (ignored); a start past the end is one that cannot be met. */
  if (to < *start) return RANGE_WHOLE;
  if (*start >= size) return RANGE_UNSATISFIABLE;
  *end = to < size - 1 ? to : size - 1;
  return RANGE_PART;
}

static int method_is(const struct request *r, const char *m) { return r->method_len == strlen(m) && memcmp(r->method, m, r->method_len) == 0; }

/* A regular file inside the folder, open: 304, 416, or its head (200 or 206) with the file
 * to send after it. */
static void answer_file(struct conn *c, const struct request *req, const char *name, int fd, const struct stat *st, int last) {
  int head_only = method_is(req, "HEAD");
  uint64_t size = (uint64_t)st->st_size;
  char etag[48], modified[32], validators[128];
  /* A validator that changes when the file's size or modification time does (as nginx's). */
  snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st->st_mtime, (unsigned long long)size);
  http_date(st->st_mtime, modified);
  snprintf(validators, sizeof validators, "ETag: %s\r\nLast-Modified: %s\r\n", etag, modified);
  if (not_modified(req, etag, st->st_mtime)) { /* conditions come before Range */
    close(fd);
    begin_head(304);
    put("%s", validators);
    end_head(c, last);
    return;
  }
  uint64_t start = 0, end = size ? size - 1 : 0;
  enum range range = head_only ? RANGE_WHOLE : range_of(req, size, &start, &end);
  if (range == RANGE_UNSATISFIABLE) {
    close(fd);
    char extra[64];
    snprintf(extra, sizeof extra, "Content-Range: bytes */%llu\r\n", (unsigned long long)size);
    send_text(c, 416, extra, "the range starts past the end of the file", head_only, last);
    return;
  }
  if (range == RANGE_WHOLE) start = 0, end = size ? size - 1 : 0;
  uint64_t length = size ? end - start + 1 : 0;
  begin_head(range == RANGE_PART ? 206 : 200);
  put("Content-Type: %s\r\nContent-Length: %llu\r\nAccept-Ranges: bytes\r\n%s", content_type(name), (unsigned long long)length, validators);
  if (range == RANGE_PART) put("Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)start, (unsigned long long)end, (unsigned long long)size);
  end_head(c, last);
  if (head_only || length == 0) {
    close(fd);
    return;
  }
  c->file = fd; /* sent by flush(), as fast as the client takes it */
  c->file_off = (off_t)start;
  c->file_left = length;
}

/* Answers one request: queues its head, and a text body or the file to send after it. */
static void answer(struct conn *c, const struct request *req) {
  static const char *const refused[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"};
  static struct resolved found;
  int head_only = method_is(req, "HEAD");
  /* HTTP/1.0, or Connection: close: the connection ends with this answer. */
  int last = req->minor == 0 || each_item(req, "connection", is_close, NULL);
  if (req->minor == 1 && field_count(req, "host", NULL) != 1) {
    send_text(c, 400, NULL, "HTTP/1.1 needs exactly one Host", head_only, 1);
    return;
  }
  if (!head_only && !method_is(req, "GET")) {
    int known = 0;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) known |= method_is(req, refused[i]);
    if (known) send_text(c, 405, "Allow: GET, HEAD\r\n", "the method is not served here", head_only, last);
    else send_text(c, 501, NULL, "a method this server does not know", head_only, last);
    return;
  }
  size_t raw_len;
  const char *raw = target_path(req->target, req->target_len, &raw_len);
  if (!raw) {
    send_text(c, 400, NULL, "the target is neither /path nor http://host/path", head_only, 1);
    return;
  }
  resolve(raw, raw_len, &found);
  if (found.status == 301) {
    char location[MAX_REQUEST_LINE_BYTES + 32];
    snprintf(location, sizeof location, "Location: %.*s/\r\n", (int)raw_len, raw);
    send_text(c, 301, location, found.why, head_only, last);
    return;
  }
  if (found.status != 200) {
    send_text(c, found.status, NULL, found.why, head_only, found.status == 400 || last);
    return;
  }
  /* O_NONBLOCK: should the file become a FIFO after resolve() looked, open must not wait. */
  int fd = open(found.file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    send_text(c, 403, NULL, "the file cannot be read", head_only, last);
    return;
  }
  answer_file(c, req, found.file, fd, &st, last);
}

/* Takes the next request out of the input and queues its answer: 1 if it did (or refused a
 * broken one), 0 while no whole head is in. */
static int serve_next(struct conn *c) {
  static struct request req;
  skip_body(c);
  if (c->skipping > 0) return 0;
  if (c->lines == 0) { /* empty lines before a request line are skipped (RFC 9112 §2.2) */
    size_t blank = 0;
    while (blank < c->in_len && (c->in[blank] == '\r' || c->in[blank] == '\n')) blank++;
    if (blank) consume(c, blank);
  }
  int status = 0;
  const char *why = NULL;
  long head = scan_head(c, &status, &why);
  if (head < 0) {
    refuse(c, status, why);
    return 1;
  }
  if (head == 0) return 0;
  set_timer(c, T_NONE); /* the head is whole: no clock runs while it is answered */
  status = parse_head(c->in, (size_t)head, &req, &why);
  long long body = status ? -1 : body_length(&req, &status, &why);
  if (status) {
    refuse(c, status, why);
    return 1;
  }
  answer(c, &req);
  consume(c, (size_t)head);
  c->skipping = (uint64_t)body;
  if (c->closing) drop_input(c); /* the last answer: nothing after it is read */
  return 1;
}

/* After any event on a connection: answer, send, decide, and set its timer and what epoll
 * watches. */
static void update(struct conn *c) {
  int again = 0; /* whole requests left over from this turn */
  for (int round = 0;; round++) {
    if (!flush(c)) return;
    if (busy(c) || c->closing) break; /* waiting for the socket, or done */
    if (round == TURN_ROUNDS) {
      again = c->in_len > 0; /* others get their turn first (EPOLLOUT below brings us back) */
      break;
    }
    if (!serve_next(c)) break;
  }
  /* The client said all it will say, and every whole request of it is answered. */
  if (c->peer_eof && !c->closing && !busy(c) && !again) c->closing = 1;
  if (c->closing && !busy(c) && !c->write_shut) {
    /* Everything owed is out: send FIN, then read and discard until the client's FIN.
     * Closing with its bytes unread would send a reset, which can destroy our last answer in
     * flight (RFC 9112 §9.6). */
    shutdown(c->fd, SHUT_WR);
    c->write_shut = 1;
    drop_input(c);
    set_timer(c, T_LINGER);
  }
  if (c->write_shut && c->peer_eof) {
    destroy(c);
    return;
  }
  if (!c->closing && !busy(c)) set_timer(c, c->in_len == 0 && c->skipping == 0 ? T_IDLE : T_HEADER);
  else if (!c->write_shut) set_timer(c, T_NONE); /* an answer under way: no clock runs */
  uint32_t events = 0;
  /* Behind an answer under way, pipelined requests beyond one head wait in the client's socket. */
  if (!c->peer_eof && (c->closing || !busy(c) || c->in_len <= INPUT_LIMIT_BYTES)) events |= EPOLLIN;
  /* Level-triggered EPOLLOUT fires on every turn while the socket has room: ask for it only
   * while there is something to send (or requests left over from this turn). */
  if (busy(c) || again) events |= EPOLLOUT;
  watch(c, events);
}

static void on_readable(struct conn *c) {
  static char bite[READ_BYTES]; /* shared: each connection keeps only what it has not parsed */
  ssize_t n = read(c->fd, bite, sizeof bite);
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    destroy(c);
    return;
  }
  if (n == 0) c->peer_eof = 1; /* its answers are still owed; then we close */
  if (n > 0 && !c->closing) {   /* a closing connection discards what comes */
    if (c->in_len + (size_t)n > c->in_cap) {
      size_t cap = c->in_cap ? c->in_cap : 1024;
      while (cap < c->in_len + (size_t)n) cap *= 2;
      c->in = xrealloc(c->in, cap);
      c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, bite, (size_t)n);
    c->in_len += (size_t)n;
    skip_body(c);
  }
  update(c);
}

static void accept_all(void) {
  for (int i = 0; i < MAX_ACCEPTS; i++) {
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
    c->file = -1;
    c->events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    set_timer(c, T_IDLE); /* a fresh connection waits for its first byte like an idle one */
  }
}

/* Milliseconds until the nearest deadline, or -1 for none. */
static int next_timeout(void) {
  int64_t next = -1;
  for (int kind = T_IDLE; kind < T_KINDS; kind++) {
    struct conn *c = first_of(kind);
    if (c && (next < 0 || c->since + timeouts[kind] < next)) next = c->since + timeouts[kind];
  }
  if (next < 0) return -1;
  return next <= now_ms ? 0 : (int)(next - now_ms);
}

static void run_timers(void) {
  struct conn *c;
  while ((c = first_of(T_IDLE)) && c->since + timeouts[T_IDLE] <= now_ms) destroy(c); /* silently */
  while ((c = first_of(T_HEADER)) && c->since + timeouts[T_HEADER] <= now_ms) {
    static char why[64];
    snprintf(why, sizeof why, "no whole request within %lld ms", (long long)timeouts[T_HEADER]);
    set_timer(c, T_NONE);
    refuse(c, 408, why);
    update(c);
  }
  while ((c = first_of(T_LINGER)) && c->since + timeouts[T_LINGER] <= now_ms) destroy(c);
}

/* A setting of milliseconds from the environment: a positive integer, or `fallback` if unset. */
static int64_t env_ms(const char *name, int64_t fallback) {
  const char *raw = getenv(name);
  if (!raw || !*raw) return fallback;
  char *end;
  long long v = strtoll(raw, &end, 10);
  if (*end || v <= 0) {
    fprintf(stderr, "%s must be a positive integer of milliseconds, not \"%s\"\n", name, raw);
    exit(1);
  }
  return v;
}

/* Docker stops the container with SIGTERM; as PID 1 without a handler it would be ignored. */
static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *port_env = getenv("PORT"), *files_dir = getenv("FILES_DIR");
  int port = port_env && *port_env ? atoi(port_env) : 8080;
  if (!files_dir || !*files_dir) {
    fprintf(stderr, "FILES_DIR is not set: it names the folder to serve\n");
    return 1;
  }
  if (!realpath(files_dir, root)) {
    perror(files_dir);
    return 1;
  }
  root_len = strlen(root);
  timeouts[T_HEADER] = env_ms("HEADER_TIMEOUT_MS", 10000);
  timeouts[T_IDLE] = env_ms("IDLE_TIMEOUT_MS", 60000);
  for (int kind = 0; kind < T_KINDS; kind++) lists[kind].prev = lists[kind].next = &lists[kind];
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is an error from send, not a signal */
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);

  listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  /* A long backlog: 10,000 clients may connect in a burst. */
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
    perror("listen");
    return 1;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener};
  epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
  printf("serving %s on %d (C, epoll)\n", root, port);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    now_ms = clock_ms();
    int n = epoll_wait(epfd, events, MAX_EVENTS, next_timeout());
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    now_ms = clock_ms();
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == &listener) {
        accept_all();
        continue;
      }
      /* Each connection appears once per batch, and only its own handler frees it. */
      struct conn *c = events[i].data.ptr;
      uint32_t e = events[i].events;
      if (e & EPOLLERR) destroy(c); /* a reset */
      else if (e & (EPOLLIN | EPOLLHUP)) on_readable(c);
      else if (e & EPOLLOUT) update(c);
    }
    /* After the batch: timers may free any connection, even one later in it. */
    run_timers();
  }
}
