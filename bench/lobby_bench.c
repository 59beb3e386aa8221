// SPDX-License-Identifier: GPL-2.0-only
/*
 * lobby_bench: the lecture-hall start, measured with distinct people.
 *
 * Set-up (not measured): signs up USERS distinct local accounts over HTTP,
 * each from its own loopback source address 127.0.X.Y (Linux routes all of
 * 127/8 to lo, so the server sees USERS different machines and its
 * per-address limits stay at their defaults); the first creates a meeting
 * (the organiser), every other one joins it.
 *
 * The join storm (measured): USERS x PER_USER lobby WebSockets are dialled in
 * one go, each from its user's address with its user's session cookie. We
 * report the time from the first connect() to the last snapshot received, the
 * organiser's and an attendee's snapshot size, every byte the clients
 * received from the first connect until 1 s after the last snapshot (the
 * presence traffic of the storm), the server's CPU time over the same span
 * (utime + stime from /proc/PID/stat), and its VmRSS once everyone is in.
 *
 * Fan-out (measured): ROUNDS capture.begin alerts from an enrolled agent for
 * an attendee (send -> "recording.begin" received on every socket), then
 * ROUNDS chat lines sent by the organiser's first socket (send -> the line
 * received on every socket); p50 / p99 / max over all (socket, round)
 * samples, and per message the time until every socket had it (median and
 * max over the rounds). Last, the server's VmHWM (peak RSS).
 *
 * Output: "figure NAME VALUE" lines that bench/run-lobby.sh aggregates.
 *
 * --lobby-ports P1,P2,...: lobby socket i goes to P(i mod n) instead of
 * --port (several nodes of one cluster: bench/cluster_lobby.sh); the set-up,
 * the organiser's first socket when it is P1 and the agent stay on --port.
 *
 *   lobby_bench --port P --pid SERVER_PID --token AGENT_TOKEN
 *               --users 1000 [--per-user 10] [--rounds 20] [--lobby-ports P1,P2,P3]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_MAX (8u << 20)	/* one frame: an old server's snapshot of 10 000 is ~200 KiB */

struct cli {
	int fd;
	int user;
	int state;		/* 0 connecting, 1 upgrade sent, 2 open */
	bool snap;		/* snapshot received */
	size_t len, cap;
	unsigned char *buf;
	int got_round;		/* last round whose marker arrived */
	size_t snap_bytes;
};

struct user {
	char cookie[256];
	char csrf[128];
	char name[32];
};

static struct cli *clis;
static struct user *users;
static int nusers = 100, per_user = 1, nclients, rounds = 20, port = 8080, server_pid;
static int lobby_ports[16], nlobby_ports;

/* the port lobby socket i dials */
static int lobby_port(uint32_t i)
{
	return nlobby_ports ? lobby_ports[i % (uint32_t)nlobby_ports] : port;
}
static const char *token = "";
static char code[64];
static int ep;
static uint64_t bytes_in, storm_t0;

static void die(const char *what)
{
	fprintf(stderr, "lobby_bench: %s\n", what);
	exit(1);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static long parse_long(const char *s, const char *opt)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "lobby_bench: %s: expected a number, got '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

/* ------------------------------------------------------------ /proc */
static long status_kb(const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", server_pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':' &&
		    sscanf(line + strlen(field) + 1, " %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* utime + stime of the server in seconds, -1 when unknown. */
static double cpu_s(void)
{
	char path[64], line[1024];
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	char *p = ok ? strrchr(line, ')') : NULL;	/* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------ sockets */
static void user_addr(int u, struct in_addr *a)
{
	/* 127.0.1.1 .. : 250 users per /24, never .0 or .255 */
	a->s_addr = htonl(0x7f000000u | (uint32_t)(1 + u / 250) << 8 | (uint32_t)(1 + u % 250));
}

static int dial(int u, bool nonblock, int to)
{
	struct sockaddr_in src = { .sin_family = AF_INET },
			   a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)to) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (u >= 0) {
		user_addr(u, &src.sin_addr);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			close(fd);
			return -1;
		}
	}
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				usleep(100);
				continue;
			}
			perror("lobby_bench: write");
			exit(1);
		}
		c += w;
		n -= (size_t)w;
	}
}

