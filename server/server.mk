# SPDX-License-Identifier: GPL-2.0-only
# sphinx-server: included by the top-level Makefile.
SERVER_PKGS := libwebsockets jansson sqlite3 libpq libsodium cjose libcurl openssl libsystemd
SERVER_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(SERVER_PKGS) 2>/dev/null)
SERVER_LIBS := $(shell $(PKG_CONFIG) --libs $(SERVER_PKGS) 2>/dev/null || \
	echo -lwebsockets -ljansson -lsqlite3 -lpq -lsodium -lcjose -lcurl -lssl -lcrypto -lsystemd)
# worker.c runs password hashing and outbound HTTP on a thread pool
SERVER_LIBS += -pthread
# central policy checks a pushed bundle with the agent's own policy library
SERVER_LIBS := $(POLICY_LIB) $(POLICY_LIBS) $(SERVER_LIBS)
SERVER_SRCS := $(wildcard server/*.c)
SERVER_OBJS := $(SERVER_SRCS:%.c=$(OUTPUT)/%.o)
# everything but main(): linked into the fuzz and unit test binaries too
SERVER_LIB_OBJS := $(filter-out $(OUTPUT)/server/main.o,$(SERVER_OBJS))

$(SERVER_OBJS): CFLAGS += $(SERVER_CFLAGS)
$(OUTPUT)/server/policy_admin.o $(OUTPUT)/server/api_policy.o $(OUTPUT)/server/main.o: CFLAGS += -Ipolicy
# The installed web app, for a server started without web_root (main.c).
$(OUTPUT)/server/main.o: CFLAGS += -DSPHINX_WEB_ROOT='"$(DATADIR)/sphinx/web"'

$(OUTPUT)/sphinx-server: $(SERVER_OBJS) $(COMMON_OBJS) $(NOTIFY_OBJ) $(POLICY_LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(SERVER_LIBS) -o $@

PROGRAMS += $(OUTPUT)/sphinx-server

# ------------------------------------------------------ protocol constants
# The web app's lobby protocol constants are made from the C headers, the
# source of truth (docs/protocol.md), by a shell + awk script: the build
# needs no node. The output is committed (the web root is served as it is);
# `make` remakes it when a header changes, `make proto-js` always, and
# tests/integration/server_proto.sh fails when the committed file differs.
PROTO_JS_HEADERS := common/proto_ws.h common/proto_lobby.h
server/web/js/proto.js: $(PROTO_JS_HEADERS) scripts/gen-proto-js.sh
	$(call msg,GEN,$@)
	$(Q)scripts/gen-proto-js.sh $(PROTO_JS_HEADERS) > $@.tmp && mv $@.tmp $@

PROGRAMS += server/web/js/proto.js

.PHONY: proto-js
proto-js:
	$(Q)scripts/gen-proto-js.sh $(PROTO_JS_HEADERS) > server/web/js/proto.js.tmp
	$(Q)mv server/web/js/proto.js.tmp server/web/js/proto.js

# ------------------------------------------------------------------ bench
# Not part of `all`: `make bench-server` builds and runs bench/run-lobby.sh.
$(OUTPUT)/bench/lobby_bench: bench/lobby_bench.c
	$(call msg,BINARY,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE $< -o $@

.PHONY: bench-server
bench-server: $(OUTPUT)/sphinx-server $(OUTPUT)/bench/lobby_bench
	$(Q)OUTPUT=$(OUTPUT) bench/run-lobby.sh

# ---------------------------------------------------------------- install
# server binary, web app, documented example config (each command ends in ';'
# so other fragments may append to INSTALL_EXTRA too)
INSTALL_EXTRA += install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/sphinx/web $(DESTDIR)$(DATADIR)/doc/sphinx ; \
	install -m 0755 $(OUTPUT)/sphinx-server $(DESTDIR)$(SBINDIR)/sphinx-server ; \
	cp -R server/web/. $(DESTDIR)$(DATADIR)/sphinx/web/ ; \
	install -m 0644 server/sphinx-server.conf.example docs/server.md docs/api.md docs/protocol.md docs/deploy.md $(DESTDIR)$(DATADIR)/doc/sphinx/ ;

# ------------------------------------------------------------- unit tests
# tests/unit/test_server_*.c link the real server objects (all but main.o).
$(OUTPUT)/tests/unit/test_server_%.o: CFLAGS += $(SERVER_CFLAGS) -Iserver

$(OUTPUT)/tests/test_server_%: $(OUTPUT)/tests/unit/test_server_%.o $(SERVER_LIB_OBJS) $(COMMON_OBJS) $(POLICY_LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(SERVER_LIBS) $(CMOCKA_LIBS) -o $@
