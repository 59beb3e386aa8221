# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server: included by the top-level Makefile.
SERVER_PKGS := libwebsockets jansson sqlite3 libsodium cjose libcurl openssl
SERVER_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(SERVER_PKGS) 2>/dev/null)
SERVER_LIBS := $(shell $(PKG_CONFIG) --libs $(SERVER_PKGS) 2>/dev/null || \
	echo -lwebsockets -ljansson -lsqlite3 -lsodium -lcjose -lcurl -lssl -lcrypto)
SERVER_SRCS := $(wildcard server/*.c)
SERVER_OBJS := $(SERVER_SRCS:%.c=$(OUTPUT)/%.o)
# everything but main(): linked into the fuzz and unit test binaries too
SERVER_LIB_OBJS := $(filter-out $(OUTPUT)/server/main.o,$(SERVER_OBJS))

$(SERVER_OBJS): CFLAGS += $(SERVER_CFLAGS)

$(OUTPUT)/sphinx-server: $(SERVER_OBJS) $(COMMON_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(SERVER_LIBS) -o $@

PROGRAMS += $(OUTPUT)/sphinx-server

# ------------------------------------------------------------------ bench
# Not part of `all`: `make bench-server` builds and runs bench/run-lobby.sh.
$(OUTPUT)/bench/lobby_bench: bench/lobby_bench.c
	$(call msg,BINARY,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE $< -o $@

.PHONY: bench-server
bench-server: $(OUTPUT)/sphinx-server $(OUTPUT)/bench/lobby_bench
	$(Q)OUTPUT=$(OUTPUT) bench/run-lobby.sh
