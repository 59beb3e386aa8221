// SPDX-License-Identifier: GPL-2.0-only
/*
 * sphinx-server: configuration, admin commands, then the event loop.
 *
 *   sphinx-server [OPTIONS]                      serve
 *   sphinx-server [OPTIONS] enroll-machine NAME  print a new enrollment token
 *   sphinx-server [OPTIONS] revoke-machine NAME
 *   sphinx-server [OPTIONS] list-machines
 *   sphinx-server [OPTIONS] add-user USERNAME --email E [--name N] [--admin]
 *                                                (password read from stdin)
 *   sphinx-server [OPTIONS] set-password USERNAME (password read from stdin)
 *   sphinx-server [OPTIONS] policy push DIR [--group G] [--note TEXT] [--author NAME]
 *   sphinx-server [OPTIONS] policy list [--group G]
 *   sphinx-server [OPTIONS] policy show VERSION
 *   sphinx-server [OPTIONS] policy rollback [--group G] [--note TEXT] [--author NAME]
 *   sphinx-server [OPTIONS] machine-group NAME GROUP
 *   sphinx-server [OPTIONS] observations export [--since 7d] [--machine NAME] [--group G]
 *
 * A policy command that changes what agents should run tells the server
 * serving the same data_dir with SIGUSR1 (its pid from the data
 * directory's lock); the server then offers every connected agent its
 * group's newest bundle (policy_admin_changed()).
 *
 * Serving: open the store (migrating it), close attendance rows a crash
 * left open at the last "alive" tick, create the lws context with our one
 * protocol, then run the loop until SIGINT (stop at once) or SIGTERM
 * (drain.h: sockets are moved to other nodes first, then stop). SIGHUP
 * changes nothing: the configuration is read at start only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <libwebsockets.h>
#include <sodium.h>

#include "api.h"
#include "auth_local.h"
#include "cluster.h"
#include "cleanup.h"
#include "datadir.h"
#include "drain.h"
#include "json_shape.h"
#include "notify.h"
#include "config.h"
#include "conn_quota.h"
#include "lobby.h"
#include "log.h"
#include "monitor.h"
#include "policy_admin.h"
#include "policy_bundle.h"
#include "observations.h"
#include "ratelimit.h"
#include "server.h"
#include "util.h"
#include "worker.h"
#include "ws.h"
#include "ws_agent.h"

#define VERSION "0.1.0"
/* The web app `make install` puts next to this binary ($(DATADIR)/sphinx/web). */
#ifndef SPHINX_WEB_ROOT
#define SPHINX_WEB_ROOT "/usr/local/share/sphinx/web"
#endif
#define ALIVE_TICK_US (10 * LWS_US_PER_SEC)

static struct server the_server;
static volatile sig_atomic_t stop_requested, policy_signalled;
static volatile sig_atomic_t drain_requested, hup_received;
static lws_sorted_usec_list_t alive_sul;
static lws_sorted_usec_list_t clock_sul;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sphinx-server [OPTIONS] [COMMAND ...]\n"
		"Meeting Sphinx server: HTTP API, lobby and agent WebSockets, web app.\n\n"
		"Options:\n"
		"  -c, --config FILE      read configuration from FILE (see --print-config)\n"
		"  -p, --port N           listen on port N (config: port, default 8080)\n"
		"  -d, --data DIR         data directory (config: data_dir, default /var/lib/sphinx)\n"
		"  -w, --web DIR          static web app directory (config: web_root)\n"
		"  -b, --bind ADDR        listen address (config: listen_address, default all)\n"
		"  -o, --set KEY=VALUE    set any configuration key\n"
		"  -v, --verbose          debug logging\n"
		"      --print-config     print every key with its default, commented, and exit\n"
		"  -h, --help             this help\n"
		"  -V, --version          print the version\n\n"
		"Commands (default: serve):\n"
		"  enroll-machine NAME    enroll a machine, print its agent token (shown once)\n"
		"  revoke-machine NAME    revoke a machine's token\n"
		"  list-machines          list enrolled machines (JSON)\n"
		"  add-user USERNAME --email ADDR [--name NAME] [--admin]\n"
		"                         create a local account; password read from stdin\n"
		"  set-password USERNAME  set a local password, read from stdin\n"
		"  policy push DIR [--group G] [--note TEXT] [--author NAME]\n"
		"                         check DIR's rule files and store them as the next\n"
		"                         policy version of group G (default \"default\")\n"
		"  policy list [--group G]  list the stored bundles, newest first\n"
		"  policy show VERSION    print a bundle and its files\n"
		"  policy rollback [--group G] [--note TEXT] [--author NAME]\n"
		"                         store a new version with the files of the version\n"
		"                         before the group's newest\n"
		"  machine-group NAME GROUP  put a machine in a policy group (\"default\": none)\n"
		"  observations export [--since 7d] [--machine NAME] [--group G]\n"
		"                         the observations opted-in agents sent, as JSON lines\n"
		"                         for `sphinx-policy test POLICY -`\n\n"
		"See docs/server.md (man-page style) for the configuration and the admin commands.\n");
}

