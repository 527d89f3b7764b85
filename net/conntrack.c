/* The connection table of an HTTP listener (see conntrack.h). */
#include "net/conntrack.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"

#define TAG_MAX 16
#define LINE_MAX_ 256

typedef struct {
	net_conn_t *head, *tail; /* oldest first: entries are appended as they
				  * enter the state, and time only moves on */
} list_t;

/* The counters a log line reports, to tell what is new since the last. */
typedef struct {
	uint64_t closed_request, closed_idle, evicted, refused_full, refused_sending;
} counts_t;

struct net_conntrack {
	pthread_mutex_t mu;
	net_conntrack_cfg_t cfg;
	char tag[TAG_MAX];
	net_conn_t *slot;
	net_conn_t *free;
	list_t idle, sending;
	net_conn_t **bucket; /* SENDING connections by address */
	uint32_t mask, seed;
	unsigned nidle, nsending, nreceived, ndoomed;
	counts_t n;	/* since the start */
	counts_t shown; /* as of the last log line */
	int64_t shown_ms;
	bool shown_once;
	uint8_t last_addr[16]; /* the latest connection closed, for the log */
};

/* --- lists and the address chains ----------------------------------------------- */

static void list_push(list_t *l, net_conn_t *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail != NULL) {
		l->tail->next = c;
	} else {
		l->head = c;
	}
	l->tail = c;
}

static void list_unlink(list_t *l, net_conn_t *c)
{
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		l->head = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	} else {
		l->tail = c->prev;
	}
	c->prev = c->next = NULL;
}

/* FNV-1a over the address, seeded so that a client cannot aim at a chain. */
static uint32_t addr_hash(uint32_t seed, const uint8_t a[16])
{
	uint32_t h = 2166136261u ^ seed;
	for (size_t i = 0; i < 16; i++) {
		h = (h ^ a[i]) * 16777619u;
	}
	return h ^ (h >> 15);
}

static void chain_add(net_conntrack_t *t, net_conn_t *c)
{
	net_conn_t **b = &t->bucket[c->hash & t->mask];
	c->hprev = NULL;
	c->hnext = *b;
	if (*b != NULL) {
		(*b)->hprev = c;
	}
	*b = c;
}

static void chain_del(net_conntrack_t *t, net_conn_t *c)
{
	if (c->hprev != NULL) {
		c->hprev->hnext = c->hnext;
	} else {
		t->bucket[c->hash & t->mask] = c->hnext;
	}
	if (c->hnext != NULL) {
		c->hnext->hprev = c->hprev;
	}
	c->hprev = c->hnext = NULL;
}

/* SENDING connections from c's address.  Bounded: the chain holds only
 * SENDING connections, at most max_sending (or the table) of them. */
static unsigned sending_from(const net_conntrack_t *t, const net_conn_t *c)
{
	unsigned n = 0;
	for (const net_conn_t *p = t->bucket[c->hash & t->mask]; p != NULL;
	     p = p->hnext) {
		n += memcmp(p->addr, c->addr, sizeof(p->addr)) == 0;
	}
	return n;
}

/* --- states ------------------------------------------------------------------------ */

/* Out of its state's list and count (state left as it was). */
static void detach(net_conntrack_t *t, net_conn_t *c)
{
	switch (c->state) {
	case NET_CONN_IDLE:
		list_unlink(&t->idle, c);
		t->nidle--;
		break;
	case NET_CONN_SENDING:
		list_unlink(&t->sending, c);
		chain_del(t, c);
		t->nsending--;
		break;
	case NET_CONN_RECEIVED:
		t->nreceived--;
		break;
	case NET_CONN_DOOMED:
		t->ndoomed--;
		break;
	case NET_CONN_FREE:
		break;
	}
}

static void attach(net_conntrack_t *t, net_conn_t *c, net_conn_state_t st, int64_t now)
{
	c->state = st;
	c->since = now;
	switch (st) {
	case NET_CONN_IDLE:
		list_push(&t->idle, c);
		t->nidle++;
		break;
	case NET_CONN_SENDING:
		list_push(&t->sending, c);
		chain_add(t, c);
		t->nsending++;
		break;
	case NET_CONN_RECEIVED:
		t->nreceived++;
		break;
	case NET_CONN_DOOMED:
		t->ndoomed++;
		break;
	case NET_CONN_FREE:
		break;
	}
}

/*
 * Close c: shut its socket down (both ways), so that MHD sees the end of
 * the stream, stops waiting for the client and closes the connection.
 * Under the lock: MHD removes c (net_conntrack_remove()) before it closes
 * the descriptor, so c->fd is still this connection's socket here.
 */
