/*
 * netkata-engine: userspace packet impairment (delay, jitter, loss, burst
 * loss, duplication, reordering, corruption, partition) through one NFQUEUE
 * queue, for kernels built without sch_netem.
 *
 * netkata-engine --queue N --config FILE --state-dir DIR --mark HEX
 *
 * The iptables rules that feed the queue (see netkata-link) skip packets
 * carrying MARK, which the engine puts on what it sends through its raw
 * socket (duplicates and delayed egress packets), so those are not queued
 * a second time.
 *
 * Per packet, in its direction's config: partition, loss (independent or
 * Gilbert-Elliott), corruption, delay with jitter or reordering, then at
 * release time an ACCEPT verdict (or, for delayed egress packets, a raw
 * send of our copy) plus an optional duplicate.  Held packets wait in a
 * min-heap keyed by (release time, arrival sequence), like netem's tfifo,
 * so equal release times keep arrival order.
 *
 * FILE holds key=value lines (# comments): generation, seed, and per
 * direction (egress. / ingress. prefix) delay_us, jitter_us, distribution
 * (uniform|normal|pareto|paretonormal), loss, ge_p, ge_r, ge_bad_loss,
 * ge_good_loss, duplicate, reorder, corrupt (probabilities 0..1) and
 * partition (0|1).  Missing keys are 0; ge_p > 0 selects the Gilbert-Elliott
 * model instead of loss.  SIGHUP re-reads it; a valid config
 * is applied and its generation written to DIR/applied, an invalid one is
 * logged, described in DIR/rejected and ignored.  SIGUSR1 writes counters to
 * DIR/stats; SIGTERM/SIGINT release every held packet and exit.
 *
 * The link must never quietly stop being the profile.  The queue does not
 * fail open: past its limit the kernel drops and counts (queue_dropped,
 * user_dropped in /proc/net/netfilter/nfnetlink_queue, which the stats
 * include), and what the engine cannot do as configured for lack of memory
 * is counted as degraded.  The grader compares these counters around each
 * test.
 *
 * Build (Debian bookworm):
 *   gcc -O2 -Wall -Wextra -o netkata-engine netkata-engine.c \
 *       -lnetfilter_queue -lmnl -lm
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define QUEUE_MAXLEN 65536
#define RCVBUF_BYTES (64 * 1024 * 1024)
/* One queued packet is at most 64 KiB of payload plus its attributes. */
#define MSG_BUF_BYTES (0xffff + 4096)
#define RECV_BATCH 64
#define SEND_BUF_BYTES (256 * 1024)
#define SNDBUF_BYTES (4 * 1024 * 1024)
/* netem's distribution tables hold 4096 quantiles stored as shorts scaled
 * by 8192, so their values live in [-4, 4). */
#define DIST_TABLE_SIZE 4096
#define DIST_LIMIT (32767.0 / 8192.0)
#define MAX_DELAY_US 3600000000LL
/* Packet copies (delayed egress, duplicates, corrupted packets) live in
 * the engine's memory, which the sidecar's cgroup limits (64 MiB): past
 * this budget a delayed egress packet waits in the kernel queue instead,
 * and a duplicate or corruption is skipped and counted as degraded, so a
 * flood can never get the engine OOM-killed (which would leave the link
 * unimpaired). */
#define COPY_BUDGET_BYTES (24 * 1024 * 1024)
/* A packet released this long after its time was delayed more than the
 * profile asked (the engine was starved of CPU). */
#define LATE_NS (10 * 1000000ULL)

enum dir { EGRESS, INGRESS, NDIR };
static const char *const dir_name[NDIR] = { "egress", "ingress" };

enum dist { DIST_UNIFORM, DIST_NORMAL, DIST_PARETO, DIST_PARETONORMAL, NDIST };
static const char *const dist_name[NDIST] = { "uniform", "normal", "pareto", "paretonormal" };

struct dir_cfg {
	int64_t delay_ns, jitter_ns;
	enum dist dist;
	double loss, duplicate, reorder, corrupt;
	double ge_p, ge_r, ge_bad_loss, ge_good_loss;
	bool partition;
};

