/*
 * A request waiting for an outbound call (see wait.h): the state machine.
 * Whoever moves a wait out of ARMED or PARKED (wake or force) claims it
 * through WAKING, so exactly one of them records the outcome and decides
 * who resumes the connection.
 */
#include "net/wait.h"

#include <stddef.h>

void net_wait_arm(net_wait_t *w, net_wait_fn cancel, void *arg)
{
	w->cancel = cancel;
	w->cancel_arg = arg;
	w->result = 0;
	w->rounds++;
	atomic_store(&w->state, NET_WAIT_ARMED);
}

/* Claim w and record result: the state it was taken from, or
 * NET_WAIT_DONE when another wake or force came first. */
static int settle(net_wait_t *w, int result, net_wait_fn *fn, void **arg)
{
	int s = atomic_load(&w->state);
	while (s == NET_WAIT_ARMED || s == NET_WAIT_PARKED) {
		if (atomic_compare_exchange_weak(&w->state, &s, NET_WAIT_WAKING)) {
			*fn = w->resume; /* read before DONE lets the request go on */
			*arg = w->resume_arg;
			w->result = result;
			atomic_store(&w->state, NET_WAIT_DONE);
			return s;
		}
	}
	return NET_WAIT_DONE;
}

bool net_wait_wake(net_wait_t *w, int result)
{
	net_wait_fn fn = NULL;
	void *arg = NULL;
	int from = settle(w, result, &fn, &arg);
	if (from == NET_WAIT_PARKED && fn != NULL) {
		fn(w, arg);
	}
	return from != NET_WAIT_DONE;
}

bool net_wait_park(net_wait_t *w, net_wait_fn resume, void *arg)
{
	int s = NET_WAIT_ARMED;
	w->resume = resume;
	w->resume_arg = arg;
	return atomic_compare_exchange_strong(&w->state, &s, NET_WAIT_PARKED);
}

int net_wait_force(net_wait_t *w, int result)
{
	net_wait_fn fn = NULL;
	void *arg = NULL;
	if (w->cancel != NULL) {
		w->cancel(w, w->cancel_arg);
	}
	return settle(w, result, &fn, &arg);
}

bool net_wait_take(net_wait_t *w, int *result)
{
	int s;
	while ((s = atomic_load(&w->state)) == NET_WAIT_WAKING) {
		/* the waker is between its two stores */
	}
	if (s != NET_WAIT_DONE) {
		return false;
	}
	*result = w->result;
	atomic_store(&w->state, NET_WAIT_IDLE);
	return true;
}

bool net_wait_hold(net_wait_t *w, void *hold, void (*hold_free)(void *hold))
{
	if (w->hold != NULL) {
		return false;
	}
	w->hold = hold;
	w->hold_free = hold_free;
	return true;
}

void net_wait_release(net_wait_t *w)
{
	void *hold = w->hold;
	w->hold = NULL;
	if (hold != NULL && w->hold_free != NULL) {
		w->hold_free(hold);
	}
}