/* ------------------------------------------------- signals: stop, drain */

/*
 * SIGINT stops at once. SIGTERM (systemctl stop/restart) drains first; a
 * second SIGTERM stops at once. SIGHUP (systemctl reload) is logged and
 * ignored: nothing is re-read while running, and a reload must never take
 * a node down (docs/server.md, "Signals").
 */
static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		policy_signalled = 1;	/* an admin command stored a policy change */
	else if (sig == SIGHUP)
		hup_received = 1;
	else if (sig == SIGTERM && !drain_requested)
		drain_requested = 1;
	else
		stop_requested = 1;
	if (srv && srv->ctx)
		lws_cancel_service(srv->ctx);	/* async-signal-safe: writes a pipe */
}

/* The drain is over (drain.c): stop as SIGINT would, from the loop. */
static void drain_done(void)
{
	stop_requested = 1;
	lws_cancel_service(srv->ctx);
}

/* In the loop thread: act on SIGTERM and SIGHUP (server_check_stop). */
static void check_drain(void)
{
	if (hup_received) {
		hup_received = 0;
		log_info("SIGHUP: nothing to reload (the configuration is read at start); restart the node to "
			   "change it: it drains first (docs/server.md, Signals)");
	}
	if (drain_requested && !stop_requested && !drain_active()) {
		notify_stopping("draining: moving sockets to other nodes");
		drain_begin(drain_done);
	}
}

/*
 * Called in the loop thread (EVENT_WAIT_CANCELLED, or the event library's
 * own SIGINT watcher). With libev, lws_service() runs the loop until the
 * context is destroyed, so the first stage of lws_context_destroy() has to
 * be called from inside it; main() completes the destruction afterwards.
 * The same wake-up carries SIGUSR1: a policy command changed the store.
 */
void server_check_stop(void)
{
	if (policy_signalled && srv && srv->ctx && !srv->stopping) {
		policy_signalled = 0;
		log_info("policy: an admin command changed the policy (SIGUSR1): offering agents their bundles");
		policy_admin_changed(NULL);
	}
	if (srv && srv->ctx && !srv->stopping)
		check_drain();
	if (!stop_requested || !srv || !srv->ctx || srv->stopping)
		return;
	srv->stopping = true;
	if (strcmp(srv->cfg->event_lib, "libev") == 0)
		lws_context_destroy(srv->ctx);
}

static void on_evlib_signal(void *handle, int sig)
{
	stop_requested = 1;
	server_check_stop();
}

static void lws_log_bridge(int level, const char *line)
{
	log_msg(level == LLL_ERR ? LOG_ERR : level == LLL_WARN ? LOG_WARNING : LOG_INFO, "lws: %s", line);
}

static void alive_tick(lws_sorted_usec_list_t *sul)
{
	char buf[32];
	static int ticks;

	snprintf(buf, sizeof(buf), "%lld", (long long)now_ms());
	store_call(srv->store, meta_set, "alive", buf);
	if (++ticks % 360 == 0)
		store_call(srv->store, session_purge, now_ms());
	if (stop_requested)
		lws_cancel_service(srv->ctx);
	lws_sul_schedule(srv->ctx, 0, &alive_sul, alive_tick, ALIVE_TICK_US);
}

/*
 * lws 4.1's libev glue re-arms its single ev_timer with ev_timer_set() and
 * ev_timer_start() while that timer is still active, which libev ignores:
 * a sul scheduled from an I/O callback earlier than the one the timer is
 * armed for runs only when that later one is due (up to the 10 s alive
 * tick). Agents' silence timers (and lws' own ping and close timeouts)
 * would fire seconds late. This tick keeps the armed time at most CLOCK_MS
 * away, so every sul runs at most that late. It does nothing else.
 */
#define CLOCK_US (250 * LWS_US_PER_MS)

static void clock_tick(lws_sorted_usec_list_t *sul)
{
	/* The loop turns: systemd's watchdog hears it (at most once per half
	 * WatchdogSec; nothing outside systemd). */
	notify_watchdog();
	lws_sul_schedule(srv->ctx, 0, &clock_sul, clock_tick, CLOCK_US);
}

/* Rows left open by a crash end at the last time the server was known alive. */
static void recover(void)
{
	_cleanup_free_ char *alive = NULL;
	uint64_t at = (uint64_t)now_ms();
	int n;

	if (store_call(srv->store, meta_get, "alive", &alive) == 0)
		parse_u64(alive, 0, INT64_MAX, &at);
	n = store_call(srv->store, attendance_close_dangling, (int64_t)at);
	if (n > 0)
		log_warn("recovery: closed %d attendance row(s) left open by an unclean stop", n);
}

/* ------------------------------------------------------- listen addresses */

#define MAX_LISTEN 8

struct listen_addr {
	int family;
	char text[INET6_ADDRSTRLEN];
};