struct config {
	long long generation;
	uint64_t seed;
	struct dir_cfg dir[NDIR];
};

struct dir_stats {
	uint64_t seen, dropped, duplicated, corrupted, reordered, delivered, ipv6;
};

struct dir_state {
	uint64_t rng[4];
	bool ge_bad;
	struct dir_stats st;
};

/* A held packet.  A stolen one already had its DROP verdict and is sent
 * from data through the raw socket (see handle_packet); the others get an
 * ACCEPT verdict by id.  data is only kept when the bytes are needed later
 * (corrupted, duplicated or stolen packets). */
struct held {
	uint64_t release_ns, seq;
	uint32_t id;
	uint16_t len;
	uint8_t dir;
	bool mangled, duplicate, stolen, timed;
	uint8_t *data;
};

static struct {
	unsigned queue;
	uint32_t mark;
	const char *config_path, *state_dir;
	struct config cfg;
	struct dir_state ds[NDIR];
	uint64_t enobufs, degraded, late;
	/* Packets released on a timer and the sum of how late each was (each
	 * clipped at LATE_NS; measured from when the engine read the packet,
	 * so the kernel queue's own wait is not in it): the wake-up latency
	 * the host added to the profile's delays, which the calibration adds
	 * to the round trip it expects. */
	uint64_t timed, lateness_us;
	size_t copy_bytes;
	struct mnl_socket *nl;
	unsigned portid;
	int raw_fd;
	struct held *heap;
	size_t heap_len, heap_cap;
	uint64_t seq;
	char sendbuf[SEND_BUF_BYTES];
	size_t sendlen;
	uint64_t now_ns;
	double dist_table[NDIST][DIST_TABLE_SIZE];
} E;

