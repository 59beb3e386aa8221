// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libwebsockets.h>

#include "log.h"
#include "peer_limit.h"
#include "server.h"

#define BUCKETS 1024

struct peer {
	struct peer *next;
	unsigned char addr[16];		/* IPv4 as v4-mapped IPv6 */
	unsigned count;
};

static struct peer *buckets[BUCKETS];
static struct peer *armed;		/* accepted, its wsi not instantiated yet */
static struct lws *armed_wsi;		/* that wsi once created */
static unsigned pending;
static int64_t refused_log_ms;		/* one "refused" line per 10 s, with how many */
static unsigned refused;

static int peer_key(int fd, unsigned char key[16])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6) {
		memcpy(key, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	} else if (ss.ss_family == AF_INET) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		memset(key, 0, 16);	/* unix socket: one shared entry */
	}
	return 0;
}

static unsigned hash(const unsigned char key[16])
{
	unsigned h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % BUCKETS;
}

static void release(struct peer *p)
{
	struct peer **pp;

	pending--;
	if (--p->count)
		return;
	for (pp = &buckets[hash(p->addr)]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return;
		}
	}
}

int peer_limit_accept(int fd)
{
	unsigned char key[16];
	struct peer *p;
	unsigned h;
	int r;

	if (armed)
		release(armed);	/* the last accept never became a connection */
	armed = NULL;
	armed_wsi = NULL;
	if ((r = peer_key(fd, key)) < 0)
		return r;
	h = hash(key);
	for (p = buckets[h]; p; p = p->next)
		if (memcmp(p->addr, key, 16) == 0)
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		memcpy(p->addr, key, 16);
		p->next = buckets[h];
		buckets[h] = p;
	}
	if (p->count >= srv->cfg->max_pending_per_address) {
		int64_t now = now_ms();
		refused++;
		if (now - refused_log_ms >= 10000) {
			char txt[INET6_ADDRSTRLEN];
			bool v4 = IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)key);
			inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? key + 12 : key, txt, sizeof(txt));
			log_warn("http: refused %u connection(s) over max_pending_per_address, latest from %s "
				 "(%u still sending their request head)", refused, txt, p->count);
			refused_log_ms = now;
			refused = 0;
		}
		return -EBUSY;
	}
	p->count++;
	pending++;
	armed = p;
	return 0;
}

void peer_limit_created(struct lws *wsi)
{
	if (armed && !armed_wsi)
		armed_wsi = wsi;
}

void peer_limit_instantiated(struct lws *wsi)
{
	if (!armed || wsi != armed_wsi)
		return;
	lws_set_opaque_user_data(wsi, armed);
	armed = NULL;
	armed_wsi = NULL;
}

void peer_limit_done(struct lws *wsi)
{
	struct peer *p = lws_get_opaque_user_data(wsi);

	if (armed && wsi == armed_wsi) {	/* adoption failed before it was instantiated */
		release(armed);
		armed = NULL;
		armed_wsi = NULL;
		return;
	}
	if (!p)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	release(p);
}

unsigned peer_limit_pending(void)
{
	return pending;
}
