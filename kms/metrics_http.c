/*
 * GET /metrics on its own listener (net/listener.h): a small pool of its
 * own, its own caps, nothing shared with Ua, so that a flood of Ua requests
 * never hides the metrics that would show it.  The scrape allocates (the
 * text), never the request path.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "kms/metrics.h"
#include "net/listener.h"

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_THREADS 2
#define METRICS_MAX_CONNS 64
#define METRICS_TIMEOUT_S 10
#define METRICS_CONN_MEMORY 16384

struct kms_metrics_http {
	net_listener_t *l;
	kms_metrics_t *m;
};

/* What *con_cls holds while a request is in flight (no state needed). */
static char in_flight;

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *s,
			    const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(s), (void *)(uintptr_t)s, MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		return MHD_NO;
	}
	enum MHD_Result ok = MHD_add_response_header(r, "Content-Type", "text/plain");
	if (ok == MHD_YES && allow != NULL) {
		ok = MHD_add_response_header(r, "Allow", allow);
	}
	if (ok == MHD_YES) {
		ok = MHD_queue_response(c, status, r);
	}
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result scrape(kms_metrics_http_t *h, struct MHD_Connection *c)
{
	metric_text_t t;
	metric_text_init(&t);
	int ret = kms_metrics_render(h->m, kms_clock_wall_s(), &t);
	if (ret != KMS_EOK || t.buf == NULL) {
		log_warning("metrics: scrape failed: %s", kms_strerror(ret));
		metric_text_free(&t);
		return text(c, 500, "scrape failed\n", NULL);
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(t.len, t.buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		metric_text_free(&t);
		return MHD_NO;
	}
	enum MHD_Result ok = MHD_add_response_header(r, "Content-Type", CT_METRICS);
	if (ok == MHD_YES) {
		ok = MHD_queue_response(c, 200, r);
	}
	MHD_destroy_response(r); /* frees t.buf once sent */
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	if (*con_cls != NULL) {
		return *upload_size == 0 ? MHD_YES : MHD_NO; /* answered: no body */
	}
	*con_cls = &in_flight;
	if (strcmp(url, "/metrics") != 0) {
		return text(c, 404, "not found\n", NULL);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		return text(c, 405, "method not allowed\n", "GET, HEAD");
	}
	return scrape(cls, c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	*con_cls = NULL;
}

int kms_metrics_http_start(const kms_config_t *cfg, kms_metrics_t *m,
			   kms_metrics_http_t **out)
{
	if (cfg == NULL || m == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	*out = NULL;
	if (cfg->metrics_port == 0) {
		return KMS_EOK;
	}
	kms_metrics_http_t *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		return KMS_ENOMEM;
	}
	h->m = m;
	const net_listener_cfg_t lc = {
		.listen = cfg->metrics_listen,
		.port = cfg->metrics_port,
		.threads = METRICS_THREADS,
		.max_conns = METRICS_MAX_CONNS,
		.conn_timeout = METRICS_TIMEOUT_S,
		.request_timeout = METRICS_TIMEOUT_S,
		.max_sending = METRICS_MAX_CONNS / 4,
		.max_sending_per_ip = METRICS_MAX_CONNS / 8,
		.conn_memory = METRICS_CONN_MEMORY,
		.tag = "metrics",
	};
	const net_listener_cb_t cb = { on_request, on_completed, NULL };
	int ret = net_listener_start(&lc, &cb, h, &h->l);
	if (ret != KMS_EOK) {
		free(h);
		return ret;
	}
	log_notice("metrics listening on %s/metrics", net_listener_addr(h->l));
	*out = h;
	return KMS_EOK;
}

uint16_t kms_metrics_http_port(const kms_metrics_http_t *h)
{
	return h != NULL ? net_listener_port(h->l) : 0;
}

void kms_metrics_http_stop(kms_metrics_http_t *h)
{
	if (h == NULL) {
		return;
	}
	net_listener_stop(h->l, 1000);
	free(h);
}
