/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-address cap on connections that have not finished their request
 * head. lws 4.1 serves every connection from one pool of header tables
 * (max_http_header_pool); a peer that opens hundreds of sockets and trickles
 * one header byte at a time would hold the whole pool and make every other
 * client wait for a table. So a connection counts against its peer address
 * from accept until its request head is complete (LWS_CALLBACK_HTTP, an
 * upgrade) or it closes; an accept above max_pending_per_address for that
 * address is refused at once. header_timeout (lws timeout_secs_ah_idle)
 * bounds how long one such connection may take.
 *
 * Bookkeeping: the accept callback gives only the fd; lws then creates the
 * connection's wsi (LWS_CALLBACK_WSI_CREATE, same call stack) and, once it
 * is set up, LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED, where the address
 * entry is attached as the wsi's opaque user data (lws overwrites that
 * field between the two, so it cannot be set at creation). Only the first
 * request of a connection is counted: lws 4.1 has no callback when a
 * keep-alive connection starts its next request head (that one is bounded
 * by keepalive_timeout instead).
 *
 * Owns: the hash of peer addresses with connections still in their request
 * head, and the pending and refused counts (file statics in peer_limit.c).
 * Callers: ws.c only, from the lws callbacks named above, on the event-loop
 * thread.
 */
#ifndef SPHINX_PEER_LIMIT_H
#define SPHINX_PEER_LIMIT_H

struct lws;

/*
 * A connection was accepted on fd (LWS_CALLBACK_FILTER_NETWORK_CONNECTION).
 * 0 to accept it, -EBUSY when its address is over the cap (the caller
 * refuses it), -errno when the peer cannot be read.
 */
int peer_limit_accept(int fd);

/* LWS_CALLBACK_WSI_CREATE: note the wsi of the connection just accepted, if any. */
void peer_limit_created(struct lws *wsi);

/* LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: attach the count to that wsi. */
void peer_limit_instantiated(struct lws *wsi);

/* The request head is complete, or the connection is gone: uncount it (idempotent). */
void peer_limit_done(struct lws *wsi);

/* Connections currently counted for all addresses (tests, logs). */
unsigned peer_limit_pending(void);

#endif
