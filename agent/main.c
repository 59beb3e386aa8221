// SPDX-License-Identifier: GPL-2.0-only
/*
 * sphinx-agent: sees screen capture on this machine the moment it starts
 * and says who is doing it. main() reads top to bottom: options, feature
 * probe, policy, process table, load, attach, poll; one cleanup path.
 *
 * Owns: the options, the configuration, the policy in force (events.c
 * borrows it) and where it came from (the local files, or a server bundle
 * kept by bundle.c), the process table, the ring buffer, the record file,
 * the spool and the uplink. Each module below keeps its own state behind its
 * header: layer.h (the layer table), status.h (probe status), loader.h
 * (the BPF object), devices.h, exec_wake.h, events.h, output.h.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "api_names.h"
#include "attribution.h"
#include "bundle.h"
#include "cleanup.h"
#include "compositor.h"
#include "config.h"
#include "devices.h"
#include "events.h"
#include "exec_wake.h"
#include "layer.h"
#include "libpath.h"
#include "loader.h"
#include "log.h"
#include "notify.h"
#include "output.h"
#include "policy.h"
#include "probe.h"
#include "proc_table.h"
#include "spool.h"
#include "status.h"
#include "uplink.h"
#include "util.h"
#include "sphinx.skel.h"

#define AGENT_VERSION "0.1.0"

#ifndef SPHINX_POLICY_DIR
#define SPHINX_POLICY_DIR "/etc/sphinx/policy.d"
#endif
#define DEFAULT_STATUS_PATH "/run/sphinx/agent.status"
#define TICK_NS (100 * 1000000ull)

struct agent_options {
	const char *config_path;	/* agent.conf: server link, spool, policy */
	const char *policy_path;
	const char *record_path;
	const char *status_path;	/* where the running agent writes its status */
	uint64_t idle_ns;
	bool to_stdout;
	bool enforce;			/* honour action: kill */
	bool status_only;
	int verbosity;
};

/* What main() owns; every other module keeps its state behind its header. */
struct agent {
	struct agent_options opts;
	struct agent_config cfg;	/* from --config; zeroed without one */
	struct features features;
	struct policy *policy;
	struct proc_table procs;
	struct ring_buffer *rb;
	char boot_id[40];
	FILE *record;
	struct spool *spool;		/* set when a server is configured */
	struct uplink *uplink;
	uint64_t status_seen;		/* status table generation last written */
	struct bundle_info bundle;	/* the server bundle in force; version 0: the local files */
	char *policy_error;		/* the last server bundle's refusal, NULL: none */
};

static volatile sig_atomic_t stop_requested, reload_requested, policy_offered;
static pthread_t main_thread;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGUSR1)
		policy_offered = 1;	/* the uplink has a "policy" message */
	else
		stop_requested = 1;
}

/* Uplink thread: a "policy" message is waiting; wake the detection loop's poll. */
static void wake_for_policy(void)
{
	pthread_kill(main_thread, SIGUSR1);
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: sphinx-agent [OPTIONS]\n"
"Detect screen capture (recorders, screenshot tools, capture APIs, capture\n"
"devices) with eBPF and report it.\n\n"
"  -c, --config FILE        agent configuration: server URL, token, spool, policy\n"
"                           (see docs/agent.md; default " AGENT_CONFIG_DEFAULT " if present)\n"
"  -p, --policy PATH        policy file or directory (default " SPHINX_POLICY_DIR ")\n"
"      --stdout             write capture.begin / capture.end as JSON lines on stdout\n"
"      --record FILE        also write every event the policy saw (JSON lines)\n"
"                           for `sphinx-policy test`\n"
"      --idle-timeout DUR   end a capture after this long without calls (default 3s)\n"
"      --enforce            honour `action: kill` in rules\n"
"      --status             print the active layers and probes, then exit\n"
"      --status-file PATH   where the running agent keeps its status\n"
"                           (default " DEFAULT_STATUS_PATH ")\n"
"  -v, --verbose            more logging (twice: libbpf debug)\n"
"  -h, --help               this text\n"
"      --version            print the version\n\n"
"Signals: SIGHUP reloads the policy in force, from the local files or the\n"
"last good server bundle (a broken one is refused and the old one kept);\n"
"SIGTERM/SIGINT end open captures and exit, detaching every probe.\n");
}