static void logmsg(const char *fmt, ...)
{
	va_list ap;
	fputs("netkata-engine: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void die(const char *what)
{
	logmsg("%s: %s", what, strerror(errno));
	exit(1);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unit(uint64_t s[4])
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static bool chance(uint64_t s[4], double p)
{
	return p > 0 && rng_unit(s) < p;
}

static void rng_seed(uint64_t s[4], uint64_t seed, enum dir d)
{
	/* Distinct streams per direction from one user seed. */
	uint64_t x = seed ^ (0x6e6b656e67696e65ULL * (uint64_t)(d + 1));
	for (int i = 0; i < 4; i++)
		s[i] = splitmix64(&x);
}

/* ---- jitter distributions ----
 * netem draws jitter as mu + sigma * table[random % 4096], with tables that
 * iproute2's maketable generators (normal.c, pareto.c, paretonormal.c)
 * compute.  We build the same 4096 quantiles at startup in double precision
 * instead of shipping the tables: normal is the standard normal quantile at
 * i/4096, pareto is (u^(-1/3) - 1.5) * 4/3 for u = 1 - i/4096 (Pareto with
 * a = 3, shifted to mean 0), and paretonormal is (normal + 3 * pareto) / 4
 * at the same quantile.  All are clamped to netem's [-4, 4) short range.
 * uniform is netem's non-table case: uniform in [-jitter, +jitter). */

static double std_normal_quantile(double q)
{
	double lo = -DIST_LIMIT, hi = DIST_LIMIT;
	for (int i = 0; i < 60; i++) {
		double mid = (lo + hi) / 2;
		if (0.5 + 0.5 * erf(mid / sqrt(2.0)) < q)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static double clamp_dist(double v)
{
	return v < -DIST_LIMIT ? -DIST_LIMIT : v > DIST_LIMIT ? DIST_LIMIT : v;
}

static void build_dist_tables(void)
{
	for (int i = 0; i < DIST_TABLE_SIZE; i++) {
		double q = (double)i / DIST_TABLE_SIZE;
		double normal = std_normal_quantile(q);
		double pareto = clamp_dist((1.0 / cbrt(1.0 - q) - 1.5) * (4.0 / 3.0));
		E.dist_table[DIST_NORMAL][i] = normal;
		E.dist_table[DIST_PARETO][i] = pareto;
		E.dist_table[DIST_PARETONORMAL][i] = clamp_dist((normal + 3 * pareto) / 4);
	}
}

static int64_t jitter_sample(uint64_t s[4], const struct dir_cfg *c)
{
	if (c->dist == DIST_UNIFORM)
		return (int64_t)((2 * rng_unit(s) - 1) * (double)c->jitter_ns);
	return (int64_t)(E.dist_table[c->dist][rng_next(s) % DIST_TABLE_SIZE] * (double)c->jitter_ns);
}

/* ---- state files ---- */

static void write_state_file(const char *name, const char *text)
{
	char path[4096], tmp[4100];
	snprintf(path, sizeof path, "%s/%s", E.state_dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		logmsg("cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		logmsg("cannot write %s: %s", path, strerror(errno));
}

/* Our queue's line of /proc/net/netfilter/nfnetlink_queue (this network
 * namespace's queues): queue_num peer_portid queue_total copy_mode
 * copy_range queue_dropped user_dropped id_sequence 1.  Returns false if
 * the queue is not there. */
static bool kernel_queue(unsigned long v[8])
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
	if (!f)
		return false;
	bool found = false;
	while (!found && fscanf(f, "%lu %lu %lu %lu %lu %lu %lu %lu %*d", &v[0], &v[1], &v[2], &v[3], &v[4],
				&v[5], &v[6], &v[7]) == 8)
		found = v[0] == E.queue;
	fclose(f);
	return found;
}

static void write_stats(void)
{
	char buf[3072];
	size_t n = 0;
	for (int d = 0; d < NDIR; d++) {
		const struct dir_stats *s = &E.ds[d].st;
		const char *p = dir_name[d];
		n += (size_t)snprintf(buf + n, sizeof buf - n,
			"%s.seen=%" PRIu64 "\n%s.dropped=%" PRIu64 "\n%s.duplicated=%" PRIu64 "\n"
			"%s.corrupted=%" PRIu64 "\n%s.reordered=%" PRIu64 "\n%s.delivered=%" PRIu64 "\n"
			"%s.ipv6=%" PRIu64 "\n",
			p, s->seen, p, s->dropped, p, s->duplicated, p, s->corrupted,
			p, s->reordered, p, s->delivered, p, s->ipv6);
	}
	/* bound=1: the kernel's queue exists and delivers to us, so nothing
	 * passes through --queue-bypass unimpaired. */
	unsigned long k[8] = { 0 };
	bool bound = kernel_queue(k) && k[1] == E.portid;
	n += (size_t)snprintf(buf + n, sizeof buf - n,
		"enobufs=%" PRIu64 "\ndegraded=%" PRIu64 "\nlate=%" PRIu64 "\ntimed=%" PRIu64 "\nlateness_us=%" PRIu64 "\n"
		"held=%zu\ncopy_bytes=%zu\nportid=%u\nbound=%d\n",
		E.enobufs, E.degraded, E.late, E.timed, E.lateness_us, E.heap_len, E.copy_bytes, E.portid, bound ? 1 : 0);
	snprintf(buf + n, sizeof buf - n,
		 "kernel.queue_total=%lu\nkernel.queue_dropped=%lu\nkernel.user_dropped=%lu\nkernel.id_sequence=%lu\n",
		 k[2], k[5], k[6], k[7]);
	write_state_file("stats", buf);
}

/* ---- config ---- */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static bool parse_prob(const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= 0 && x <= 1))
		return false;
	*out = x;
	return true;
}

static bool parse_us(const char *v, int64_t *out_ns)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < 0 || x > MAX_DELAY_US)
		return false;
	*out_ns = x * 1000;
	return true;
}

/* Returns NULL on success, else a message naming the bad line. */
static const char *parse_kv(struct config *c, const char *key, const char *val)
{
	char *end;
	if (!strcmp(key, "generation")) {
		errno = 0;
		c->generation = strtoll(val, &end, 10);
		return errno || end == val || *end ? "bad generation" : NULL;
	}
	if (!strcmp(key, "seed")) {
		errno = 0;
		c->seed = strtoull(val, &end, 0);
		return errno || end == val || *end || *val == '-' ? "bad seed" : NULL;
	}
	struct dir_cfg *d;
	if (!strncmp(key, "egress.", 7)) {
		d = &c->dir[EGRESS];
		key += 7;
	} else if (!strncmp(key, "ingress.", 8)) {
		d = &c->dir[INGRESS];
		key += 8;
	} else {
		return "unknown key";
	}
	if (!strcmp(key, "delay_us"))
		return parse_us(val, &d->delay_ns) ? NULL : "bad delay_us";
	if (!strcmp(key, "jitter_us"))
		return parse_us(val, &d->jitter_ns) ? NULL : "bad jitter_us";
	if (!strcmp(key, "distribution")) {
		for (int i = 0; i < NDIST; i++)
			if (!strcmp(val, dist_name[i])) {
				d->dist = (enum dist)i;
				return NULL;
			}
		return "bad distribution";
	}
	if (!strcmp(key, "partition")) {
		if (strcmp(val, "0") && strcmp(val, "1"))
			return "bad partition (0 or 1)";
		d->partition = val[0] == '1';
		return NULL;
	}
	static const struct { const char *name; size_t off; } probs[] = {
		{ "loss", offsetof(struct dir_cfg, loss) },
		{ "duplicate", offsetof(struct dir_cfg, duplicate) },
		{ "reorder", offsetof(struct dir_cfg, reorder) },
		{ "corrupt", offsetof(struct dir_cfg, corrupt) },
		{ "ge_p", offsetof(struct dir_cfg, ge_p) },
		{ "ge_r", offsetof(struct dir_cfg, ge_r) },
		{ "ge_bad_loss", offsetof(struct dir_cfg, ge_bad_loss) },
		{ "ge_good_loss", offsetof(struct dir_cfg, ge_good_loss) },
	};
	for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++)
		if (!strcmp(key, probs[i].name))
			return parse_prob(val, (double *)((char *)d + probs[i].off)) ? NULL : "bad probability (0..1)";
	return "unknown key";
}

/* Parses FILE into *out.  On error logs why and returns false, leaving the
 * caller's config in force. */
static bool load_config(struct config *out)
{
	FILE *f = fopen(E.config_path, "r");
	if (!f) {
		logmsg("config %s: %s", E.config_path, strerror(errno));
		return false;
	}
	struct config c;
	memset(&c, 0, sizeof c);
	char line[1024];
	int lineno = 0;
	bool ok = true;
	while (ok && fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		const char *err = "expected key=value";
		if (eq) {
			*eq = '\0';
			err = parse_kv(&c, trim(s), trim(eq + 1));
		}
		if (err) {
			logmsg("config %s:%d: %s; keeping generation %lld", E.config_path, lineno, err,
			       E.cfg.generation);
			char msg[256];
			snprintf(msg, sizeof msg, "%s:%d: %s\n", E.config_path, lineno, err);
			write_state_file("rejected", msg);
			ok = false;
		}
	}
	fclose(f);
	if (ok)
		*out = c;
	return ok;
}

static void describe_dir(char *buf, size_t n, const struct dir_cfg *d)
{
	snprintf(buf, n,
		 "delay=%lldus jitter=%lldus/%s loss=%g ge=%g/%g/%g/%g dup=%g reorder=%g corrupt=%g%s",
		 (long long)(d->delay_ns / 1000), (long long)(d->jitter_ns / 1000), dist_name[d->dist],
		 d->loss, d->ge_p, d->ge_r, d->ge_bad_loss, d->ge_good_loss, d->duplicate,
		 d->reorder, d->corrupt, d->partition ? " PARTITION" : "");
}

/* Each applied config restarts the PRNG streams and the GE chains, so a
 * given seed replays the same decisions for the same packet sequence. */
static void apply_config(const struct config *c)
{
	E.cfg = *c;
	for (int d = 0; d < NDIR; d++) {
		rng_seed(E.ds[d].rng, c->seed, (enum dir)d);
		E.ds[d].ge_bad = false;
	}
	char eg[512], in[512], gen[32];
	describe_dir(eg, sizeof eg, &c->dir[EGRESS]);
	describe_dir(in, sizeof in, &c->dir[INGRESS]);
	logmsg("config generation %lld seed %" PRIu64 ": egress %s; ingress %s", c->generation,
	       c->seed, eg, in);
	snprintf(gen, sizeof gen, "%lld\n", c->generation);
	write_state_file("applied", gen);
	write_stats();
}

/* ---- heap of held packets ---- */

static bool held_before(const struct held *a, const struct held *b)
{
	return a->release_ns < b->release_ns || (a->release_ns == b->release_ns && a->seq < b->seq);
}

static void heap_push(const struct held *h)
{
	if (E.heap_len == E.heap_cap) {
		size_t cap = E.heap_cap ? E.heap_cap * 2 : 1024;
		struct held *n = realloc(E.heap, cap * sizeof *n);
		if (!n)
			die("realloc");
		E.heap = n;
		E.heap_cap = cap;
	}
	size_t i = E.heap_len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!held_before(h, &E.heap[parent]))
			break;
		E.heap[i] = E.heap[parent];
		i = parent;
	}
	E.heap[i] = *h;
}