/*
 * listen_address is an IPv4 or IPv6 literal or a host name; a name listens
 * on every address it resolves to. lws 4.1 takes .iface as an interface
 * name or an address, quietly binds [::] when an IPv4 literal meets its
 * IPv6 path, and retries an address it cannot bind later instead of
 * failing. So the addresses are resolved and test-bound here, where a
 * failure is still a clear refusal, and each gets its own vhost whose
 * socket family is forced to match (see serve()).
 */
static int resolve_listen(const char *host, uint64_t port, struct listen_addr *out, size_t *n)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char ps[8];
	int e, r = 0;

	snprintf(ps, sizeof(ps), "%llu", (unsigned long long)port);
	e = getaddrinfo(host, ps, &hints, &res);
	if (e) {
		log_err("cannot start: cannot listen on '%s': %s (listen_address takes an IP address or a host name)",
			host, e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
		return -EADDRNOTAVAIL;
	}
	*n = 0;
	for (ai = res; ai && r == 0; ai = ai->ai_next) {
		struct listen_addr a = { .family = ai->ai_family };
		const void *sa = ai->ai_family == AF_INET
					 ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
					 : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		_cleanup_close_ int fd = -1;
		bool dup = false;
		int one = 1;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		inet_ntop(ai->ai_family, sa, a.text, sizeof(a.text));
		for (size_t i = 0; i < *n; i++)
			dup |= strcmp(out[i].text, a.text) == 0;
		if (dup || *n == MAX_LISTEN)
			continue;
		/* the test bind: an address not on this host fails here, clearly */
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			r = -errno;
			log_err("cannot start: cannot listen on %s port %llu%s%s%s: %s", a.text,
				(unsigned long long)port, strcmp(host, a.text) ? " (" : "",
				strcmp(host, a.text) ? host : "", strcmp(host, a.text) ? ")" : "", strerror(-r));
			break;
		}
		out[(*n)++] = a;
	}
	freeaddrinfo(res);
	if (r == 0 && *n == 0) {
		log_err("cannot start: cannot listen on '%s': it resolves to no IPv4 or IPv6 address", host);
		r = -EADDRNOTAVAIL;
	}
	return r;
}

/*
 * Log every socket this process listens on, from the kernel's view (not
 * from what was asked). Returns how many there are.
 */
static int log_listening(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char where[512] = "";
	size_t off = 0;
	int count = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char txt[INET6_ADDRSTRLEN];
		int fd, on = 0, only = 0;
		socklen_t ol = sizeof(on);
		uint64_t v;

		if (parse_u64(de->d_name, 0, INT32_MAX, &v) < 0 || (int)v == dirfd(d))
			continue;
		fd = (int)v;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) < 0 || !on ||
		    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			continue;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, txt, sizeof(txt));
			off += (size_t)snprintf(where + off, sizeof(where) - off, "%s%s:%u", count ? ", " : "", txt,
						ntohs(in->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			ol = sizeof(only);
			getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, &ol);
			inet_ntop(AF_INET6, &in6->sin6_addr, txt, sizeof(txt));
			off += (size_t)snprintf(where + off, sizeof(where) - off, "%s[%s]:%u%s", count ? ", " : "", txt,
						ntohs(in6->sin6_port), only ? "" : " (and IPv4)");
		} else {
			continue;
		}
		if (off >= sizeof(where))
			off = sizeof(where) - 1;
		count++;
	}
	if (count)
		log_info("listening on %s", where);
	return count;
}

/*
 * web_root left empty means "the web app that goes with this binary": run
 * from a checkout (build/sphinx-server), the checkout's server/web, found
 * from /proc/self/exe; installed, SPHINX_WEB_ROOT, baked in at build time
 * from the install prefix. Sets cfg->web_root. 0 or -errno.
 */
static int web_root_default(struct config *cfg, char *err, size_t errlen)
{
	char exe[PATH_MAX], want[PATH_MAX + 32], real[PATH_MAX];
	const char *root = SPHINX_WEB_ROOT;
	ssize_t n;

	if (cfg->web_root[0])
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(want, sizeof(want), "%s/../server/web/index.html", dirname(exe));
		if (access(want, R_OK) == 0 && realpath(dirname(want), real))
			root = real;
	}
	return config_set(cfg, "web_root", root, err, errlen);
}

