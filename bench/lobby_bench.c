// SPDX-License-Identifier: GPL-2.0-only
/*
 * lobby_bench: fan-out latency and memory of sphinx-server's lobby.
 *
 * Opens N raw WebSocket connections (epoll, one thread) to /lobby/CODE with
 * a session cookie, and one agent connection to /agent with an enrollment
 * token. Each round, the agent sends capture.begin for the user sitting in
 * the lobby; the time from that send to the arrival of "recording.begin" on
 * each of the N sockets is one latency sample (so a sample includes parsing,
 * the SQLite commit and the fan-out). Then capture.end, and a pause. Prints
 * p50 / p99 / max over all samples and the server's RSS (VmRSS of --pid)
 * before connecting, with N idle connections, and after the rounds.
 *
 *   lobby_bench --port P --cookie 'sphinx_session=...' --code 123456
 *               --token AGENT_TOKEN --user alice --clients 1000 --rounds 50
 *               [--pid SERVER_PID] [--idle-only]
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

#define BUF 65536

struct cli {
	int fd;
	int state;		/* 0 connecting, 1 upgrade sent, 2 open */
	size_t len;
	unsigned char *buf;
	int got_round;		/* last round whose marker arrived */
};

static struct cli *clis;
static int nclients = 1000, rounds = 50, port = 8080, server_pid;
static const char *cookie = "", *code = "", *token = "", *user = "alice";
static int ep;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static long rss_kb_field(const char *field);
static long rss_kb(void) { return rss_kb_field("VmRSS"); }
static long anon_kb(void) { return rss_kb_field("RssAnon"); }

static long rss_kb_field(const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (!server_pid)
		return -1;
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

static int dial(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
			perror("write");
			exit(1);
		}
		c += w;
		n -= (size_t)w;
	}
}

/* Send one masked text frame (client to server). */
static void send_text(int fd, const char *s)
{
	size_t n = strlen(s), h = 0;
	unsigned char hdr[14], mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	unsigned char *out = malloc(n + 14);

	hdr[h++] = 0x81;
	if (n < 126) {
		hdr[h++] = 0x80 | (unsigned char)n;
	} else {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (unsigned char)(n >> 8);
		hdr[h++] = (unsigned char)n;
	}
	memcpy(hdr + h, mask, 4);
	h += 4;
	memcpy(out, hdr, h);
	for (size_t i = 0; i < n; i++)
		out[h + i] = (unsigned char)s[i] ^ mask[i & 3];
	send_all(fd, out, h + n);
	free(out);
}

static void send_upgrade(int fd, const char *path, const char *extra)
{
	char req[2048];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
			 path, port, extra);
	send_all(fd, req, (size_t)n);
}

/*
 * Consume complete frames in c->buf. Returns the number of text frames that
 * contained marker (NULL: any text frame). Answers pings.
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
			if (!marker || memmem(p + h, len, marker, strlen(marker)))
				hits++;
		} else if (op == 0x8) {
			fprintf(stderr, "bench: server closed a connection (%.*s)\n", (int)(len > 2 ? len - 2 : 0), p + h + 2);
			exit(1);
		}
		off += h + len;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return hits;
}

/* Read what is there. Returns -1 on EOF. */
static int drain(struct cli *c)
{
	for (;;) {
		if (c->len == BUF) {
			fprintf(stderr, "bench: receive buffer full\n");
			exit(1);
		}
		ssize_t n = read(c->fd, c->buf + c->len, BUF - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return -1;
		return errno == EAGAIN ? 0 : -1;
	}
}

/* After the upgrade response, strip the HTTP header. 1 when open. */
static int handshake_done(struct cli *c)
{
	unsigned char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!e)
		return 0;
	if (memcmp(c->buf, "HTTP/1.1 101", 12)) {
		fprintf(stderr, "bench: upgrade refused: %.*s\n", (int)(e - c->buf), c->buf);
		exit(1);
	}
	size_t h = (size_t)(e - c->buf) + 4;
	memmove(c->buf, c->buf + h, c->len - h);
	c->len -= h;
	c->state = 2;
	return 1;
}

