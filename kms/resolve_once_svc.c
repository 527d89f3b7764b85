/*
 * The resolve-once check of a Ticket Resolve (resolve.once): called by
 * svc_ticket_resolve() once every other check passed, just before the
 * answer, so a refused or failed resolve records nothing.  Tickets that
 * may be reused (J = 1) are not recorded; a J = 0 ticket is recorded for
 * the identity it matched (r->matched: each member of a group once).
 */
#include "common/errcode.h"
#include "kms/resolve_once.h"
#include "kms/service_int.h"

int svc_resolve_once(req_t *r, int64_t not_after)
{
	const mikey_ticket_t *t = &r->in.ticket;
	resolve_once_t *ro = r->svc->once;
	if (ro == NULL || (t->policy.flags & MIKEY_TPF_J) != 0) {
		return KMS_EOK;
	}
	uint8_t key[RESOLVE_ONCE_KEY_LEN];
	int ret = resolve_once_key(t->ticket_data.data, t->ticket_data.len,
				   (const char *)r->matched.data, r->matched.len, key);
	if (ret != KMS_EOK) {
		return KMS_EINTERNAL; /* a resolved ticket has data and a match */
	}
	/* Until the ticket's end, but never longer than this KMS issues
	 * tickets for: the record's size stays bounded by its lifetimes. */
	int64_t cap = r->now + (int64_t)r->svc->cfg->max_ticket_lifetime;
	ret = resolve_once_check(ro, key, not_after < cap ? not_after : cap, r->now);
	switch (ret) {
	case KMS_EOK:
		break;
	case KMS_EREPLAY:
		r->reason = "the ticket may not be reused (J = 0) and this identity "
			    "resolved it before (resolve.once)";
		ret = KMS_EREUSED;
		break;
	case KMS_ENOSPC:
		r->reason = "the resolve-once record is full of live rows "
			    "(resolve.once_max_entries)";
		ret = KMS_EUNAVAIL;
		break;
	default:
		r->reason = "the resolve-once record cannot be reached "
			    "(replay.on_store_failure = refuse)";
		ret = KMS_EUNAVAIL;
		break;
	}
	return ret;
}