/* node_name left empty: "<host name>:<port>", unique per node on one host and across hosts. */
static int node_name_default(struct config *cfg, char *err, size_t errlen)
{
	char host[64], name[96];

	if (cfg->node_name[0])
		return 0;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	host[strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")] = '\0';
	snprintf(name, sizeof(name), "%.58s:%llu", host[0] ? host : "localhost", (unsigned long long)cfg->port);
	return config_set(cfg, "node_name", name, err, errlen);
}

/* A web root that is not a directory serves 404 on every page: say so once, at start. */
static void web_root_check(const char *root)
{
	struct stat st;

	if (stat(root, &st) < 0)
		log_warn("web_root %s: %s: the web app will answer 404 (set web_root or --web)", root,
			 strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		log_warn("web_root %s: not a directory: the web app will answer 404 (set web_root or --web)", root);
}

static int serve(void)
{
	struct lws_context_creation_info info;
	static lws_retry_bo_t retry;
	static const struct lws_http_mount *mounts;
	struct sigaction sa = { .sa_handler = on_signal };
	struct listen_addr addrs[MAX_LISTEN];
	size_t naddrs = 0;
	uint64_t base_options;
	int r = 0;

	memset(&info, 0, sizeof(info));
	retry.secs_since_valid_ping = (uint16_t)(srv->cfg->ws_ping_ms / 1000 ?: 1);
	retry.secs_since_valid_hangup = (uint16_t)(srv->cfg->ws_timeout_ms / 1000 ?: 2);
	ws_protocols[0].rx_buffer_size = srv->cfg->ws_rx_buffer;
	/* 0 would cap each send() at rx_buffer_size and split every alert into many writes */
	ws_protocols[0].tx_packet_size = 65536 + 1024;
	info.port = (int)srv->cfg->port;
	if (srv->cfg->listen_address[0] && resolve_listen(srv->cfg->listen_address, srv->cfg->port, addrs, &naddrs) < 0)
		return -EADDRNOTAVAIL;
	info.protocols = ws_protocols;
	info.mounts = mounts;
	info.retry_and_idle_policy = &retry;
	info.max_http_header_data = 8192;
	info.max_http_header_pool = 256;
	info.fd_limit_per_thread = (unsigned)srv->cfg->max_connections + 256;
	info.timeout_secs = 20;
	/* the whole request head must arrive within this (lws: held header table) */
	info.timeout_secs_ah_idle = (unsigned)(srv->cfg->header_timeout_ms / 1000);
	info.keepalive_timeout = 10;
	info.options =
		LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE * 0;
	info.user = srv;
	info.signal_cb = on_evlib_signal;
	info.vhost_name = "sphinx";
	info.server_string = "sphinx-server";
	if (strcmp(srv->cfg->event_lib, "libev") == 0)
		info.options |= LWS_SERVER_OPTION_LIBEV;
	if (srv->tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = srv->cfg->tls_cert;
		info.ssl_private_key_filepath = srv->cfg->tls_key;
		info.alpn = "http/1.1";
	}
	/* SPHINX_LWS_LOG=<lws level bits> shows libwebsockets' own diagnostics */
	uint64_t lws_levels = LLL_ERR | LLL_WARN;
	if (getenv("SPHINX_LWS_LOG"))
		parse_u64(getenv("SPHINX_LWS_LOG"), 0, 0xffff, &lws_levels);
	lws_set_log_level((int)lws_levels, lws_log_bridge);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* one vhost per address, its socket family forced to the address's */
	base_options = info.options;
	if (naddrs)
		info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	srv->ctx = lws_create_context(&info);
	for (size_t i = 0; srv->ctx && i < naddrs; i++) {
		info.iface = addrs[i].text;
		info.options = base_options | (addrs[i].family == AF_INET ? LWS_SERVER_OPTION_DISABLE_IPV6
			       : LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE);
		if (!lws_create_vhost(srv->ctx, &info)) {
			log_err("cannot listen on %s port %llu", addrs[i].text, (unsigned long long)srv->cfg->port);
			lws_context_destroy(srv->ctx);
			srv->ctx = NULL;
			return -EADDRNOTAVAIL;
		}
	}
	if (!srv->ctx) {
		log_err("cannot start: lws context creation failed (port %llu busy, TLS files unreadable, or event lib "
			"'%s' missing)",
			(unsigned long long)srv->cfg->port, srv->cfg->event_lib);
		return -EIO;
	}
	if (log_listening() < (int)(naddrs ? naddrs : 1)) {
		log_err("cannot start: not listening on every address asked for (%s port %llu)",
			srv->cfg->listen_address[0] ? srv->cfg->listen_address : "*",
			(unsigned long long)srv->cfg->port);
		srv->stopping = true;
		lws_context_destroy(srv->ctx);
		srv->ctx = NULL;
		return -EADDRNOTAVAIL;
	}
	log_info("sphinx-server %s serving (%s, %s loop, data %s, web %s)", VERSION,
		 srv->tls ? "https/wss" : "http/ws", srv->cfg->event_lib, srv->cfg->data_dir, srv->cfg->web_root);
	r = worker_start((unsigned)srv->cfg->worker_threads, (unsigned)srv->cfg->worker_queue, srv->ctx);
	if (r < 0) {
		log_err("cannot start: worker threads: %s", strerror(-r));
		srv->stopping = true;
		lws_context_destroy(srv->ctx);
		srv->ctx = NULL;
		return r;
	}
	lws_sul_schedule(srv->ctx, 0, &alive_sul, alive_tick, 1);
	cluster_start();
	observations_start();
	notify_ready("serving");
	if (strcmp(srv->cfg->event_lib, "libev") == 0)
		lws_sul_schedule(srv->ctx, 0, &clock_sul, clock_tick, CLOCK_US);
	if (drain_requested)
		stop_requested = 1;	/* SIGTERM before the loop ran: nothing to drain yet */
	while (!stop_requested && r >= 0)
		r = lws_service(srv->ctx, 0);
	notify_stopping("closing connections");
	log_info("stopping: %zu live lobbies, %zu agents", lobby_count(), ws_agent_count());
	cluster_stop();
	srv->stopping = true;
	lws_context_destroy(srv->ctx);	/* closes every socket: leaves are recorded */
	srv->ctx = NULL;
	worker_stop();	/* after the sockets: every job left is orphaned and only freed */
	return 0;
}

/* ---------------------------------------------------------- admin commands */

static char *read_password(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password: ");
	n = getline(&line, &cap, stdin);
	if (n <= 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int cmd_enroll(int argc, char **argv)
{
	char *token = NULL;
	int64_t id;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: sphinx-server --data DIR enroll-machine NAME\n");
		return 2;
	}
	r = api_enroll_machine(argv[1], &token, &id);
	if (r == -EEXIST) {
		fprintf(stderr, "enroll-machine: '%s' is already enrolled (revoke-machine it first)\n", argv[1]);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "enroll-machine: %s\n",
			r == -EINVAL ? "names are 1 to 64 of A-Z a-z 0-9 . - _" : strerror(-r));
		return 1;
	}
	printf("%s\n", token);
	free(token);
	return 0;
}

static int cmd_revoke(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sphinx-server --data DIR revoke-machine NAME\n");
		return 2;
	}
	if (store_call(srv->store, machine_revoke, argv[1]) < 0) {
		fprintf(stderr, "revoke-machine: no machine named '%s'\n", argv[1]);
		return 1;
	}
	return 0;
}

static int cmd_list_machines(int argc, char **argv)
{
	struct machine_list l = { 0 };
	json_t *v;

	if (store_call(srv->store, machines, &l) < 0)
		return 1;
	v = machines_json(&l);
	machine_list_free(&l);
	if (!v)
		return 1;
	json_dumpf(v, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(v);
	return 0;
}

static int cmd_add_user(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, 'e' }, { "name", required_argument, NULL, 'n' },
		{ "admin", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 },
	};
	const char *email = NULL, *name = NULL, *why;
	bool admin = false;
	_cleanup_free_ char *pw = NULL;
	char hash[128];
	int64_t id;
	int c, r;

	optind = 0;	/* 0: glibc re-initialises its scan state */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'e')
			email = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 'a')
			admin = true;
		else
			return 2;
	}
	if (optind != argc - 1 || !email) {
		fprintf(stderr,
			"usage: sphinx-server --data DIR add-user USERNAME --email ADDR [--name NAME] [--admin] < "
			"password\n");
		return 2;
	}
	if ((why = auth_local_check_username(argv[optind]))) {
		fprintf(stderr, "add-user: %s\n", why);
		return 1;
	}
	pw = read_password();
	if (!pw || (why = auth_local_check_password(pw))) {
		fprintf(stderr, "add-user: %s\n", pw ? why : "no password on stdin");
		return 1;
	}
	if (auth_local_hash(pw, srv->pw_ops, srv->pw_mem, hash) < 0)
		return 1;
	r = store_call(srv->store, user_create, argv[optind], email, name ? name : argv[optind], NULL, hash, NULL, NULL,
		       now_ms(), &id);
	if (r < 0) {
		fprintf(stderr, "add-user: %s\n",
			r == -EEXIST ? "username or e-mail already registered" : strerror(-r));
		return 1;
	}
	if (admin)
		store_call(srv->store, user_set_admin, id, true);
	store_call(srv->store, user_set_email_verified, id, true);	/* an admin vouches for the address */
	printf("%lld\n", (long long)id);
	return 0;
}

