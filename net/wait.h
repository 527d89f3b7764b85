/*
 * A request that waits for an outbound call (net/outbound.h) without
 * holding a thread: the meeting point of three parties.
 *
 *   registrar  the code that started or joined the call (the NAF): arms
 *              the wait and keeps it on the call's list of waiters; when
 *              the call ends it takes it off that list and wakes it with
 *              the outcome.
 *   parker     the front end (net_listener_park): once the request's
 *              handler saw KMS_EINPROGRESS it suspends the connection and
 *              parks the wait; being woken resumes the connection.
 *   the request, re-entered after the resume: takes the outcome.
 *
 * The wake may come before the park (the call ended while the handler was
 * still returning): the park then fails and the parker resumes at once,
 * so the connection is always resumed exactly once and never before it
 * was suspended.  The registrar's cancel hook takes the wait off the
 * call's list (the listener stopping with requests still parked), after
 * which the registrar never touches it again.  A net_wait_t lives in the
 * request (zeroed memory is IDLE) and may be armed again after a take.
 *
 * A registrar whose outcome is more than a code (a peer KMS's answer)
 * leaves it with the request in hold (net_wait_hold): what the re-entered
 * request reads, kept until the request ends (net_wait_release).
 */
#ifndef KMS_NET_WAIT_H
#define KMS_NET_WAIT_H

#include <stdatomic.h>
#include <stdbool.h>

typedef enum {
	NET_WAIT_IDLE = 0, /* not waiting */
	NET_WAIT_ARMED,	   /* registered with a call, not parked yet */
	NET_WAIT_PARKED,   /* registered, its connection suspended */
	NET_WAIT_WAKING,   /* being woken (two stores long) */
	NET_WAIT_DONE,	   /* woken: the outcome is in result */
} net_wait_state_t;

typedef struct net_wait net_wait_t;
typedef void (*net_wait_fn)(net_wait_t *w, void *arg);

struct net_wait {
	_Atomic int state;
	int result;	 /* the outcome, once DONE */
	unsigned rounds; /* times armed (a request may wait twice at most) */
	/* The registrar's: detach from the call (may be NULL). */
	net_wait_fn cancel;
	void *cancel_arg;
	net_wait_t *next; /* the registrar's list of waiters of one call */
	/* The parker's: resume the request. */
	net_wait_fn resume;
	void *resume_arg;
	void *conn;		   /* the parked connection */
	net_wait_t *pprev, *pnext; /* the parker's list */
	bool listed;		   /* on the parker's list */
	/* The request's: what a registrar left with it, and how it goes. */
	void *hold;
	void (*hold_free)(void *hold);
};

/* The registrar: IDLE -> ARMED, rounds counted; cancel(w, arg) detaches. */
void net_wait_arm(net_wait_t *w, net_wait_fn cancel, void *arg);

/*
 * The registrar, after taking w off its list: record result; if w is
 * parked, resume it (resume runs here).  Exactly one wake or force takes
 * effect; a later one returns false.
 */
bool net_wait_wake(net_wait_t *w, int result);

/* The parker, after suspending: ARMED -> PARKED with its resume hook.
 * false when w was woken already (the parker resumes the request itself). */
bool net_wait_park(net_wait_t *w, net_wait_fn resume, void *arg);

/*
 * The parker stopping: w gets result without its registrar.  The
 * registrar is detached first (cancel hook).  Returns the state w was
 * taken from: NET_WAIT_PARKED (the caller resumes it), NET_WAIT_ARMED
 * (its park will fail: the handler resumes it), or NET_WAIT_DONE (woken
 * already: its waker resumes it).
 */
int net_wait_force(net_wait_t *w, int result);

/* The request, re-entered: true with *result when w was woken (it is
 * IDLE again, ready for another round). */
bool net_wait_take(net_wait_t *w, int *result);

/* The registrar: keep hold with the request (one at a time: false when w
 * holds something already); hold_free(hold) runs when the request ends. */
bool net_wait_hold(net_wait_t *w, void *hold, void (*hold_free)(void *hold));

/* The request ends (or its hold is used up): what w holds goes.  Not
 * while w is armed or parked. */
void net_wait_release(net_wait_t *w);

#endif