static int parse_args(int argc, char **argv, struct agent_options *o)
{
	enum {
		OPT_STDOUT = 256,
		OPT_RECORD,
		OPT_IDLE,
		OPT_ENFORCE,
		OPT_STATUS,
		OPT_STATUS_FILE,
		OPT_VERSION
	};
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "policy", required_argument, NULL, 'p' },
		{ "stdout", no_argument, NULL, OPT_STDOUT },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "enforce", no_argument, NULL, OPT_ENFORCE },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "status-file", required_argument, NULL, OPT_STATUS_FILE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	uint64_t ms;
	int c;

	o->policy_path = NULL;	/* --policy, else the config's, else SPHINX_POLICY_DIR */
	o->status_path = DEFAULT_STATUS_PATH;
	o->idle_ns = 3000 * 1000000ull;
	while ((c = getopt_long(argc, argv, "c:p:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; break;
		case 'p': o->policy_path = optarg; break;
		case OPT_STDOUT: o->to_stdout = true; break;
		case OPT_RECORD: o->record_path = optarg; break;
		case OPT_IDLE:
			if (parse_duration_ms(optarg, &ms) < 0 || ms < 500 || ms > 3600000) {
				fprintf(stderr,
					"sphinx-agent: --idle-timeout '%s': expected a duration "
					"between 500ms and 1h, e.g. 3s\n",
					optarg);
				return -EINVAL;
			}
			o->idle_ns = ms * 1000000ull;
			break;
		case OPT_ENFORCE: o->enforce = true; break;
		case OPT_STATUS: o->status_only = true; break;
		case OPT_STATUS_FILE: o->status_path = optarg; break;
		case 'v': o->verbosity++; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf("sphinx-agent %s\n", AGENT_VERSION); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sphinx-agent: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->config_path && access(AGENT_CONFIG_DEFAULT, F_OK) == 0)
		o->config_path = AGENT_CONFIG_DEFAULT;
	return 0;
}

static int load_policy(const char *path, struct policy **ret)
{
	struct policy_diags diags = {};
	char buf[1024];
	int err = policy_load(path, ret, &diags);

	for (size_t i = 0; i < diags.count; i++)
		log_err("%s", policy_diag_format(&diags.items[i], buf, sizeof(buf)));
	policy_diags_clear(&diags);
	if (err)
		log_err("policy %s: %s", path,
			err == -EINVAL ? "has errors (above)" : strerror(-err));
	return err;
}

/* The server's bundles are taken (policy_source = server, with a server_url). */
static bool server_policy(const struct agent *a)
{
	return a->cfg.server_url && !a->cfg.policy_local;
}

/* Where the policy in force was read from. */
static const char *policy_origin(const struct agent *a)
{
	return a->bundle.version ? a->cfg.server_policy_dir : a->opts.policy_path;
}

/*
 * Put fresh in force. Sessions hold copies of what they need, so the old
 * rules can go at once; the device and exec-wake watches follow the new
 * rules. SIGHUP and a server bundle both come here.
 */
static void swap_policy(struct agent *a, struct policy *fresh)
{
	events_set_policy(fresh);
	policy_free(a->policy);
	a->policy = fresh;
	devices_watch(fresh);
	exec_wake_fill(fresh);
}

/* SIGHUP: reload the policy in force from where it came, only if it loads cleanly. */
static void reload_policy(struct agent *a)
{
	struct policy *fresh = NULL;
	struct bundle_info info;
	char why[1024];
	int err;

	if (a->bundle.version) {
		err = bundle_load_last_good(policy_origin(a), &fresh, &info, why, sizeof(why));
		if (err < 0)
			log_err("policy: %s", why);
		else
			a->bundle = info;
	} else {
		err = load_policy(a->opts.policy_path, &fresh);
	}
	if (err < 0) {
		log_err("policy reload refused; keeping the %zu rules in force",
			policy_rule_count(a->policy));
		return;
	}
	swap_policy(a, fresh);
	log_info("policy reloaded: %zu rules from %s", policy_rule_count(fresh), policy_origin(a));
}

/*
 * At start: the last good server bundle on disk when the server's bundles
 * are taken (the server may be away), else the local files.
 */
static int load_start_policy(struct agent *a)
{
	const char *dir = a->cfg.server_policy_dir, *local = a->opts.policy_path;
	char why[1024];
	int err;

	if (server_policy(a)) {
		err = bundle_load_last_good(dir, &a->policy, &a->bundle, why, sizeof(why));
		if (err == 0) {
			log_info("policy: the last good server bundle v%lld (group %s) from %s: "
				 "%zu rules, until the server sends another",
				 (long long)a->bundle.version, a->bundle.group, dir,
				 policy_rule_count(a->policy));
			return 0;
		}
		if (err == -ENOENT)
			log_info("policy: no server bundle in %s yet: the local policy %s until "
				 "the server sends one", dir, local);
		else
			log_warn("policy: the last good server bundle cannot be used (%s): "
				 "the local policy %s until the server sends one", why, local);
		memset(&a->bundle, 0, sizeof(a->bundle));
	}
	return load_policy(a->opts.policy_path, &a->policy);
}

static struct uplink_policy_state policy_state(const struct agent *a)
{
	return (struct uplink_policy_state){
		.local_only = !server_policy(a),
		.local = !a->bundle.version,
		.version = a->bundle.version,
		.rules = policy_rule_count(a->policy),
		.error = a->policy_error,
	};
}

static void set_policy_error(struct agent *a, char *error)
{
	free(a->policy_error);
	a->policy_error = error;
}

static void write_status_file(struct agent *a);

/*
 * A "policy" message from the server: check it and keep it as the last
 * good bundle (bundle.c), then put it in force as SIGHUP does; a bundle
 * that fails leaves the policy in force. Either way the server hears the
 * outcome (policy.state).
 */
static void apply_server_policy(struct agent *a)
{
	json_t *msg = uplink_take_policy(a->uplink);
	const char *dir = a->cfg.server_policy_dir;
	struct uplink_policy_state st;
	struct policy *fresh = NULL;
	struct bundle_info info;
	char *error = NULL;
	long long version;
	int err;

	if (!msg)
		return;
	version = (long long)json_integer_value(json_object_get(msg, "version"));
	if (!server_policy(a)) {
		log_info("policy: server bundle v%lld ignored (policy_source = local)", version);
		if (asprintf(&error, "policy_source = local: server bundle v%lld ignored",
			     version) < 0)
			error = NULL;
		set_policy_error(a, error);
	} else if ((err = bundle_install(dir, msg, &fresh, &info, &error)) < 0) {
		log_err("policy: server bundle v%lld refused, the %zu rules of %s stay in force: "
			"%s", version, policy_rule_count(a->policy), policy_origin(a),
			error ? error : strerror(-err));
		set_policy_error(a, error ? error : strdup(strerror(-err)));
	} else {
		swap_policy(a, fresh);
		a->bundle = info;
		set_policy_error(a, NULL);
		log_info("policy: server bundle v%lld (group %s) applied: %zu rules from %s",
			 version, info.group, policy_rule_count(fresh), dir);
	}
	write_status_file(a);
	json_decref(msg);
	st = policy_state(a);
	uplink_policy_state(a->uplink, &st);
}

static void read_boot_id(char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	if (!f || !fgets(buf, len, f))
		snprintf(buf, len, "unknown-boot");
	buf[strcspn(buf, "\n")] = '\0';
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The status report to the server (the fleet view), when there is one. */
static void send_status(struct agent *a)
{
	json_t *report;

	if (!a->uplink)
		return;
	report = status_report_json();
	if (!report || uplink_set_status(a->uplink, report) < 0)
		log_warn("status report for the server not updated: out of memory");
	json_decref(report);
}

/* Why the local files are in force, for the status file ("": no server). */
static const char *local_why(const struct agent *a)
{
	if (!a->cfg.server_url)
		return "";
	return a->cfg.policy_local ? " (policy_source = local: server bundles ignored)"
				   : " (no server bundle yet)";
}

static void write_status_file(struct agent *a)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", a->opts.status_path);
	mkdir("/run/sphinx", 0755);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "pid %d\n", getpid());
	if (a->bundle.version)
		fprintf(f, "policy: server bundle v%lld (group %s), %zu rules\n",
			(long long)a->bundle.version, a->bundle.group,
			policy_rule_count(a->policy));
	else
		fprintf(f, "policy: local %s, %zu rules%s\n", a->opts.policy_path,
			policy_rule_count(a->policy), local_why(a));
	if (a->policy_error)
		fprintf(f, "policy error: the last server bundle was refused: %.300s\n",
			a->policy_error);
	layers_print_status(f);
	uplink_print_status(&a->cfg, f);
	if (fclose(f) == 0)
		rename(tmp, a->opts.status_path);
	send_status(a);
}