static void close_detached(net_conntrack_t *t, net_conn_t *c, int64_t now,
			   uint64_t *counter)
{
	attach(t, c, NET_CONN_DOOMED, now);
	c->late = counter == &t->n.closed_request || counter == &t->n.closed_idle;
	(void)shutdown(c->fd, SHUT_RDWR);
	memcpy(t->last_addr, c->addr, sizeof(t->last_addr));
	(*counter)++;
}

static void doom(net_conntrack_t *t, net_conn_t *c, int64_t now, uint64_t *counter)
{
	detach(t, c);
	close_detached(t, c, now, counter);
}

static unsigned live(const net_conntrack_t *t)
{
	return t->nidle + t->nsending + t->nreceived;
}

/* --- the table ------------------------------------------------------------------ */

int net_conntrack_new(const net_conntrack_cfg_t *cfg, net_conntrack_t **out)
{
	if (cfg == NULL || out == NULL || cfg->max_conns == 0 ||
	    cfg->slots < cfg->max_conns) {
		return KMS_EINVAL;
	}
	net_conntrack_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return KMS_ENOMEM;
	}
	uint32_t nb = 16;
	while (nb < cfg->slots && nb < (1u << 20)) {
		nb <<= 1;
	}
	t->slot = calloc(cfg->slots, sizeof(*t->slot));
	t->bucket = calloc(nb, sizeof(*t->bucket));
	if (t->slot == NULL || t->bucket == NULL ||
	    pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t->slot);
		free(t->bucket);
		free(t);
		return KMS_ENOMEM;
	}
	t->cfg = *cfg;
	t->mask = nb - 1;
	snprintf(t->tag, sizeof(t->tag), "%s", cfg->tag != NULL ? cfg->tag : "http");
	t->cfg.tag = t->tag;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed)) {
		t->seed = (uint32_t)(uintptr_t)t; /* still not a constant */
	}
	for (unsigned i = cfg->slots; i-- > 0;) {
		t->slot[i].next = t->free;
		t->slot[i].fd = -1;
		t->free = &t->slot[i];
	}
	*out = t;
	return KMS_EOK;
}

void net_conntrack_free(net_conntrack_t *t)
{
	if (t == NULL) {
		return;
	}
	pthread_mutex_destroy(&t->mu);
	free(t->bucket);
	free(t->slot);
	free(t);
}