static struct held heap_pop(void)
{
	struct held top = E.heap[0], last = E.heap[--E.heap_len];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= E.heap_len)
			break;
		if (c + 1 < E.heap_len && held_before(&E.heap[c + 1], &E.heap[c]))
			c++;
		if (!held_before(&E.heap[c], &last))
			break;
		E.heap[i] = E.heap[c];
		i = c;
	}
	if (E.heap_len)
		E.heap[i] = last;
	return top;
}

/* ---- verdicts ---- */

static void flush_verdicts(void)
{
	if (E.sendlen && mnl_socket_sendto(E.nl, E.sendbuf, E.sendlen) < 0)
		logmsg("sending verdicts: %s", strerror(errno));
	E.sendlen = 0;
}

/* Verdicts are batched into one netlink write; the kernel handles every
 * message in it. */
static void queue_verdict(uint32_t id, int verdict, const uint8_t *pkt, uint16_t len)
{
	if (E.sendlen + MNL_ALIGN(len) + 256 > SEND_BUF_BYTES)
		flush_verdicts();
	struct nlmsghdr *nlh = nfq_nlmsg_put(E.sendbuf + E.sendlen, NFQNL_MSG_VERDICT, E.queue);
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	if (pkt)
		nfq_nlmsg_verdict_put_pkt(nlh, pkt, len);
	E.sendlen += nlh->nlmsg_len;
}

