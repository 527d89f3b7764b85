/*
 * The outbound-call thread (see outbound.h).
 *
 * Posters push calls onto the inbox under the lock and wake the thread
 * (curl_multi_wakeup).  Everything else belongs to the thread alone: the
 * calls waiting for a handle or for their backoff, and those in the multi
 * handle (each easy handle's CURLOPT_PRIVATE is its call).  One loop:
 * take the inbox, start what can start, let libcurl work, finish what
 * ended (retry after a backoff, or run the callback), then poll until the
 * next socket event, libcurl timeout or our own deadline.
 */
#include "net/outbound.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"

#define POLL_MAX_MS 1000  /* the thread looks at its deadlines at least this often */
#define POLL_FAKE_MS 5	  /* on the fake clock (tests): how often it looks */
#define POLL_HANDLE_MS 10 /* while a call waits for a handle another thread may give */

typedef enum { ST_HANDLE, ST_BACKOFF, ST_RUNNING } state_t;

typedef struct ocall {
	struct ocall *next;
	net_pool_t *p;
	net_breaker_t *b;
	bool trial; /* the breaker's half-open trial */
	net_call_t *call;
	net_done_fn done;
	void *arg;
	net_handle_t *h; /* once taken */
	net_sink_t sink;
	unsigned n; /* attempt number, 0 first */
	bool again;
	state_t st;
	int64_t until; /* ST_HANDLE: give up waiting; ST_BACKOFF: next attempt */
} ocall_t;

struct net_outbound {
	pthread_t thread;
	CURLM *m;
	pthread_mutex_t lock;
	ocall_t *inbox; /* newest first; under lock */
	size_t ncalls;	/* accepted, not done; under lock */
	size_t max;
	bool stop; /* under lock */
	char label[16];
	ocall_t *waiting; /* the thread's: ST_HANDLE and ST_BACKOFF */
	ocall_t *running; /* the thread's: in the multi handle */
};

/* --- the end of a call ------------------------------------------------------ */