/* ------------------------------------------------------------ HTTP set-up */
/*
 * One blocking request from user u's address (u < 0: 127.0.0.1). Fills
 * resp (NUL-terminated, truncated at cap) and returns the status code.
 */
static int http(int u, const char *method, const char *path, const char *body, char *resp, size_t cap)
{
	char req[2048];
	const struct user *us = u >= 0 ? &users[u] : NULL;
	int fd = dial(u, false, port), n;

	if (fd < 0)
		die("cannot connect for HTTP");
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n%s%s%s%s%s%s\r\n%s",
		     method, path, port, strlen(body), us && us->cookie[0] ? "Cookie: " : "",
		     us && us->cookie[0] ? us->cookie : "", us && us->cookie[0] ? "\r\n" : "",
		     us && us->csrf[0] ? "X-CSRF-Token: " : "", us && us->csrf[0] ? us->csrf : "",
		     us && us->csrf[0] ? "\r\n" : "", body);
	if (n < 0 || (size_t)n >= sizeof(req))
		die("HTTP request too long");
	send_all(fd, req, (size_t)n);
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, resp + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == cap - 1)
			break;
	}
	close(fd);
	resp[len] = 0;
	int status = 0;
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		die("no HTTP status line");
	return status;
}

/* Copy the JSON string value of "key" (no escapes in our values). */
static bool json_str(const char *s, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(s, pat);
	if (!p)
		return false;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= cap)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = 0;
	return true;
}

static void setup_people(void)
{
	static char resp[65536];
	char body[512];

	for (int u = 0; u < nusers; u++) {
		struct user *us = &users[u];
		snprintf(us->name, sizeof(us->name), "b%05d", u);
		snprintf(body, sizeof(body),
			 "{\"username\":\"%s\",\"email\":\"%s@example.org\",\"name\":\"Bench %05d\","
			 "\"password\":\"bench-password-%05d\"}",
			 us->name, us->name, u, u);
		int st = http(u, "POST", "/api/auth/signup", body, resp, sizeof(resp));
		if (st != 200 && st != 201) {
			fprintf(stderr, "lobby_bench: sign-up of %s from its own address: HTTP %d\n%s\n", us->name, st,
				resp);
			exit(1);
		}
		const char *c = strcasestr(resp, "\r\nset-cookie: ");
		if (!c)
			die("sign-up set no cookie");
		c += strlen("\r\nset-cookie: ");
		size_t n = strcspn(c, ";\r");
		if (n >= sizeof(us->cookie))
			die("cookie too long");
		memcpy(us->cookie, c, n);
		us->cookie[n] = 0;
		if (!json_str(resp, "csrf", us->csrf, sizeof(us->csrf)))
			die("sign-up answer has no csrf");
		if (u == 0) {
			st = http(0, "POST", "/api/meetings", "{\"title\":\"Lecture bench\"}", resp, sizeof(resp));
			if ((st != 200 && st != 201) || !json_str(resp, "code", code, sizeof(code))) {
				fprintf(stderr, "lobby_bench: create meeting: HTTP %d\n%s\n", st, resp);
				exit(1);
			}
		} else {
			snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
			st = http(u, "POST", "/api/meetings/join", body, resp, sizeof(resp));
			if (st != 200 && st != 201) {
				fprintf(stderr, "lobby_bench: %s joins: HTTP %d\n%s\n", us->name, st, resp);
				exit(1);
			}
		}
	}
}

