# SPDX-License-Identifier: GPL-2.0-only
# Meeting Sphinx — one Makefile for the kernel side, the agent, the policy
# tool and the server. `make help` lists the targets.

OUTPUT ?= build
prefix ?= /usr/local
PREFIX ?= $(prefix)
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
SYSCONFDIR ?= /etc

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/riscv64/riscv/')

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2
CFLAGS ?= -O2 -g
CFLAGS += $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -MMD -MP -Icommon
# Every target sees common/ and its own directory (quoted includes look next
# to the file first); anything more is added per target below, so the server
# cannot include agent/ by accident (two session.h once compiled only because
# they shared an include guard).
AGENT_INCLUDES := -Iagent -Ipolicy -Ibpf -I$(OUTPUT)
LDFLAGS ?=

ifneq ($(SANITIZE),)
# Undefined behaviour stops the program, so a sanitizer finding fails its test.
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
.PHONY: all clean test test-bins install checksrc help run fuzz

# ------------------------------------------------------------------ common
COMMON_SRCS := common/log.c common/util.c common/hashtab.c
COMMON_OBJS := $(COMMON_SRCS:%.c=$(OUTPUT)/%.o)

# ------------------------------------------------------------------ policy
POLICY_LIBS := $(shell $(PKG_CONFIG) --libs yaml-0.1 jansson 2>/dev/null || echo -lyaml -ljansson)
POLICY_SRCS := $(filter-out policy/sphinx-policy.c,$(wildcard policy/*.c))
POLICY_OBJS := $(POLICY_SRCS:%.c=$(OUTPUT)/%.o)
POLICY_LIB := $(OUTPUT)/libsphinxpolicy.a

$(POLICY_OBJS) $(OUTPUT)/policy/sphinx-policy.o: CFLAGS += -Ipolicy

$(POLICY_LIB): $(POLICY_OBJS) $(COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/sphinx-policy: $(OUTPUT)/policy/sphinx-policy.o $(POLICY_LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl) -o $@

# ------------------------------------------------------------- kernel side
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(OUTPUT)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(OUTPUT)/%.skel.h)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
# clang's own system includes, so BPF code finds <asm/...> like libbpf-tools.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

$(OUTPUT)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF)" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror -MMD -MP \
		-I$(OUTPUT) -Ibpf $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ------------------------------------------------------------------- agent
AGENT_LIBS := $(shell $(PKG_CONFIG) --libs libbpf libelf zlib jansson libsystemd libwebsockets 2>/dev/null || echo -lbpf -lelf -lz -ljansson -lsystemd -lwebsockets) -lpthread
AGENT_SRCS := $(wildcard agent/*.c)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(OUTPUT)/%.o)

$(AGENT_OBJS): $(BPF_SKELS)
$(AGENT_OBJS): CFLAGS += $(AGENT_INCLUDES)

# sd_notify for both daemons (links libsystemd, so not in COMMON_OBJS).
NOTIFY_OBJ := $(OUTPUT)/common/notify.o

$(OUTPUT)/sphinx-agent: $(AGENT_OBJS) $(NOTIFY_OBJ) $(POLICY_LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(AGENT_LIBS) $(POLICY_LIBS) -o $@

# --------------------------------------------------------- user-space objs
$(OUTPUT)/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

PROGRAMS := $(OUTPUT)/sphinx-agent $(OUTPUT)/sphinx-policy

# The server has its own fragment; it adds to PROGRAMS and TEST_BINS.
-include server/server.mk

# ------------------------------------------------------------------- tests
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(OUTPUT)/tests/%)
TEST_BINS += $(UNIT_BINS)

$(OUTPUT)/tests/unit/test_policy_%.o: CFLAGS += -Ipolicy
AGENT_UNIT_OBJS := $(patsubst %,$(OUTPUT)/tests/unit/test_%.o,capture api_layer spool uprobe_site proc_table bundle)
$(AGENT_UNIT_OBJS): CFLAGS += $(AGENT_INCLUDES)

$(OUTPUT)/tests/test_policy_%: $(OUTPUT)/tests/unit/test_policy_%.o $(POLICY_LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(CMOCKA_LIBS) -o $@

$(OUTPUT)/tests/test_capture: $(OUTPUT)/tests/unit/test_capture.o $(OUTPUT)/agent/capture.o $(POLICY_LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(CMOCKA_LIBS) -o $@

$(OUTPUT)/tests/test_api_layer: $(OUTPUT)/tests/unit/test_api_layer.o $(OUTPUT)/agent/api_names.o
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(CMOCKA_LIBS) -o $@

$(OUTPUT)/tests/test_spool: $(OUTPUT)/tests/unit/test_spool.o $(OUTPUT)/agent/spool.o $(COMMON_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(CMOCKA_LIBS) -ljansson -lpthread -o $@

$(OUTPUT)/tests/test_bundle: $(OUTPUT)/tests/unit/test_bundle.o $(OUTPUT)/agent/bundle.o $(POLICY_LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(CMOCKA_LIBS) -o $@

$(OUTPUT)/tests/test_hashtab: $(OUTPUT)/tests/unit/test_hashtab.o $(OUTPUT)/common/hashtab.o
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(CMOCKA_LIBS) -o $@

$(OUTPUT)/tests/test_proc_table: $(OUTPUT)/tests/unit/test_proc_table.o $(OUTPUT)/agent/proc_table.o $(COMMON_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(CMOCKA_LIBS) -o $@

$(OUTPUT)/tests/test_uprobe_site: $(OUTPUT)/tests/unit/test_uprobe_site.o $(OUTPUT)/agent/uprobe_site.o \
				    $(OUTPUT)/agent/elf_file.o
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -lelf $(CMOCKA_LIBS) -o $@

# Test helpers: real clients of the libraries the api layer hooks.
PW_FLAGS := $(shell $(PKG_CONFIG) --cflags --libs libpipewire-0.3 2>/dev/null)
$(OUTPUT)/tests/pw_stream_client: tests/helpers/pw_stream_client.c
	$(call msg,BINARY,$@)
	$(Q)mkdir -p $(@D)
	$(Q)test -n "$(PW_FLAGS)" || { echo "libpipewire-0.3-dev is missing (scripts/install-deps.sh --test)" >&2; exit 1; }
	$(Q)$(CC) -O2 -g -Wall -Wno-missing-field-initializers $< $(PW_FLAGS) -o $@
X11_FLAGS := $(shell $(PKG_CONFIG) --cflags --libs x11 x11-xcb xcb xcb-render xext xrender xdamage xcomposite 2>/dev/null)
$(OUTPUT)/tests/x11_grabber: tests/helpers/x11_grabber.c
	$(call msg,BINARY,$@)
	$(Q)mkdir -p $(@D)
	$(Q)test -n "$(X11_FLAGS)" || { echo "libx11-dev, libx11-xcb-dev, libxcb-render0-dev, libxext-dev, libxrender-dev, libxdamage-dev, libxcomposite-dev are missing (scripts/install-deps.sh --test)" >&2; exit 1; }
	$(Q)$(CC) -O2 -g -Wall -Wextra $< $(X11_FLAGS) -o $@
TEST_HELPERS := $(OUTPUT)/tests/pw_stream_client $(OUTPUT)/tests/x11_grabber

# Fuzz targets and their corpus replays (adds to TEST_BINS).
-include tests/fuzz/fuzz.mk

all: $(PROGRAMS)

# Every test binary and helper, without running them (CI builds a second
# set with SANITIZE=address,undefined and replays its unit tests too).
test-bins: $(TEST_BINS) $(TEST_HELPERS)

test: all $(TEST_BINS) $(TEST_HELPERS)
	$(Q)OUTPUT=$(OUTPUT) tests/run

run: all
	$(Q)OUTPUT=$(OUTPUT) exec bash scripts/demo.sh

# Every benchmark, then one table of min / median / max (bench/README.md).
# Needs root and an idle machine; takes about 20 minutes.
.PHONY: bench
bench: $(OUTPUT)/sphinx-server $(OUTPUT)/sphinx-agent $(OUTPUT)/bench/lobby_bench
	$(Q)OUTPUT=$(OUTPUT) bench/run-all.sh

# Banned functions, line length, whitespace, brace and comment style in
# every C file git knows (the rules: scripts/checksrc; the formatter for new
# code: .clang-format).
checksrc:
	$(Q)perl scripts/checksrc
	@echo "checksrc: ok"

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/sphinx/policy.d \
		$(DESTDIR)$(DATADIR)/sphinx/policy
	install -m 0755 $(OUTPUT)/sphinx-agent $(DESTDIR)$(SBINDIR)/sphinx-agent
	install -m 0755 $(OUTPUT)/sphinx-policy $(DESTDIR)$(BINDIR)/sphinx-policy
	install -m 0644 policy/default/*.yml $(DESTDIR)$(DATADIR)/sphinx/policy/
	$(INSTALL_EXTRA)

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT)

help:
	@echo "targets: all test run bench install checksrc clean   (V=1 verbose, SANITIZE=address,undefined)"

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