static void unlink_call(ocall_t **list, ocall_t *c)
{
	for (ocall_t **pp = list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

/* The callback, exactly once; the handle and breaker given back first. */
static void finish(net_outbound_t *o, ocall_t *c, int ret)
{
	if (c->h != NULL) {
		net_attempt_disarm(c->h, c->call, &c->sink, ret);
		net_pool_give(c->p, c->h);
	}
	if (c->b != NULL) {
		net_breaker_leave(c->b, c->trial, ret, c->call->subj);
	}
	pthread_mutex_lock(&o->lock);
	o->ncalls--; /* before the callback: what it wakes may post again */
	pthread_mutex_unlock(&o->lock);
	c->done(c->call, ret, c->arg);
	free(c);
}

/* --- starting attempts -------------------------------------------------------- */

static void attempt(net_outbound_t *o, ocall_t *c)
{
	CURL *e = net_handle_curl(c->h);
	c->again = c->n < net_pool_retries(c->p);
	net_attempt_start(c->p, &c->sink, c->n);
	if (curl_easy_setopt(e, CURLOPT_PRIVATE, c) != CURLE_OK ||
	    curl_multi_add_handle(o->m, e) != CURLM_OK) {
		finish(o, c, KMS_EINTERNAL);
		return;
	}
	c->st = ST_RUNNING;
	c->next = o->running;
	o->running = c;
}

/* Try to start c (taken off the waiting list); false when it waits on
 * (then *next_ms may shrink). */
static bool try_start(net_outbound_t *o, ocall_t *c, int64_t now, int64_t *next_ms)
{
	int64_t left = c->until - now;
	if (c->st == ST_BACKOFF) {
		if (left > 0) {
			*next_ms = left < *next_ms ? left : *next_ms;
			return false;
		}
		attempt(o, c);
		return true;
	}
	int ret = net_pool_try_take(c->p, left <= 0, &c->h);
	if (ret == KMS_EAGAIN && left > 0) {
		int64_t t = left < POLL_HANDLE_MS ? left : POLL_HANDLE_MS;
		*next_ms = t < *next_ms ? t : *next_ms;
		return false;
	}
	if (ret != KMS_EOK) {
		c->h = NULL; /* busy: the caller logs it, in its words */
		finish(o, c, ret == KMS_EAGAIN ? KMS_EAGAIN : KMS_EINTERNAL);
		return true;
	}
	ret = net_attempt_arm(c->h, c->call, &c->sink);
	if (ret != KMS_EOK) {
		finish(o, c, KMS_EINTERNAL);
		return true;
	}
	attempt(o, c);
	return true;
}

/* Start every waiting call that can; the ms until the next deadline. */
static int64_t start_ready(net_outbound_t *o)
{
	int64_t next = POLL_MAX_MS, now = kms_clock_now_ms();
	ocall_t *list = o->waiting, *keep = NULL, **tail = &keep;
	o->waiting = NULL;
	while (list != NULL) {
		ocall_t *c = list;
		list = c->next;
		c->next = NULL;
		if (!try_start(o, c, now, &next)) {
			*tail = c;
			tail = &c->next;
		}
	}
	*tail = o->waiting; /* nothing adds to it meanwhile, but keep it whole */
	o->waiting = keep;
	return next;
}

/* --- finished transfers ---------------------------------------------------------- */

static void ended(net_outbound_t *o, ocall_t *c, CURLcode rc)
{
	unlink_call(&o->running, c);
	curl_multi_remove_handle(o->m, net_handle_curl(c->h));
	int ret = net_attempt_end(c->p, c->h, (int)rc, c->call, &c->sink, &c->again);
	if (!c->again) {
		finish(o, c, ret);
		return;
	}
	c->n++;
	c->st = ST_BACKOFF;
	c->until = kms_clock_now_ms() + net_backoff_ms(c->p, c->n);
	c->next = o->waiting;
	o->waiting = c;
}

/* Handle every finished transfer; whether any did. */
static bool reap(net_outbound_t *o)
{
	bool any = false;
	int left = 0;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(o->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE) {
			continue;
		}
		CURLcode rc = msg->data.result;
		ocall_t *c = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (c != NULL) {
			ended(o, c, rc); /* msg is not read after this */
			any = true;
		}
	}
	return any;
}

/* --- the thread ---------------------------------------------------------------------- */

/* Move the inbox (oldest first) behind the waiting calls; the stop flag. */
static bool take_inbox(net_outbound_t *o)
{
	pthread_mutex_lock(&o->lock);
	ocall_t *in = o->inbox;
	o->inbox = NULL;
	bool stop = o->stop;
	pthread_mutex_unlock(&o->lock);
	while (in != NULL) {
		ocall_t *c = in;
		in = c->next;
		c->next = o->waiting;
		o->waiting = c;
	}
	return stop;
}

static void cancel_list(net_outbound_t *o, ocall_t **list, bool in_multi)
{
	while (*list != NULL) {
		ocall_t *c = *list;
		*list = c->next;
		if (in_multi) {
			curl_multi_remove_handle(o->m, net_handle_curl(c->h));
		}
		finish(o, c, KMS_ECANCELED);
	}
}

static void *run(void *arg)
{
	net_outbound_t *o = arg;
	while (!take_inbox(o)) {
		int64_t next = start_ready(o);
		int running = 0;
		curl_multi_perform(o->m, &running);
		if (reap(o)) {
			continue; /* a handle came back or a retry is due: look again */
		}
		if (kms_clock_is_fake() && o->waiting != NULL && next > POLL_FAKE_MS) {
			next = POLL_FAKE_MS;
		}
		curl_multi_poll(o->m, NULL, 0, (int)(next > 0 ? next : 0), NULL);
	}
	take_inbox(o);
	cancel_list(o, &o->running, true);
	cancel_list(o, &o->waiting, false);
	return NULL;
}

/* --- API --------------------------------------------------------------------------------- */

int net_outbound_new(const char *label, size_t max_calls, net_outbound_t **out)
{
	if (out == NULL || max_calls == 0 || max_calls > NET_OUTBOUND_MAX) {
		return KMS_EINVAL;
	}
	int ret = net_curl_init();
	if (ret != KMS_EOK) {
		return ret;
	}
	net_outbound_t *o = calloc(1, sizeof(*o));
	if (o == NULL) {
		return KMS_ENOMEM;
	}
	snprintf(o->label, sizeof(o->label), "%s", label != NULL ? label : "outbound");
	o->max = max_calls;
	pthread_mutex_init(&o->lock, NULL);
	o->m = curl_multi_init();
	if (o->m == NULL || pthread_create(&o->thread, NULL, run, o) != 0) {
		if (o->m != NULL) {
			curl_multi_cleanup(o->m);
		}
		pthread_mutex_destroy(&o->lock);
		free(o);
		return KMS_EINTERNAL;
	}
	*out = o;
	return KMS_EOK;
}

void net_outbound_free(net_outbound_t *o)
{
	if (o == NULL) {
		return;
	}
	pthread_mutex_lock(&o->lock);
	o->stop = true;
	pthread_mutex_unlock(&o->lock);
	curl_multi_wakeup(o->m);
	pthread_join(o->thread, NULL);
	curl_multi_cleanup(o->m);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

int net_outbound_post(net_outbound_t *o, net_pool_t *p, net_breaker_t *b,
		      net_call_t *call, net_done_fn done, void *arg)
{
	if (o == NULL || p == NULL || call == NULL || call->body == NULL ||
	    done == NULL) {
		return KMS_EINVAL;
	}
	ocall_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return KMS_ENOMEM;
	}
	*c = (ocall_t){ .p = p, .b = b, .call = call, .done = done, .arg = arg };
	c->st = ST_HANDLE;
	c->until = kms_clock_now_ms() + net_pool_wait_ms(p);
	int ret = KMS_EOK;
	pthread_mutex_lock(&o->lock);
	if (o->stop) {
		ret = KMS_ECANCELED;
	} else if (o->ncalls >= o->max) {
		ret = KMS_EAGAIN;
	} else if (b != NULL && net_breaker_enter(b, &c->trial) != KMS_EOK) {
		ret = KMS_EUNAVAIL;
	} else {
		o->ncalls++;
		c->next = o->inbox;
		o->inbox = c;
	}
	pthread_mutex_unlock(&o->lock);
	if (ret != KMS_EOK) {
		free(c);
		return ret;
	}
	curl_multi_wakeup(o->m);
	return KMS_EOK;
}

size_t net_outbound_pending(net_outbound_t *o)
{
	pthread_mutex_lock(&o->lock);
	size_t n = o->ncalls;
	pthread_mutex_unlock(&o->lock);
	return n;
}
