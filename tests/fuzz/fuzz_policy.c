// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the policy loader: each input is one policy file.
 * It goes through the real policy_load() (file reading, libyaml, rule and
 * condition parsing, regex compilation), and when it loads, through the
 * matcher and the device-prefix table too, so a rule that compiles but
 * crashes when matched is found as well.
 *
 * The input is written to a memfd and loaded by its /proc path: no disk,
 * and the file-size cap is exercised like any file's.
 *
 * `make test` replays its corpus through fuzz_replay.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_memfd.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct policy *policy)
{
	static const char *const images[] = { "/usr/bin/ffmpeg", "", "/usr/bin/Xorg" };
	static const char *const argv[] = { "ffmpeg", "-f", "x11grab", "-i", ":0", "" };
	const struct policy_rule *all[8];
	struct policy_event ev;
	char **prefixes = NULL;

	for (int cat = 0; cat < POLICY_CAT__MAX; cat++) {
		for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
			policy_event_init(&ev, (enum policy_category)cat);
			policy_event_set(&ev, "Image", images[i]);
			policy_event_set(&ev, "CommandLine", "ffmpeg -f x11grab -i :0");
			policy_event_set(&ev, "TargetFilename", "/dev/fb0");
			policy_event_set(&ev, "Uid", i ? "1000" : "x");
			policy_event_set_argv(&ev, argv, 2 * i + 2);	/* auditd a0..aN */
			policy_match(policy, &ev);
			policy_match_all(policy, &ev, all, 8);
		}
	}
	if (policy_device_prefixes(policy, &prefixes) >= 0)
		policy_strv_free(prefixes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_diags diags = {};
	struct policy *policy = NULL;
	char path[64], buf[512];
	int fd;

	fd = fuzz_memfd(data, size, "fuzz-policy.yml", path, sizeof(path));
	if (policy_load(path, &policy, &diags) == 0) {
		if (diags.count)
			abort();	/* success must come with no errors */
		exercise(policy);
		policy_free(policy);
	} else {
		for (size_t i = 0; i < diags.count; i++)
			policy_diag_format(&diags.items[i], buf, sizeof(buf));
	}
	policy_diags_clear(&diags);
	close(fd);
	return 0;
}