/* Sends a packet through the raw socket.  Its mark makes the iptables
 * rules skip it; an ingress packet's destination is local, so it is
 * delivered through lo. */
static void send_raw(const uint8_t *pkt, uint16_t len)
{
	/* Verdicts reinject their packets synchronously when sent: flushing
	 * them first keeps the release order on the wire. */
	flush_verdicts();
	struct sockaddr_in dst = { .sin_family = AF_INET };
	memcpy(&dst.sin_addr, pkt + 16, 4);
	if (sendto(E.raw_fd, pkt, len, 0, (struct sockaddr *)&dst, sizeof dst) < 0)
		logmsg("raw send: %s", strerror(errno));
}

static void free_copy(struct held *h)
{
	if (h->data)
		E.copy_bytes -= h->len;
	free(h->data);
}

static void release(struct held *h)
{
	if (h->stolen)
		send_raw(h->data, h->len);
	else
		queue_verdict(h->id, NF_ACCEPT, h->mangled ? h->data : NULL, h->len);
	E.ds[h->dir].st.delivered++;
	if (h->duplicate) {
		send_raw(h->data, h->len);
		E.ds[h->dir].st.duplicated++;
	}
	free_copy(h);
}

static void release_due(uint64_t now)
{
	while (E.heap_len && E.heap[0].release_ns <= now) {
		struct held h = heap_pop();
		/* Shutdown releases everything at once: not lateness. */
		if (now != UINT64_MAX && now - h.release_ns > LATE_NS)
			E.late++;
		if (now != UINT64_MAX && h.timed) {
			/* Clipped at LATE_NS: a stall that holds a few packets
			 * 100 ms must not move the mean the calibration adds. */
			uint64_t late = now - h.release_ns;
			E.timed++;
			E.lateness_us += (late > LATE_NS ? LATE_NS : late) / 1000;
		}
		release(&h);
	}
}