/* --status while an agent runs: show what it has attached. */
static bool print_running_status(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];
	int pid = 0;

	if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "pid %d", &pid) != 1 ||
	    pid <= 0 || kill(pid, 0) != 0)
		return false;
	printf("running agent, %s", line);
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	return true;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must wake the ring buffer poll. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int run_loop(struct agent *a)
{
	uint64_t last_tick = 0;

	while (!stop_requested) {
		int err = ring_buffer__poll(a->rb, 100);
		uint64_t now;

		/* Exec and exit records wake nobody: take them on each turn. */
		if (err >= 0)
			err = ring_buffer__consume(a->rb);
		if (err < 0 && err != -EINTR) {
			log_err("ring buffer poll failed: %s", strerror(-err));
			return err;
		}
		if (reload_requested) {
			reload_requested = 0;
			notify_reloading();
			reload_policy(a);
			write_status_file(a);
			notify_ready("watching: policy reloaded");
		}
		if (policy_offered) {
			policy_offered = 0;	/* before taking: a newer one sets it again */
			apply_server_policy(a);
		}
		notify_watchdog();
		/* durations use CLOCK_BOOTTIME; event times follow wall-clock steps */
		output_follow_wall_clock();
		now = boottime_ns();
		if (now - last_tick >= TICK_NS) {
			events_tick(now);
			last_tick = now;
		}
		/* a new compositor's rows, an X server hooked, a probe refused */
		if (compositor_status_changed() | status_changed(&a->status_seen))
			write_status_file(a);
	}
	return 0;
}