static int cmd_set_password(int argc, char **argv)
{
	_cleanup_free_ char *pw = NULL;
	struct user u = { 0 };
	const char *why;
	char hash[128];

	if (argc != 2) {
		fprintf(stderr, "usage: sphinx-server --data DIR set-password USERNAME < password\n");
		return 2;
	}
	if (store_call(srv->store, user_find, "username", argv[1], &u) < 0) {
		fprintf(stderr, "set-password: no user '%s'\n", argv[1]);
		return 1;
	}
	pw = read_password();
	if (!pw || (why = auth_local_check_password(pw))) {
		fprintf(stderr, "set-password: %s\n", pw ? why : "no password on stdin");
		user_clear(&u);
		return 1;
	}
	auth_local_hash(pw, srv->pw_ops, srv->pw_mem, hash);
	int r = store_call(srv->store, user_set_password, u.id, hash);
	/* whoever knew the old password must not stay signed in with it */
	int ended = r < 0 ? r : store_call(srv->store, session_delete_user, u.id);
	if (ended < 0)
		fprintf(stderr, "set-password: cannot %s for '%s'\n", r < 0 ? "store the password" : "end the sessions",
			argv[1]);
	else
		fprintf(stderr, "set-password: password of '%s' changed; %d session%s ended\n", argv[1], ended,
			ended == 1 ? "" : "s");
	user_clear(&u);
	return ended < 0 ? 1 : 0;
}