static void open_all(int n)
{
	char path[64], hdr[512];
	int open_n = 0, started = 0, pending = 0;
	struct epoll_event evs[256];

	snprintf(path, sizeof(path), "/lobby/%s", code);
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", cookie);
	while (open_n < n) {
		while (started < n && pending < 256) {
			struct cli *c = &clis[started];
			c->fd = dial();
			if (c->fd < 0) {
				perror("connect");
				exit(1);
			}
			c->buf = malloc(BUF);
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)started };
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
			started++;
			pending++;
		}
		int k = epoll_wait(ep, evs, 256, 5000);
		if (k == 0) {
			fprintf(stderr, "bench: connect stalled at %d/%d\n", open_n, n);
			exit(1);
		}
		for (int i = 0; i < k; i++) {
			struct cli *c = &clis[evs[i].data.u32];
			if (c->state == 0 && (evs[i].events & EPOLLOUT)) {
				send_upgrade(c->fd, path, hdr);
				c->state = 1;
				struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[i].data.u32 };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
			if (evs[i].events & EPOLLIN) {
				if (drain(c) < 0) {
					fprintf(stderr, "bench: connection closed during upgrade\n");
					exit(1);
				}
				if (c->state == 1 && handshake_done(c)) {
					open_n++;
					pending--;
				}
				if (c->state == 2)
					frames(c, NULL);	/* the snapshot */
			}
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Wait until every client saw marker; record latencies from t0. */
static void collect(const char *marker, int round, uint64_t t0, uint64_t *samples, size_t *ns)
{
	struct epoll_event evs[512];
	int done = 0;

	while (done < nclients) {
		int k = epoll_wait(ep, evs, 512, 10000);
		if (k <= 0) {
			fprintf(stderr, "bench: round %d: only %d/%d clients got %s\n", round, done, nclients, marker);
			exit(1);
		}
		uint64_t t = now_us();
		for (int i = 0; i < k; i++) {
			struct cli *c = &clis[evs[i].data.u32];
			if (drain(c) < 0) {
				fprintf(stderr, "bench: a lobby connection closed\n");
				exit(1);
			}
			if (frames(c, marker) > 0 && c->got_round != round) {
				c->got_round = round;
				done++;
				if (samples)
					samples[(*ns)++] = t - t0;
			}
		}
	}
}

static void agent_read(int fd, const char *marker)
{
	static struct cli a;
	static bool opened;

	if (!a.buf) {
		a.buf = malloc(BUF);
		a.fd = fd;
	}
	for (int tries = 0; tries < 50000; tries++) {
		ssize_t n = read(fd, a.buf + a.len, BUF - a.len);
		if (n > 0)
			a.len += (size_t)n;
		if (!opened && !(opened = handshake_done(&a))) {
			usleep(100);
			continue;
		}
		if (frames(&a, marker))
			return;
		usleep(100);
	}
	fprintf(stderr, "bench: agent did not get %s\n", marker);
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", 1, NULL, 'p' }, { "cookie", 1, NULL, 'c' }, { "code", 1, NULL, 'm' },
		{ "token", 1, NULL, 't' }, { "user", 1, NULL, 'u' }, { "clients", 1, NULL, 'n' },
		{ "rounds", 1, NULL, 'r' }, { "pid", 1, NULL, 'P' }, { "idle-only", 0, NULL, 'i' }, { NULL, 0, NULL, 0 },
	};
	bool idle_only = false;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'c': cookie = optarg; break;
		case 'm': code = optarg; break;
		case 't': token = optarg; break;
		case 'u': user = optarg; break;
		case 'n': nclients = (int)strtol(optarg, NULL, 10); break;
		case 'r': rounds = (int)strtol(optarg, NULL, 10); break;
		case 'P': server_pid = (int)strtol(optarg, NULL, 10); break;
		case 'i': idle_only = true; break;
		default: return 2;
		}
	}
	struct rlimit rl = { 200000, 200000 };
	setrlimit(RLIMIT_NOFILE, &rl);
	clis = calloc((size_t)nclients, sizeof(*clis));
	ep = epoll_create1(EPOLL_CLOEXEC);

	long rss0 = rss_kb(), anon0 = anon_kb();
	uint64_t t_open = now_us();
	open_all(nclients);
	double open_s = (double)(now_us() - t_open) / 1e6;
	sleep(2);	/* let the server settle */
	long rss1 = rss_kb(), anon1 = anon_kb();
	printf("connections: %d lobby sockets opened in %.2f s\n", nclients, open_s);
	if (rss0 > 0)
		printf("server RSS: %.1f MB before, %.1f MB with %d idle lobby connections (%.2f KB per connection)\n",
		       rss0 / 1024.0, rss1 / 1024.0, nclients, (double)(rss1 - rss0) / nclients);
	if (anon0 > 0)
		printf("server anonymous memory (RssAnon, excludes shared libraries): %.1f MB before, %.1f MB with %d\n",
		       anon0 / 1024.0, anon1 / 1024.0, nclients);
	if (idle_only)
		return 0;

	/* the agent */
	int afd = dial();
	int fl = fcntl(afd, F_GETFL);
	fcntl(afd, F_SETFL, fl & ~O_NONBLOCK);
	char hdr[512];
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
	send_upgrade(afd, "/agent", hdr);
	fcntl(afd, F_SETFL, fl);
	send_text(afd, "{\"type\":\"hello\",\"v\":1,\"machine\":\"bench\",\"boot_id\":\"bench-boot\",\"agent_version\":\"bench\"}");
	agent_read(afd, "\"welcome\"");

	uint64_t *samples = malloc(sizeof(uint64_t) * (size_t)nclients * (size_t)rounds);
	size_t ns = 0;
	char msg[1024];
	uint64_t run_id = now_us();
	for (int r = 1; r <= rounds; r++) {
		snprintf(msg, sizeof(msg),
			 "{\"type\":\"capture.begin\",\"v\":1,\"id\":\"bench-boot:%llu:%d:b\",\"capture\":\"bench-boot:%llu:%d\","
			 "\"kind\":\"recording\",\"ts\":0,\"pid\":%d,\"comm\":\"ffmpeg\",\"exe\":\"/usr/bin/ffmpeg\","
			 "\"argv\":[\"ffmpeg\",\"-f\",\"x11grab\"],\"uid\":1000,\"user\":\"%s\","
			 "\"rule\":{\"id\":\"sphinx.exec.ffmpeg-x11grab\",\"title\":\"ffmpeg x11grab\"},\"layer\":\"exec\"}",
			 (unsigned long long)run_id, r, (unsigned long long)run_id, r, 10000 + r, user);
		uint64_t t0 = now_us();
		send_text(afd, msg);
		collect("recording.begin", r * 2, t0, samples, &ns);
		agent_read(afd, "\"ack\"");
		snprintf(msg, sizeof(msg),
			 "{\"type\":\"capture.end\",\"v\":1,\"id\":\"bench-boot:%llu:%d:e\",\"capture\":\"bench-boot:%llu:%d\","
			 "\"kind\":\"recording\",\"ts\":0,\"user\":\"%s\",\"duration_ms\":10,\"calls\":1}",
			 (unsigned long long)run_id, r, (unsigned long long)run_id, r, user);
		send_text(afd, msg);
		collect("recording.end", r * 2 + 1, 0, NULL, NULL);
		agent_read(afd, "\"ack\"");
		usleep(20000);
	}
	qsort(samples, ns, sizeof(*samples), cmp_u64);
	printf("alert fan-out to %d lobby clients, %d rounds (%zu samples, agent send -> client receipt):\n",
	       nclients, rounds, ns);
	printf("  p50 %.2f ms   p99 %.2f ms   max %.2f ms\n", samples[ns / 2] / 1000.0,
	       samples[(size_t)((double)ns * 0.99)] / 1000.0, samples[ns - 1] / 1000.0);
	long rss2 = rss_kb();
	if (rss2 > 0)
		printf("server RSS after the rounds: %.1f MB\n", rss2 / 1024.0);
	return 0;
}