/*
 * The spool opens before the running processes are matched: a recorder
 * that was already running when the agent started is spooled like any
 * other capture, and the uplink started after it sends it.
 */
static int open_spool(struct agent *a)
{
	char why[1024];
	int err;

	err = spool_open(a->cfg.spool_dir, a->cfg.spool_max, &a->spool, why, sizeof(why));
	if (err) {
		log_err("spool_dir %s", why);
		return err;
	}
	output_set_link(a->spool, NULL);
	return 0;
}

/* The server link: the uplink thread, which replays the spool first. */
static int start_uplink(struct agent *a)
{
	char *names[AGENT_CONFIG_MAX_USERS + 1] = {};
	struct uplink_info info = {
		.boot_id = a->boot_id,
		.version = AGENT_VERSION,
		.policy = policy_state(a),
		.on_policy = wake_for_policy,
	};
	const char *layers[LAYER__COUNT + 1];
	int err;

	layers_active_names(layers);
	info.layers = layers;
	/* Who sits at this machine: logind's graphical sessions, else the config. */
	if (attribution_session_users(names, AGENT_CONFIG_MAX_USERS) > 0)
		info.users = (const char *const *)names;
	else
		info.users = (const char *const *)a->cfg.users;
	err = uplink_start(&a->cfg, a->spool, &info, &a->uplink);
	attribution_free_users(names);
	if (err) {
		log_err("cannot start the server link to %s: %s", a->cfg.server_url,
			strerror(-err));
		return err;
	}
	output_set_link(a->spool, a->uplink);
	log_info("server link to %s as machine '%s' (%zu events spooled, %llu ever dropped)",
		 a->cfg.server_url, a->cfg.machine, spool_count(a->spool),
		 (unsigned long long)spool_dropped(a->spool));
	return 0;
}