/* ------------------------------------------------------------ WebSocket */
/* Send one masked text frame (client to server). */
static void send_text(int fd, const char *s)
{
	size_t n = strlen(s), h = 0;
	unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	unsigned char *out = malloc(n + 14);

	if (!out)
		die("out of memory");
	out[h++] = 0x81;
	if (n < 126) {
		out[h++] = 0x80 | (unsigned char)n;
	} else {
		out[h++] = 0x80 | 126;
		out[h++] = (unsigned char)(n >> 8);
		out[h++] = (unsigned char)n;
	}
	memcpy(out + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < n; i++)
		out[h + i] = (unsigned char)s[i] ^ mask[i & 3];
	send_all(fd, out, h + n);
	free(out);
}

static void send_upgrade(int fd, const char *path, const char *extra, int to)
{
	char req[2048];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Origin: http://127.0.0.1:%d\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
			 path, to, to, extra);
	send_all(fd, req, (size_t)n);
}

/*
 * Consume complete frames in c->buf. Returns the number of text frames that
 * contain marker (NULL: none counted). Notes the snapshot. Answers pings.
 */
static int frames(struct cli *c, const char *marker)
{
	int hits = 0;
	size_t off = 0;

	for (;;) {
		if (c->len - off < 2)
			break;
		unsigned char *p = c->buf + off;
		uint64_t len = p[1] & 0x7f;
		size_t h = 2;
		if (len == 126) {
			if (c->len - off < 4)
				break;
			len = ((uint64_t)p[2] << 8) | p[3];
			h = 4;
		} else if (len == 127) {
			if (c->len - off < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = (len << 8) | p[2 + i];
			h = 10;
		}
		if (len > BUF_MAX - 16)
			die("a frame larger than the receive cap");
		if (c->len - off < h + len)
			break;
		int op = p[0] & 0x0f;
		if (op == 0x9) {	/* ping: pong with the same payload */
			unsigned char pong[2 + 4 + 125], m[4] = { 1, 2, 3, 4 };
			pong[0] = 0x8a;
			pong[1] = 0x80 | (unsigned char)len;
			memcpy(pong + 2, m, 4);
			for (uint64_t i = 0; i < len && i < 125; i++)
				pong[6 + i] = p[h + i] ^ m[i & 3];
			send_all(c->fd, pong, 6 + len);
		} else if (op == 0x1 || op == 0x0) {
			if (!c->snap && len > 16 && memmem(p + h, len < 64 ? len : 64, "\"type\":\"lobby\"", 14)) {
				c->snap = true;
				c->snap_bytes = len;
			}
			if (marker && memmem(p + h, len, marker, strlen(marker)))
				hits++;
		} else if (op == 0x8) {
			fprintf(stderr, "lobby_bench: server closed a connection (%.*s)\n",
				(int)(len > 2 ? len - 2 : 0), p + h + 2);
			exit(1);
		}
		off += h + len;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return hits;
}

/* Read what is there (counting bytes). Returns 0, or -errno (-EPIPE for EOF). */
static int drain(struct cli *c)
{
	for (;;) {
		if (c->len == c->cap) {
			size_t ncap = c->cap ? c->cap * 2 : 8192;
			if (ncap > BUF_MAX)
				die("receive buffer cap reached");
			unsigned char *nb = realloc(c->buf, ncap);
			if (!nb)
				die("out of memory");
			c->buf = nb;
			c->cap = ncap;
		}
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			bytes_in += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		return errno == EAGAIN ? 0 : -errno;
	}
}

/* A lobby socket ended: say which, in which state, and why; then exit. */
static void closed(const struct cli *c, int err)
{
	static const char *const states[] = { "connecting", "upgrade sent, no answer", "open" };

	fprintf(stderr,
		"lobby_bench: lobby socket %d (user %d, from 127.0.%d.%d, %s%s) %s, %.1f s after the storm began\n",
		(int)(c - clis), c->user, 1 + c->user / 250, 1 + c->user % 250, states[c->state],
		c->state == 2 ? (c->snap ? ", snapshot received" : ", no snapshot yet") : "",
		err == -EPIPE ? "was closed by the server" : strerror(-err), (double)(now_us() - storm_t0) / 1e6);
	if (c->len)
		fprintf(stderr, "lobby_bench: last bytes it received: %.*s\n", (int)(c->len < 300 ? c->len : 300),
			c->buf);
	exit(1);
}

/* After the upgrade response, strip the HTTP header. 1 when open. */
static int handshake_done(struct cli *c)
{
	unsigned char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!e)
		return 0;
	if (memcmp(c->buf, "HTTP/1.1 101", 12)) {
		fprintf(stderr, "lobby_bench: upgrade refused: %.*s\n", (int)(e - c->buf), c->buf);
		exit(1);
	}
	size_t h = (size_t)(e - c->buf) + 4;
	memmove(c->buf, c->buf + h, c->len - h);
	c->len -= h;
	c->state = 2;
	return 1;
}

/* One epoll pass over ready sockets; returns how many became "done" for marker/round. */
static int pump(int timeout_ms, const char *marker, int round, uint64_t t0, uint64_t *samples, size_t *ns, int *snaps)
{
	static struct epoll_event evs[1024];
	char path[96];
	int done = 0;

	int k = epoll_wait(ep, evs, 1024, timeout_ms);
	if (k < 0 && errno != EINTR)
		die("epoll_wait failed");
	uint64_t t = now_us();
	for (int i = 0; i < k; i++) {
		struct cli *c = &clis[evs[i].data.u32];
		if (c->state == 0 && (evs[i].events & EPOLLOUT)) {
			char hdr[512];
			snprintf(path, sizeof(path), "/lobby/%s?since=0", code);
			snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", users[c->user].cookie);
			send_upgrade(c->fd, path, hdr, lobby_port(evs[i].data.u32));
			c->state = 1;
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[i].data.u32 };
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
		if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			continue;
		int err = drain(c);
		if (err < 0)
			closed(c, err);
		if (c->state == 1 && !handshake_done(c))
			continue;
		bool had = c->snap;
		if (frames(c, marker) > 0 && c->got_round != round) {
			c->got_round = round;
			done++;
			if (samples)
				samples[(*ns)++] = t - t0;
		}
		if (!had && c->snap && snaps)
			(*snaps)++;
	}
	return done;
}

static void collect(const char *marker, int round, uint64_t t0, uint64_t *samples, size_t *ns)
{
	int done = 0;
	uint64_t deadline = now_us() + 30000000;

	while (done < nclients) {
		if (now_us() > deadline) {
			fprintf(stderr, "lobby_bench: round %d: only %d/%d sockets got %s\n", round, done, nclients,
				marker);
			exit(1);
		}
		done += pump(1000, marker, round, t0, samples, ns, NULL);
	}
}

/* Blocking agent connection: read until a frame holding marker. */
static void agent_read(struct cli *a, const char *marker)
{
	uint64_t deadline = now_us() + 30000000;

	while (now_us() < deadline) {
		if (a->state == 2 && frames(a, marker))
			return;
		if (a->len == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 65536;
			a->buf = realloc(a->buf, a->cap);
			if (!a->buf)
				die("out of memory");
		}
		ssize_t n = read(a->fd, a->buf + a->len, a->cap - a->len);
		if (n <= 0)
			die("agent connection closed");
		a->len += (size_t)n;
		if (a->state != 2)
			handshake_done(a);
	}
	fprintf(stderr, "lobby_bench: agent did not get %s\n", marker);
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *s, size_t n)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	printf("figure %s_p50_ms %.2f\n", name, s[n / 2] / 1000.0);
	printf("figure %s_p99_ms %.2f\n", name, s[(size_t)((double)(n - 1) * 0.99)] / 1000.0);
	printf("figure %s_max_ms %.2f\n", name, s[n - 1] / 1000.0);
}