bool net_conntrack_admit(net_conntrack_t *t)
{
	bool ok = true;
	pthread_mutex_lock(&t->mu);
	if (live(t) >= t->cfg.max_conns) {
		if (t->idle.head != NULL) {
			doom(t, t->idle.head, kms_clock_now_ms(), &t->n.evicted);
		} else {
			t->n.refused_full++;
			ok = false;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

static void addr_key(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa == NULL) {
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 =
		    (const struct sockaddr_in *)(const void *)sa;
		out[10] = out[11] = 0xff; /* ::ffff:a.b.c.d */
		memcpy(out + 12, &a4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 =
		    (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(out, &a6->sin6_addr, 16);
	}
}

net_conn_t *net_conntrack_add(net_conntrack_t *t, int fd, const struct sockaddr *addr)
{
	pthread_mutex_lock(&t->mu);
	net_conn_t *c = t->free;
	if (c != NULL) {
		t->free = c->next;
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		addr_key(addr, c->addr);
		c->hash = addr_hash(t->seed, c->addr);
		attach(t, c, NET_CONN_IDLE, kms_clock_now_ms());
	}
	pthread_mutex_unlock(&t->mu);
	return c;
}

void net_conntrack_remove(net_conntrack_t *t, net_conn_t *c)
{
	pthread_mutex_lock(&t->mu);
	detach(t, c);
	c->state = NET_CONN_FREE;
	c->fd = -1;
	c->next = t->free;
	t->free = c;
	pthread_mutex_unlock(&t->mu);
}

bool net_conntrack_request_begin(net_conntrack_t *t, net_conn_t *c)
{
	bool ok = false;
	pthread_mutex_lock(&t->mu);
	int64_t now = kms_clock_now_ms();
	if (c->state != NET_CONN_DOOMED) {
		detach(t, c);
		unsigned cap = t->cfg.max_sending, cap_ip = t->cfg.max_sending_per_ip;
		ok = (cap == 0 || t->nsending < cap) &&
		     (cap_ip == 0 || sending_from(t, c) < cap_ip);
		if (ok) {
			attach(t, c, NET_CONN_SENDING, now);
		} else {
			close_detached(t, c, now, &t->n.refused_sending);
		}
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

void net_conntrack_request_received(net_conntrack_t *t, net_conn_t *c)
{
	pthread_mutex_lock(&t->mu);
	if (c->state == NET_CONN_SENDING) {
		detach(t, c);
		attach(t, c, NET_CONN_RECEIVED, kms_clock_now_ms());
	}
	pthread_mutex_unlock(&t->mu);
}

void net_conntrack_request_done(net_conntrack_t *t, net_conn_t *c)
{
	pthread_mutex_lock(&t->mu);
	if (c->state == NET_CONN_SENDING || c->state == NET_CONN_RECEIVED) {
		detach(t, c);
		attach(t, c, NET_CONN_IDLE, kms_clock_now_ms());
	}
	pthread_mutex_unlock(&t->mu);
}

bool net_conntrack_doomed(net_conntrack_t *t, const net_conn_t *c)
{
	pthread_mutex_lock(&t->mu);
	bool d = c->state == NET_CONN_DOOMED;
	pthread_mutex_unlock(&t->mu);
	return d;
}

bool net_conntrack_timed_out(net_conntrack_t *t, const net_conn_t *c)
{
	pthread_mutex_lock(&t->mu);
	bool d = c->state == NET_CONN_DOOMED && c->late;
	pthread_mutex_unlock(&t->mu);
	return d;
}

/* --- the reaper ------------------------------------------------------------------- */

static void addr_str(const uint8_t a[16], char *out, size_t cap)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		inet_ntop(AF_INET, a + 12, out, (socklen_t)cap);
	} else {
		inet_ntop(AF_INET6, a, out, (socklen_t)cap);
	}
}

/* The counters of n less those of s, as a log line. */
static void counts_str(const net_conntrack_t *t, const counts_t *n, const counts_t *s,
		       const char *when, char *line, size_t cap)
{
	char addr[INET6_ADDRSTRLEN];
	addr_str(t->last_addr, addr, sizeof(addr));
	snprintf(
	    line, cap,
	    "%sclosed %" PRIu64 " connection(s) past the request deadline, %" PRIu64
	    " idle past the idle timeout, %" PRIu64 " idle for room; refused %" PRIu64
	    " over the sending caps, %" PRIu64 " with the table full (latest from %s)",
	    when, n->closed_request - s->closed_request, n->closed_idle - s->closed_idle,
	    n->evicted - s->evicted, n->refused_sending - s->refused_sending,
	    n->refused_full - s->refused_full, addr);
}

/* One line for what was closed or refused since the last line, at most
 * every NET_CONNTRACK_LOG_MS; false when there is nothing to say yet. */
static bool summary(net_conntrack_t *t, int64_t now, char *line, size_t cap)
{
	if (memcmp(&t->n, &t->shown, sizeof(t->n)) == 0 ||
	    (t->shown_once && now - t->shown_ms < NET_CONNTRACK_LOG_MS)) {
		return false;
	}
	counts_str(t, &t->n, &t->shown, "", line, cap);
	t->shown = t->n;
	t->shown_ms = now;
	t->shown_once = true;
	return true;
}

void net_conntrack_log_totals(net_conntrack_t *t)
{
	static const counts_t zero;
	char line[LINE_MAX_];
	pthread_mutex_lock(&t->mu);
	bool say = memcmp(&t->n, &zero, sizeof(zero)) != 0;
	if (say) {
		counts_str(t, &t->n, &zero, "since the start: ", line, sizeof(line));
	}
	pthread_mutex_unlock(&t->mu);
	if (say) {
		log_msg(LOG_NOTICE, t->tag, "%s", line);
	}
}

void net_conntrack_reap(net_conntrack_t *t, int64_t now_ms)
{
	char line[LINE_MAX_];
	pthread_mutex_lock(&t->mu);
	const int64_t req = t->cfg.request_ms, idle = t->cfg.idle_ms;
	while (req > 0 && t->sending.head != NULL &&
	       now_ms - t->sending.head->since > req) {
		doom(t, t->sending.head, now_ms, &t->n.closed_request);
	}
	while (idle > 0 && t->idle.head != NULL && now_ms - t->idle.head->since > idle) {
		doom(t, t->idle.head, now_ms, &t->n.closed_idle);
	}
	bool say = summary(t, now_ms, line, sizeof(line));
	pthread_mutex_unlock(&t->mu);
	if (say) {
		log_msg(LOG_NOTICE, t->tag, "%s", line);
	}
}

void net_conntrack_stats(net_conntrack_t *t, net_conntrack_stats_t *out)
{
	pthread_mutex_lock(&t->mu);
	out->conns = live(t);
	out->idle = t->nidle;
	out->sending = t->nsending;
	out->received = t->nreceived;
	out->doomed = t->ndoomed;
	out->closed_request = t->n.closed_request;
	out->closed_idle = t->n.closed_idle;
	out->evicted = t->n.evicted;
	out->refused_full = t->n.refused_full;
	out->refused_sending = t->n.refused_sending;
	pthread_mutex_unlock(&t->mu);
}
