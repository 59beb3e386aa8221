// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "httpc.h"

#define MAX_BODY (256 * 1024)

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t len = size * nmemb;
	char *np;

	if (b->n + len > MAX_BODY)
		return 0;	/* aborts the transfer */
	np = realloc(b->p, b->n + len + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int httpc_json(const char *url, const char *form, json_t **ret_json)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct buf b = { 0 };
	struct curl_slist *hdrs = NULL;
	long status = 0;
	CURL *c;
	CURLcode rc;

	pthread_once(&once, global_init);	/* curl_global_init is not thread-safe */
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sphinx-server");
	if (form)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(b.p);
		return -EIO;
	}
	*ret_json = b.p ? json_loadb(b.p, b.n, 0, NULL) : NULL;
	free(b.p);
	return (int)status;
}

char *httpc_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *r;

	if (!e)
		return NULL;
	r = strdup(e);
	curl_free(e);
	return r;
}