/*
 * Per message, the time until the last socket had it (samples of one round
 * arrive in time order): median and max over the rounds.
 */
static void report_complete(const char *name, uint64_t *last, size_t n)
{
	qsort(last, n, sizeof(*last), cmp_u64);
	printf("figure %s_all_p50_ms %.2f\n", name, last[n / 2] / 1000.0);
	printf("figure %s_all_max_ms %.2f\n", name, last[n - 1] / 1000.0);
}

/* ------------------------------------------------------------ phases */
static void storm(void)
{
	int snaps = 0;
	double cpu0 = cpu_s();
	uint64_t t0 = now_us();

	storm_t0 = t0;
	/* socket i belongs to user i % nusers: every user's first tab comes first */
	for (int i = 0; i < nclients; i++) {
		struct cli *c = &clis[i];
		c->user = i % nusers;
		c->fd = dial(c->user, true, lobby_port((uint32_t)i));
		if (c->fd < 0) {
			perror("lobby_bench: connect");
			exit(1);
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}
	uint64_t deadline = t0 + 300000000;
	while (snaps < nclients) {
		if (now_us() > deadline) {
			fprintf(stderr, "lobby_bench: only %d/%d snapshots after 300 s\n", snaps, nclients);
			exit(1);
		}
		pump(1000, NULL, 0, 0, NULL, NULL, &snaps);
	}
	uint64_t t1 = now_us();
	/* the presence traffic the storm causes after the last snapshot */
	while (now_us() < t1 + 1000000)
		pump(100, NULL, 0, 0, NULL, NULL, NULL);
	double cpu1 = cpu_s();

	printf("figure connect_until_snapshot_ms %.1f\n", (double)(t1 - t0) / 1000.0);
	printf("figure snapshot_organiser_bytes %zu\n", clis[0].snap_bytes);
	printf("figure snapshot_attendee_bytes %zu\n", clis[nusers > 1 ? 1 : 0].snap_bytes);
	printf("figure storm_bytes_received %llu\n", (unsigned long long)bytes_in);
	if (cpu0 >= 0 && cpu1 >= 0)
		printf("figure storm_server_cpu_s %.2f\n", cpu1 - cpu0);
	printf("figure rss_connected_mb %.1f\n", status_kb("VmRSS") / 1024.0);
}

static void alerts(uint64_t *samples, uint64_t *last)
{
	struct cli a = { 0 };
	char hdr[512], msg[1024];
	size_t ns = 0;
	uint64_t run = now_us();
	const char *who = users[nusers > 1 ? 1 : 0].name;

	a.fd = dial(-1, false, port);
	if (a.fd < 0)
		die("agent connect");
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
	send_upgrade(a.fd, "/agent", hdr, port);
	send_text(a.fd, "{\"type\":\"hello\",\"v\":1,\"machine\":\"bench\",\"boot_id\":\"bench-boot\","
			"\"agent_version\":\"bench\"}");
	agent_read(&a, "\"welcome\"");
	for (int r = 1; r <= rounds; r++) {
		snprintf(
			msg, sizeof(msg),
			"{\"type\":\"capture.begin\",\"v\":1,\"id\":\"bench-boot:%llu:%d:b\","
			"\"capture\":\"bench-boot:%llu:%d\","
			"\"kind\":\"recording\",\"ts\":0,\"pid\":%d,\"comm\":\"ffmpeg\","
			"\"exe\":\"/usr/bin/ffmpeg\","
			"\"argv\":[\"ffmpeg\",\"-f\",\"x11grab\"],\"uid\":1000,\"user\":\"%s\","
			"\"rule\":{\"id\":\"sphinx.exec.ffmpeg-x11grab\",\"title\":\"ffmpeg x11grab\"},"
			"\"layer\":\"exec\"}",
			(unsigned long long)run, r, (unsigned long long)run, r, 10000 + r, who);
		uint64_t t0 = now_us();
		send_text(a.fd, msg);
		collect("\"recording.begin\"", 1000 + r * 2, t0, samples, &ns);
		last[r - 1] = samples[ns - 1];
		agent_read(&a, "\"ack\"");
		snprintf(
			msg, sizeof(msg),
			"{\"type\":\"capture.end\",\"v\":1,\"id\":\"bench-boot:%llu:%d:e\","
			"\"capture\":\"bench-boot:%llu:%d\","
			"\"kind\":\"recording\",\"ts\":0,\"user\":\"%s\",\"duration_ms\":10,\"calls\":1}",
			(unsigned long long)run, r, (unsigned long long)run, r, who);
		send_text(a.fd, msg);
		collect("\"recording.end\"", 1001 + r * 2, 0, NULL, NULL);
		agent_read(&a, "\"ack\"");
		usleep(20000);
	}
	close(a.fd);
	free(a.buf);
	report("alert_fanout", samples, ns);
	report_complete("alert_fanout", last, (size_t)rounds);
}

static void chats(uint64_t *samples, uint64_t *last)
{
	char msg[256], marker[64];
	size_t ns = 0;
	uint64_t run = now_us();

	for (int r = 1; r <= rounds; r++) {
		snprintf(marker, sizeof(marker), "bench line %llu-%d.", (unsigned long long)run, r);
		snprintf(msg, sizeof(msg), "{\"type\":\"chat\",\"v\":1,\"cid\":\"b%llu%d\",\"text\":\"%s\"}",
			 (unsigned long long)run, r, marker);
		uint64_t t0 = now_us();
		send_text(clis[0].fd, msg);
		collect(marker, 5000 + r, t0, samples, &ns);
		last[r - 1] = samples[ns - 1];
		usleep(150000);	/* under the per-client message rate */
	}
	report("chat_fanout", samples, ns);
	report_complete("chat_fanout", last, (size_t)rounds);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", 1, NULL, 'p' },  { "pid", 1, NULL, 'P' },	 { "token", 1, NULL, 't' },
		{ "users", 1, NULL, 'u' }, { "per-user", 1, NULL, 'k' }, { "rounds", 1, NULL, 'r' },
		{ "lobby-ports", 1, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': port = (int)parse_long(optarg, "--port"); break;
		case 'P': server_pid = (int)parse_long(optarg, "--pid"); break;
		case 't': token = optarg; break;
		case 'u': nusers = (int)parse_long(optarg, "--users"); break;
		case 'k': per_user = (int)parse_long(optarg, "--per-user"); break;
		case 'r': rounds = (int)parse_long(optarg, "--rounds"); break;
		case 'L':
			for (char *p = optarg, *end; *p; p = *end ? end + 1 : end) {
				long v = strtol(p, &end, 10);
				if (end == p || (*end && *end != ',') || v < 1 || v > 65535 || nlobby_ports == 16)
					die("--lobby-ports: up to 16 ports, comma-separated");
				lobby_ports[nlobby_ports++] = (int)v;
			}
			break;
		default: return 2;
		}
	}
	if (nusers < 1 || nusers > 60000 || per_user < 1 || per_user > 100 || rounds < 1 || !server_pid || !*token) {
		fprintf(stderr,
			"usage: lobby_bench --port P --pid SERVER_PID --token AGENT_TOKEN --users N"
			" [--per-user K] [--rounds R] [--lobby-ports P1,P2,...]\n");
		return 2;
	}
	nclients = nusers * per_user;
	struct rlimit rl = { (rlim_t)nclients + 1024, (rlim_t)nclients + 1024 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("cannot raise the open-file limit (run as root or raise ulimit -n)");
	clis = calloc((size_t)nclients, sizeof(*clis));
	users = calloc((size_t)nusers, sizeof(*users));
	uint64_t *samples = malloc(sizeof(uint64_t) * (size_t)nclients * (size_t)rounds);
	uint64_t *last = malloc(sizeof(uint64_t) * (size_t)rounds);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!clis || !users || !samples || !last || ep < 0)
		die("out of memory");

	uint64_t t = now_us();
	setup_people();
	printf("setup %d users signed up from distinct addresses and joined meeting %s in %.1f s\n",
	       nusers, code, (double)(now_us() - t) / 1e6);
	printf("figure rss_before_mb %.1f\n", status_kb("VmRSS") / 1024.0);
	storm();
	alerts(samples, last);
	chats(samples, last);
	printf("figure rss_peak_mb %.1f\n", status_kb("VmHWM") / 1024.0);
	return 0;
}