/* ---- per-packet decisions ---- */

static bool lose(struct dir_state *ds, const struct dir_cfg *c)
{
	if (c->ge_p > 0) {
		/* netem's gemodel: move between states first, then decide the
		 * loss with the new state's probability. */
		if (ds->ge_bad) {
			if (chance(ds->rng, c->ge_r))
				ds->ge_bad = false;
		} else if (chance(ds->rng, c->ge_p)) {
			ds->ge_bad = true;
		}
		return chance(ds->rng, ds->ge_bad ? c->ge_bad_loss : c->ge_good_loss);
	}
	return chance(ds->rng, c->loss);
}

/* Flips one random bit after the IP header.  The kernel copied the packet
 * to us with its transport checksum completed (we do not ask for
 * NFQA_CFG_F_GSO, so partial checksums are resolved before queueing) and
 * marks the mangled packet CHECKSUM_NONE, so the receiver verifies the
 * checksum in software and drops the damaged packet, as after a bit error
 * on a wire. */
static void corrupt(uint64_t s[4], uint8_t *pkt, uint16_t len)
{
	unsigned ihl = (pkt[0] & 0x0f) * 4u;
	unsigned start = len > ihl ? ihl : 0;
	unsigned byte = start + (unsigned)(rng_next(s) % (len - start));
	unsigned bit = (unsigned)(rng_next(s) % 8);
	pkt[byte] ^= (uint8_t)(1u << bit);

	/* A UDP checksum field of 0 means "no checksum": if the flip produced
	 * one, the receiver would accept the damage, so flip a different bit
	 * of the field instead (the field then has two bits changed from a
	 * single-bit value and can be neither 0 nor correct). */
	const struct iphdr *ip = (const struct iphdr *)pkt;
	bool first_fragment = (ntohs(ip->frag_off) & IP_OFFMASK) == 0;
	unsigned csum = ihl + 6;
	if (ip->protocol == IPPROTO_UDP && first_fragment && len >= csum + 2 &&
	    (byte == csum || byte == csum + 1) && pkt[csum] == 0 && pkt[csum + 1] == 0) {
		pkt[byte] ^= (uint8_t)(1u << bit);
		pkt[byte] ^= (uint8_t)(1u << ((bit + 1) % 8));
	}
}

