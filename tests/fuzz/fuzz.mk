# SPDX-License-Identifier: GPL-2.0-only
# Fuzz targets, included by the top-level Makefile (after server/server.mk).
# tests/fuzz/fuzz_<target>.c holds one libFuzzer entry point; every target
# is built twice:
#  - $(OUTPUT)/tests/test_fuzz_<target>: the normal compiler, linked with
#    fuzz_replay.c: replays tests/fuzz/corpus/<target>/ as TAP (make test,
#    suite fuzz-replay; the sanitizer test build replays under ASan too);
#  - $(FUZZ_OUTPUT)/fuzz/fuzz_<target>: clang, libFuzzer, ASan + UBSan
#    (`make fuzz`); scripts/fuzz.sh runs them (docs/testing.md).
# A target is one word below and, if it links more than the server's
# objects, one FUZZ_LINK_<target> / FUZZ_LIBS_<target> line.

FUZZ_SERVER_TARGETS := server_lobby server_lobby_attendee server_agent server_agent_prehello \
	server_api server_cookie server_jwks server_config
FUZZ_TARGETS := policy agent_config $(FUZZ_SERVER_TARGETS)
FUZZ_OUTPUT ?= build-fuzz

FUZZ_SERVER_LINK := $(OUTPUT)/tests/fuzz/fuzz_server_harness.o $(SERVER_LIB_OBJS) $(COMMON_OBJS)
$(foreach t,$(FUZZ_SERVER_TARGETS),$(eval FUZZ_LINK_$(t) := $(FUZZ_SERVER_LINK))$(eval FUZZ_LIBS_$(t) := $(SERVER_LIBS)))
# the jwks target plays the identity provider: it brings its own httpc_json()
FUZZ_LINK_server_jwks := $(filter-out $(OUTPUT)/server/httpc.o,$(FUZZ_SERVER_LINK))
FUZZ_LINK_policy := $(POLICY_LIB)
FUZZ_LIBS_policy := $(POLICY_LIBS)
# agent/config.c alone, without the agent's BPF skeleton prerequisites
FUZZ_LINK_agent_config := $(OUTPUT)/tests/fuzz/agent_config.o $(COMMON_OBJS)

# Each group sees its own headers first (server/ and agent/ both have a config.h).
$(OUTPUT)/tests/fuzz/fuzz_server_%.o: tests/fuzz/fuzz_server_%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -Iserver -Itests/fuzz $(CFLAGS) $(SERVER_CFLAGS) -c $< -o $@
$(OUTPUT)/tests/fuzz/fuzz_agent_%.o: tests/fuzz/fuzz_agent_%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -Iagent -Itests/fuzz $(CFLAGS) -c $< -o $@
$(OUTPUT)/tests/fuzz/agent_config.o: agent/config.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -Iagent $(CFLAGS) -c $< -o $@
$(OUTPUT)/tests/fuzz/fuzz_policy.o: tests/fuzz/fuzz_policy.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -Ipolicy -Itests/fuzz $(CFLAGS) -c $< -o $@

# (the replay objects get explicit rules: a pattern would also match the
# included fuzz_replay_<target>.d files and make would try to "remake" them)
define FUZZ_TARGET_RULES
$(OUTPUT)/tests/fuzz/fuzz_replay_$(1).o: tests/fuzz/fuzz_replay.c
	$$(call msg,CC,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(CFLAGS) -DFUZZ_NAME='"$(1)"' -c $$< -o $$@
$(OUTPUT)/tests/test_fuzz_$(1): $(OUTPUT)/tests/fuzz/fuzz_$(1).o $(OUTPUT)/tests/fuzz/fuzz_replay_$(1).o $(FUZZ_LINK_$(1))
	$$(call msg,BINARY,$$@)
	$$(Q)$$(CC) $$(LDFLAGS) $$^ $(FUZZ_LIBS_$(1)) -o $$@
$(OUTPUT)/fuzz/fuzz_$(1): $(OUTPUT)/tests/fuzz/fuzz_$(1).o $(FUZZ_LINK_$(1))
	$$(call msg,FUZZ,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(LDFLAGS) -fsanitize=fuzzer $$^ $(FUZZ_LIBS_$(1)) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULES,$(t))))

TEST_BINS += $(FUZZ_TARGETS:%=$(OUTPUT)/tests/test_fuzz_%)

# libFuzzer builds: make fuzz, then e.g.
#   build-fuzz/fuzz/fuzz_server_api -max_total_time=60 NEW_DIR tests/fuzz/corpus/server_api
.PHONY: fuzz fuzz-bins
fuzz-bins: $(FUZZ_TARGETS:%=$(OUTPUT)/fuzz/fuzz_%)
fuzz:
	$(Q)$(MAKE) OUTPUT=$(FUZZ_OUTPUT) CC=clang SANITIZE=fuzzer-no-link,address,undefined fuzz-bins