int main(int argc, char **argv)
{
	struct agent a = {};
	char why[1024], layers[256];
	int err;

	if (parse_args(argc, argv, &a.opts) < 0)
		return 2;
	main_thread = pthread_self();
	log_init("sphinx-agent", a.opts.verbosity ? LOG_DEBUG : LOG_INFO);
	notify_init();
	if (a.opts.status_only && print_running_status(a.opts.status_path))
		return 0;
	if (a.opts.config_path) {
		err = agent_config_load(a.opts.config_path, &a.cfg, why, sizeof(why));
		if (err) {
			log_err("%s", why);
			agent_config_free(&a.cfg);
			return 1;
		}
	}
	if (!a.opts.policy_path)
		a.opts.policy_path = a.cfg.policy ? a.cfg.policy : SPHINX_POLICY_DIR;
	if (!a.opts.status_only && !a.opts.to_stdout && !a.opts.record_path && !a.cfg.server_url) {
		log_err("nowhere to report detections: set server_url in %s, or use --stdout "
			"(or --record FILE)",
			a.opts.config_path ? a.opts.config_path : AGENT_CONFIG_DEFAULT);
		agent_config_free(&a.cfg);
		return 2;
	}

	err = probe_features(&a.features, why, sizeof(why));
	if (err) {
		log_err("%s", why);
		return 1;
	}
	if (!a.opts.status_only) {
		err = load_start_policy(&a);
		if (err)
			goto cleanup;
	}
	if (a.opts.record_path) {
		a.record = fopen(a.opts.record_path, "ae");
		if (!a.record) {
			err = -errno;
			log_err("--record %s: %s", a.opts.record_path, strerror(errno));
			goto cleanup;
		}
	}
	err = proc_table_init(&a.procs);
	if (err)
		goto cleanup;
	read_boot_id(a.boot_id, sizeof(a.boot_id));
	output_init(&(struct output_config){
		.boot_id = a.boot_id,
		/* Ids stay unique across agent restarts within one boot. */
		.first_seq = boottime_ns(),
		.to_stdout = a.opts.to_stdout,
		.enforce = a.opts.enforce,
		.email_domain = a.cfg.email_domain,
		.record = a.record,
	});
	events_init(&(struct events_config){
		.procs = &a.procs,
		.features = &a.features,
		.idle_ns = a.opts.idle_ns,
		.enforce = a.opts.enforce,
	});
	events_set_policy(a.policy);

	err = loader_open();
	if (err)
		goto cleanup;
	layers_prepare(&a.features);
	err = loader_load();
	if (err)
		goto cleanup;
	err = layers_attach(&a.features);
	if (err)
		goto cleanup;
	if (a.opts.status_only) {
		proc_table_scan(&a.procs);
		proc_table_for_each(&a.procs, i, p)
			if (is_xserver_exe(p->exe))
				layer_xserver_attach(&a.features, p->pid);
			else
				compositor_watch(&a.features, p);
		layers_attach_fallbacks(&a.features);
		printf("probe run (no agent running)\n");
		layers_print_status(stdout);
		goto cleanup;
	}
	err = devices_watch(a.policy);
	if (err)
		log_warn("device layer: some policy devices could not be watched: %s",
			 strerror(-err));
	/* Logged inside; a failure only means some execs wait for the poll. */
	exec_wake_fill(a.policy);
	/* Attach first, then scan: a process born in between is seen twice,
	 * never missed. */
	if (a.cfg.server_url) {
		err = open_spool(&a);
		if (err)
			goto cleanup;
	}
	proc_table_scan(&a.procs);
	events_match_running(boottime_ns());
	layers_attach_fallbacks(&a.features);
	a.rb = ring_buffer__new(bpf_map__fd(loader_skel()->maps.events), events_handle, NULL, NULL);
	if (!a.rb) {
		err = -errno;
		log_err("cannot open the ring buffer: %s", strerror(errno));
		goto cleanup;
	}
	install_signals();
	if (a.cfg.server_url) {
		err = start_uplink(&a);
		if (err)
			goto cleanup;
	}
	status_changed(&a.status_seen);
	write_status_file(&a);	/* and the first status report */
	layers_describe(layers, sizeof(layers));
	log_info("started: policy %s (%zu rules), layers %s", policy_origin(&a),
		 policy_rule_count(a.policy), layers);
	status_log_unattached();

	notify_ready("watching: every probe attached");
	err = run_loop(&a);
	notify_stopping("ending open captures, detaching");
	/* Drain what the kernel already queued, then close open captures. */
	ring_buffer__consume(a.rb);
	events_shutdown();
	/* The ends above are spooled; the uplink sends what it can, says goodbye. */
	uplink_stop(a.uplink);
	a.uplink = NULL;
	log_info("stopping: detaching all probes");
	unlink(a.opts.status_path);

cleanup:
	uplink_stop(a.uplink);
	spool_close(a.spool);
	agent_config_free(&a.cfg);
	ring_buffer__free(a.rb);
	layers_detach();
	loader_destroy();
	proc_table_free(&a.procs);
	policy_free(a.policy);
	free(a.policy_error);
	libpath_reset();
	if (a.record)
		fclose(a.record);
	return err ? 1 : 0;
}