static void handle_packet(uint32_t id, int hook, const uint8_t *payload, uint16_t len)
{
	enum dir d = (hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN) ? INGRESS : EGRESS;
	struct dir_state *ds = &E.ds[d];
	const struct dir_cfg *c = &E.cfg.dir[d];
	struct held h = { .id = id, .len = len, .dir = (uint8_t)d, .seq = E.seq++ };

	ds->st.seen++;
	if (len < sizeof(struct iphdr) || payload[0] >> 4 != 4) {
		/* IPv6 (and anything we cannot parse) passes untouched, in
		 * arrival order with the held IPv4 packets. */
		if (len && payload[0] >> 4 == 6)
			ds->st.ipv6++;
		h.release_ns = E.now_ns;
		heap_push(&h);
		return;
	}
	if (c->partition || lose(ds, c)) {
		queue_verdict(id, NF_DROP, NULL, 0);
		ds->st.dropped++;
		return;
	}
	h.mangled = chance(ds->rng, c->corrupt);
	h.duplicate = chance(ds->rng, c->duplicate);
	bool room = E.copy_bytes + len <= COPY_BUDGET_BYTES;
	if ((h.mangled || h.duplicate) && !room) {
		/* The coin flips above still happened, so the decisions for
		 * later packets stay those of the seed. */
		E.degraded++;
		h.mangled = h.duplicate = false;
	}

	int64_t delay = 0;
	if (c->delay_ns || c->jitter_ns) {
		/* netem: a reordered packet skips the delay and so overtakes
		 * the packets being held. */
		if (chance(ds->rng, c->reorder)) {
			ds->st.reordered++;
		} else {
			delay = c->delay_ns;
			if (c->jitter_ns)
				delay += jitter_sample(ds->rng, c);
			if (delay < 0)
				delay = 0;
		}
	}
	/* A locally sent packet held in the queue is still charged to its
	 * socket, so TCP Small Queues (and a UDP socket's send buffer) would
	 * throttle the sender to a few packets per delay period.  netem
	 * orphans delayed packets for the same reason; we drop the original
	 * now, which frees it, and send our copy at release time.  Past the
	 * copy budget packets wait in the kernel queue (its limit drops and
	 * counts). */
	h.stolen = d == EGRESS && delay > 0 && room && E.heap_len < QUEUE_MAXLEN;

	if (h.mangled || h.duplicate || h.stolen) {
		h.data = malloc(len);
		if (!h.data)
			die("malloc");
		memcpy(h.data, payload, len);
		E.copy_bytes += len;
	}
	if (h.mangled) {
		corrupt(ds->rng, h.data, len);
		ds->st.corrupted++;
	}
	if (h.stolen)
		queue_verdict(id, NF_DROP, NULL, 0);
	h.release_ns = E.now_ns + (uint64_t)delay;
	h.timed = delay > 0;
	heap_push(&h);
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) {
		logmsg("unparsable queue message");
		return MNL_CB_OK;
	}
	const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	const uint8_t *payload = NULL;
	uint16_t len = 0;
	if (attr[NFQA_PAYLOAD]) {
		payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	handle_packet(ntohl(ph->packet_id), ph->hook, payload, len);
	return MNL_CB_OK;
}

/* ---- netlink setup ---- */

static void config_request(void (*fill)(struct nlmsghdr *))
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, E.queue);
	nlh->nlmsg_flags |= NLM_F_ACK;
	fill(nlh);
	if (mnl_socket_sendto(E.nl, nlh, nlh->nlmsg_len) < 0)
		die("nfqueue config");
	ssize_t n = mnl_socket_recvfrom(E.nl, buf, sizeof buf);
	if (n < 0 || mnl_cb_run(buf, (size_t)n, 0, E.portid, NULL, NULL) < 0)
		die("nfqueue config");
}

static void fill_bind(struct nlmsghdr *nlh)
{
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
}

static void fill_params(struct nlmsghdr *nlh)
{
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_MAXLEN);
	/* Fail-open explicitly off: with it, a full queue (or our full socket
	 * buffer) accepts packets unimpaired and no counter of the kernel's
	 * says so.  Without it they are dropped and counted, and the grader
	 * reports a test that saw such drops instead of passing it. */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(0));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
}

