// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF object and its links (loader.h). libbpf's messages go through
 * the agent's log: warnings always, its debug output with -v.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "loader.h"
#include "log.h"
#include "sphinx.skel.h"

#define MAX_LINKS 96

static struct sphinx_bpf *skel;
static struct bpf_link *links[MAX_LINKS];
static unsigned n_links;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char buf[1024];

	if (level == LIBBPF_DEBUG && log_get_level() < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, args);
	log_msg(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, "libbpf: %s", buf);
	return 0;
}

int loader_open(void)
{
	libbpf_set_print(libbpf_print);
	skel = sphinx_bpf__open();
	if (!skel) {
		int err = -errno;

		log_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	skel->rodata->self_tgid = getpid();
	return 0;
}

int loader_load(void)
{
	int err = sphinx_bpf__load(skel);

	if (err) {
		log_err("the kernel refused the BPF programs: %s "
			"(run with -v for the verifier log)",
			strerror(-err));
		sphinx_bpf__destroy(skel);
		skel = NULL;
	}
	return err;
}

struct sphinx_bpf *loader_skel(void)
{
	return skel;
}

void loader_keep_link(struct bpf_link *link)
{
	if (n_links < MAX_LINKS)
		links[n_links++] = link;
	else
		bpf_link__destroy(link);
}

void loader_destroy(void)
{
	for (unsigned i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	n_links = 0;
	sphinx_bpf__destroy(skel);
	skel = NULL;
}