/* ------------------------------------------------------- policy commands */

/* Tell the server serving our data_dir that the policy changed; say what happened. */
static void tell_server(void)
{
	pid_t pid;
	int r = datadir_server_pid(srv->cfg->data_dir, &pid);

	if (r == 0 && kill(pid, SIGUSR1) == 0)
		fprintf(stderr, "policy: told the server (pid %d): connected agents get it now\n", (int)pid);
	else if (r == -ESRCH)
		fprintf(stderr, "policy: no server is serving %s: agents get it when it runs\n", srv->cfg->data_dir);
	else
		fprintf(stderr,
			"policy: cannot tell the server serving %s (%s): agents get it at their next connection\n",
			srv->cfg->data_dir, strerror(r < 0 ? -r : errno));
}

struct policy_opts {
	const char *grp, *note, *author;
	char user[64];
};

/* --group, --note, --author after the sub-command; the operands stay in argv[optind..). -1: usage */
static int policy_options(int argc, char **argv, struct policy_opts *o)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' }, { "note", required_argument, NULL, 'n' },
		{ "author", required_argument, NULL, 'a' }, { NULL, 0, NULL, 0 },
	};
	struct passwd *pw = getpwuid(getuid());
	int c;

	snprintf(o->user, sizeof(o->user), "%s", pw ? pw->pw_name : "unknown");
	o->author = o->user;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'g')
			o->grp = optarg;
		else if (c == 'n')
			o->note = optarg;
		else if (c == 'a')
			o->author = optarg;
		else
			return -1;
	}
	return 0;
}

static void print_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)ms);
}

static int policy_push(int argc, char **argv, struct policy_opts *o)
{
	json_t *files = NULL, *errors = NULL, *e;
	char err[512];
	int64_t version;
	size_t rules, i;
	int r;

	if (optind != argc - 1) {
		fprintf(stderr, "usage: sphinx-server policy push DIR [--group G] [--note TEXT] [--author NAME]\n");
		return 2;
	}
	r = policy_bundle_from_dir(argv[optind], &files, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "policy push: refused: %s\n", err);
		return 1;
	}
	r = policy_admin_push(files, o->grp, o->author, o->note, &version, &rules, &errors);
	json_decref(files);
	if (r < 0) {
		fprintf(stderr, "policy push: %s %s; nothing was stored:\n", argv[optind],
			r == -EINVAL ? "refused" : "failed");
		json_array_foreach(errors, i, e)
			fprintf(stderr, "%s\n", json_string_value(e));
		json_decref(errors);
		return 1;
	}
	printf("policy v%lld stored for group %s (%zu rules)\n", (long long)version,
	       o->grp ? o->grp : POLICY_GROUP_DEFAULT, rules);
	tell_server();
	return 0;
}

static int policy_list(int argc, char **argv, struct policy_opts *o)
{
	struct policy_bundle_list l = { 0 };
	char at[32];

	if (optind != argc || (o->grp && !policy_group_ok(o->grp))) {
		fprintf(stderr, "usage: sphinx-server policy list [--group G]\n");
		return 2;
	}
	if (store_call(srv->store, policies, o->grp, &l) < 0) {
		fprintf(stderr, "policy list: cannot read the store\n");
		return 1;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct policy_bundle *b = &l.v[i];

		print_time(b->at, at, sizeof(at));
		printf("v%-5lld %-16s %s  %-12s %s", (long long)b->version, b->grp, at, b->author ? b->author : "-",
		       b->note ? b->note : "");
		if (b->rolled_back_from)
			printf("%s(rolls v%lld back)", b->note ? " " : "", (long long)b->rolled_back_from);
		putchar('\n');
	}
	policy_bundle_list_free(&l);
	return 0;
}

static int policy_show(int argc, char **argv, struct policy_opts *o)
{
	struct policy_bundle b = { 0 };
	uint64_t version;
	json_t *files, *f;
	char at[32];
	size_t i;
	int r;

	if (optind != argc - 1 || parse_u64(argv[optind][0] == 'v' ? argv[optind] + 1 : argv[optind], 1, INT64_MAX,
					    &version) < 0) {
		fprintf(stderr, "usage: sphinx-server policy show VERSION\n");
		return 2;
	}
	r = store_call(srv->store, policy_get, (int64_t)version, &b);
	if (r < 0) {
		fprintf(stderr, "policy show: %s\n", r == -ENOENT ? "no such version" : "cannot read the store");
		return 1;
	}
	print_time(b.at, at, sizeof(at));
	printf("version: %lld\ngroup: %s\nauthor: %s\nat: %s\nnote: %s\n", (long long)b.version, b.grp,
	       b.author ? b.author : "-", at, b.note ? b.note : "");
	if (b.rolled_back_from)
		printf("rolls back: v%lld\n", (long long)b.rolled_back_from);
	files = json_loads(b.files_json, 0, NULL);
	json_array_foreach(files, i, f)
		printf("\n==> %s <==\n%s", json_string_value(json_object_get(f, "name")),
		       json_string_value(json_object_get(f, "text")));
	json_decref(files);
	policy_bundle_clear(&b);
	return 0;
}