static void open_queue(void)
{
	E.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!E.nl)
		die("netlink socket");
	if (mnl_socket_bind(E.nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink bind");
	E.portid = mnl_socket_get_portid(E.nl);
	int fd = mnl_socket_get_fd(E.nl), rcv = RCVBUF_BYTES, snd = SNDBUF_BYTES;
	/* FORCE needs CAP_NET_ADMIN (which the sidecar has) and ignores
	 * [rw]mem_max; fall back to the capped options without it.  The send
	 * buffer must exceed one verdict batch, or the kernel refuses the
	 * whole batch (EMSGSIZE) and its packets stay queued forever; the
	 * capped fallback (2 * wmem_max = 425984 by default) still does. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
	config_request(fill_bind);
	config_request(fill_params);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl");
}

/* Reads every queued message available now, up to a bound so timers and
 * signals are not starved under load. */
static void read_queue(void)
{
	static char bufs[RECV_BATCH][MSG_BUF_BYTES];
	static struct mmsghdr msgs[RECV_BATCH];
	static struct iovec iov[RECV_BATCH];
	int fd = mnl_socket_get_fd(E.nl);

	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < RECV_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], MSG_BUF_BYTES };
			msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Our socket buffer overflowed: the kernel dropped
				 * those packets (and counts them in user_dropped).
				 * Count and go on. */
				E.enobufs++;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				logmsg("recv: %s", strerror(errno));
			return;
		}
		E.now_ns = mono_ns();
		for (int i = 0; i < n; i++)
			if (mnl_cb_run(bufs[i], msgs[i].msg_len, 0, E.portid, packet_cb, NULL) < 0)
				logmsg("queue message: %s", strerror(errno));
		if (n < RECV_BATCH)
			return;
	}
}

/* ---- main loop ---- */

static void usage(void)
{
	fprintf(stderr, "usage: netkata-engine --queue N --config FILE --state-dir DIR --mark HEX\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "mark", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_queue = false, have_mark = false;
	int o;
	char *end;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'q':
			E.queue = (unsigned)strtoul(optarg, &end, 10);
			if (*end || end == optarg || E.queue > 65535)
				usage();
			have_queue = true;
			break;
		case 'c':
			E.config_path = optarg;
			break;
		case 's':
			E.state_dir = optarg;
			break;
		case 'm':
			E.mark = (uint32_t)strtoul(optarg, &end, 16);
			if (*end || end == optarg)
				usage();
			have_mark = true;
			break;
		default:
			usage();
		}
	}
	if (!have_queue || !have_mark || !E.config_path || !E.state_dir || optind != argc)
		usage();
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	build_dist_tables();

	/* Signals arrive through a signalfd.  Blocked signals are queued even
	 * for a PID 1 without handlers, which the kernel otherwise ignores. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd");

	E.raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (E.raw_fd < 0)
		die("raw socket");
	if (setsockopt(E.raw_fd, SOL_SOCKET, SO_MARK, &E.mark, sizeof E.mark) < 0)
		die("SO_MARK");
	/* Releases come in bursts (a delayed burst leaves as it came). */
	int snd = SNDBUF_BYTES;
	if (setsockopt(E.raw_fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
		setsockopt(E.raw_fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);

	open_queue();
	struct config c;
	memset(&c, 0, sizeof c);
	if (!load_config(&c))
		logmsg("starting with everything off");
	apply_config(&c);
	logmsg("queue %u ready", E.queue);

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = mnl_socket_get_fd(E.nl), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct timespec ts, *tsp = NULL;
		if (E.heap_len) {
			uint64_t now = mono_ns(), at = E.heap[0].release_ns;
			uint64_t wait = at > now ? at - now : 0;
			ts.tv_sec = (time_t)(wait / 1000000000ULL);
			ts.tv_nsec = (long)(wait % 1000000000ULL);
			tsp = &ts;
		}
		if (ppoll(pfd, 2, tsp, NULL) < 0 && errno != EINTR)
			die("ppoll");

		if (pfd[0].revents & (POLLIN | POLLERR))
			read_queue();
		release_due(mono_ns());
		flush_verdicts();

		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof si) == sizeof si) {
			switch (si.ssi_signo) {
			case SIGHUP:
				if (load_config(&c))
					apply_config(&c);
				break;
			case SIGUSR1:
				write_stats();
				break;
			case SIGCHLD:
				/* As PID 1 we inherit orphans; reap them. */
				while (waitpid(-1, NULL, WNOHANG) > 0)
					;
				break;
			default: /* SIGTERM, SIGINT */
				release_due(UINT64_MAX);
				flush_verdicts();
				write_stats();
				logmsg("exiting on signal %u", si.ssi_signo);
				return 0;
			}
		}
	}
}