static int policy_rollback(int argc, char **argv, struct policy_opts *o)
{
	int64_t version, to;
	int r;

	if (optind != argc) {
		fprintf(stderr, "usage: sphinx-server policy rollback [--group G] [--note TEXT] [--author NAME]\n");
		return 2;
	}
	r = policy_admin_rollback(o->grp, o->author, o->note, &version, &to);
	if (r < 0) {
		fprintf(stderr, "policy rollback: %s\n",
			r == -ENOENT ? "the group has fewer than two versions: nothing to roll back to"
			: r == -EINVAL ? "group: 1 to 64 of A-Z a-z 0-9 . _ -; note: at most 1024 bytes"
			: "cannot write the store");
		return 1;
	}
	printf("policy v%lld stored for group %s: the files of v%lld\n", (long long)version,
	       o->grp ? o->grp : POLICY_GROUP_DEFAULT, (long long)to);
	tell_server();
	return 0;
}

static int cmd_policy(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv, struct policy_opts *o);
	} subs[] = {
		{ "push", policy_push }, { "list", policy_list }, { "show", policy_show },
		{ "rollback", policy_rollback },
	};
	struct policy_opts o = { 0 };

	for (size_t i = 0; argc >= 2 && i < ARRAY_SIZE(subs); i++) {
		if (strcmp(argv[1], subs[i].name))
			continue;
		if (policy_options(argc - 1, argv + 1, &o) < 0)
			return 2;
		return subs[i].fn(argc - 1, argv + 1, &o);
	}
	fprintf(stderr, "usage: sphinx-server policy push|list|show|rollback ... (see --help)\n");
	return 2;
}

static int cmd_machine_group(int argc, char **argv)
{
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: sphinx-server machine-group NAME GROUP\n");
		return 2;
	}
	r = policy_admin_set_group(argv[1], argv[2]);
	if (r < 0) {
		fprintf(stderr, "machine-group: %s\n",
			r == -ENOENT ? "no such machine" : r == -EINVAL ? "group: 1 to 64 of A-Z a-z 0-9 . _ -"
			: "cannot write the store");
		return 1;
	}
	printf("machine %s is in group %s\n", argv[1], argv[2]);
	tell_server();
	return 0;
}

/* observations export: every stored observation (since, of one machine) as JSON lines, paged from the store */
static int cmd_observations(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' }, { "machine", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' }, { NULL, 0, NULL, 0 },
	};
	const char *machine = NULL, *grp = NULL;
	int64_t since = 0, after = 0;
	size_t lines = 0;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's' && observations_parse_since(optarg, now_ms(), &since) < 0) {
			fprintf(stderr, "observations export: --since '%s': expected a duration back from now "
				"(7d, 12h, 30m) or ms since the epoch\n", optarg);
			return 2;
		} else if (c == 'm') {
			machine = optarg;
		} else if (c == 'g') {
			grp = optarg;
		} else if (c != 's') {
			return 2;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "export") != 0) {
		fprintf(stderr, "usage: sphinx-server --data DIR observations export [--since 7d] [--machine NAME] "
			"[--group G]\n");
		return 2;
	}
	for (;;) {
		struct observation_list l = { 0 };

		r = store_call(srv->store, observations_page, since, machine, grp, after, OBSERVATIONS_PAGE_ROWS, &l);
		if (r < 0) {
			fprintf(stderr, "observations export: cannot read the store: %s\n", strerror(-r));
			return 1;
		}
		for (size_t i = 0; i < l.n; i++) {
			_cleanup_free_ char *line = observations_line(&l.v[i]);

			after = l.v[i].id;
			if (line && printf("%s\n", line) > 0)
				lines++;
		}
		r = l.n < OBSERVATIONS_PAGE_ROWS;
		observation_list_free(&l);
		if (r)
			break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "observations export: cannot write: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "observations export: %zu lines\n", lines);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "enroll-machine", cmd_enroll }, { "revoke-machine", cmd_revoke }, { "list-machines", cmd_list_machines },
	{ "add-user", cmd_add_user }, { "set-password", cmd_set_password }, { "policy", cmd_policy },
	{ "machine-group", cmd_machine_group }, { "observations", cmd_observations },
};

static int level_of(const char *s)
{
	static const struct { const char *n; int l; } t[] = {
		{ "err", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].l;
	return LOG_INFO;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "port", required_argument, NULL, 'p' },
		{ "data", required_argument, NULL, 'd' }, { "web", required_argument, NULL, 'w' },
		{ "bind", required_argument, NULL, 'b' }, { "set", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' }, { "print-config", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	/* overrides are applied after the file, in order */
	struct { const char *key; char *val; } over[64];
	size_t nover = 0;
	const char *config_file = NULL;
	struct config cfg;
	char err[512];
	bool verbose = false;
	int c, r = 1;

	log_init("sphinx-server", LOG_INFO);
	notify_init();
	if (config_init(&cfg) < 0)
		return 1;
	/* '+': stop at the first command word, so command options stay for the command */
	while ((c = getopt_long(argc, argv, "+c:p:d:w:b:o:vhV", opts, NULL)) != -1) {
		const char *key = NULL;
		switch (c) {
		case 'c': config_file = optarg; continue;
		case 'p': key = "port"; break;
		case 'd': key = "data_dir"; break;
		case 'w': key = "web_root"; break;
		case 'b': key = "listen_address"; break;
		case 'o': key = ""; break;
		case 'v': verbose = true; continue;
		case 'P': config_print_example(stdout); config_free(&cfg); return 0;
		case 'h': usage(stdout); config_free(&cfg); return 0;
		case 'V':
			printf("sphinx-server %s (libwebsockets %s)\n", VERSION, lws_get_library_version());
			config_free(&cfg);
			return 0;
		default: usage(stderr); config_free(&cfg); return 2;
		}
		if (nover == ARRAY_SIZE(over)) {
			fprintf(stderr, "sphinx-server: too many overrides\n");
			return 2;
		}
		over[nover].key = key;
		over[nover].val = optarg;
		nover++;
	}
	if (config_file && config_load(&cfg, config_file, err, sizeof(err)) < 0) {
		log_err("config: %s", err);
		goto out;
	}
	for (size_t i = 0; i < nover; i++) {
		_cleanup_free_ char *kv = NULL;
		const char *key = over[i].key, *val = over[i].val;
		if (!key[0]) {
			char *eq;
			kv = strdup(over[i].val);
			if (!kv || !(eq = strchr(kv, '='))) {
				log_err("--set: expected KEY=VALUE, got '%s'", over[i].val);
				goto out;
			}
			*eq = '\0';
			key = kv;
			val = eq + 1;
		}
		if (config_set(&cfg, key, val, err, sizeof(err)) < 0) {
			log_err("command line: %s", err);
			goto out;
		}
	}
	if (config_validate(&cfg, err, sizeof(err)) < 0) {
		log_err("config%s%s: %s", config_file ? " " : "", config_file ? config_file : "", err);
		goto out;
	}
	log_set_level(verbose ? LOG_DEBUG : level_of(cfg.log_level));
	if (web_root_default(&cfg, err, sizeof(err)) < 0) {
		log_err("web_root: %s", err);
		goto out;
	}
	if (node_name_default(&cfg, err, sizeof(err)) < 0) {
		log_err("node_name: %s", err);
		goto out;
	}
	if (sodium_init() < 0) {
		log_err("libsodium initialisation failed");
		goto out;
	}

	srv = &the_server;
	srv->cfg = &cfg;
	srv->tls = cfg.tls_cert[0] && cfg.tls_key[0];
	srv->cookie_name = srv->tls ? "__Host-sphinx_session" : "sphinx_session";
	auth_local_costs(cfg.password_strength, &srv->pw_ops, &srv->pw_mem);
	/* a policy command may signal the lock holder before serve() handles it: never die of it */
	if (optind == argc)
		signal(SIGUSR1, SIG_IGN);
	if (datadir_check(cfg.data_dir, err, sizeof(err)) < 0 ||
	    (optind == argc && datadir_lock(cfg.data_dir, err, sizeof(err)) < 0)) {
		log_err("%s", err);
		r = 1;
		goto out;
	}
	if (strcmp(cfg.store, "postgresql") == 0) {
		/* unreachable or refused: exit status 3, so a unit or a script can tell it from a bad config (1) */
		r = store_pg_open(cfg.postgresql, err, sizeof(err), &srv->store);
		if (r < 0) {
			log_err("store: postgresql: %s", err);
			r = r == -ECONNREFUSED ? 3 : 1;
			goto out;
		}
	} else {
		r = store_sqlite_open(cfg.data_dir, strcmp(cfg.db_synchronous, "full") == 0, &srv->store);
		if (r < 0) {
			log_err("store: cannot open %s/sphinx.db: %s", cfg.data_dir,
				r == -EPROTO ? "written by a newer sphinx-server" : strerror(-r));
			r = 1;
			goto out;
		}
	}
	ratelimit_set_store(srv->store);	/* global limits shared by every node where the store can */
	if (optind < argc) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (strcmp(argv[optind], commands[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(commands)) {
			fprintf(stderr, "sphinx-server: unknown command '%s' (see --help)\n", argv[optind]);
			r = 2;
		} else {
			r = commands[i].fn(argc - optind, argv + optind);
		}
	} else {
		web_root_check(cfg.web_root);
		if (!cluster_active())
			recover();
		else if ((r = cluster_recover()) < 0)
			log_err("cluster: node '%s': cannot release its earlier rows: %s", cfg.node_name, strerror(-r));
		if ((r = monitor_init()) < 0)
			log_err("monitor: cannot reset machine states: %s", strerror(-r));
		r = serve() < 0 ? 1 : 0;
		monitor_free();
		conn_quota_free();
	}
	store_call(srv->store, close);
out:
	config_free(&cfg);
	return r;
}
