/*
 * The NAF's side of Zn over Diameter: send a BIR, hand the decoded BIA
 * (or the reason there is none) to the caller's callback exactly once.
 *
 * freeDiameter calls either the answer callback or the expiry callback
 * for a request sent with fd_msg_send_timeout, never both: an answer
 * that comes after the expiry is discarded by the core.  When the peer
 * drops the connection, the core fails the request over and, with no
 * peer left, answers it itself (Result-Code 3002, the E bit): that
 * answer arrives through the answer callback like any other.
 */
#include "dia/zn.h"

#include "common/errcode.h"
#include "common/log.h"
#include "dia/zn_msg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	dia_zn_done_cb cb;
	void *arg;
	char subject[5 + LOG_ESCAPED_SIZE(12)]; /* "btid:" and the B-TID's start */
} bir_ctx_t;

static void answer_cb(void *data, struct msg **answer)
{
	bir_ctx_t *ctx = data;
	const dia_zn_dict_t *d = dia_zn_dict_get();
	dia_zn_bia_t bia;
	dia_zn_bia_init(&bia);
	int rc = d != NULL ? dia_zn_bia_decode(d, *answer, &bia) : KMS_EUNAVAIL;
	if (rc == KMS_EOK) {
		log_req_debug(ctx->subject,
			      "BIA: Result-Code %u, Experimental-Result-Code %u",
			      bia.result_code, bia.exp_result_code);
		ctx->cb(KMS_EOK, &bia, ctx->arg);
	} else {
		log_req_warning(ctx->subject, "BIA refused: %s", kms_err_name(rc));
		ctx->cb(rc == KMS_EUNAVAIL ? rc : KMS_EMALFORMED, NULL, ctx->arg);
	}
	dia_zn_bia_clear(&bia);
	/* Freeing the answer frees the request associated with it. */
	fd_msg_free(*answer);
	*answer = NULL;
	free(ctx);
}

static void expire_cb(void *data, DiamId_t sentto, size_t len, struct msg **req)
{
	(void)req; /* freed by the core on return */
	bir_ctx_t *ctx = data;
	log_req_info(ctx->subject, "BIR: no answer from %.*s within the timeout",
		     sentto ? (int)(len > DIA_ZN_HOST_MAX ? DIA_ZN_HOST_MAX : len) : 1,
		     sentto ? (const char *)sentto : "-");
	ctx->cb(KMS_EUNAVAIL, NULL, ctx->arg);
	free(ctx);
}

static void deadline(struct timespec *ts, unsigned timeout_ms)
{
	/* freeDiameter compares the expiry date with CLOCK_REALTIME. */
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int dia_zn_send_bir(const char *btid, const uint8_t *naf_id, size_t naf_id_len,
		    bool gba_u, unsigned timeout_ms, dia_zn_done_cb cb, void *arg)
{
	if (cb == NULL || timeout_ms == 0)
		return KMS_EINVAL;
	const dia_zn_dict_t *d = dia_zn_dict_get();
	if (d == NULL)
		return KMS_EUNAVAIL;
	struct msg *m = NULL;
	int rc = dia_zn_bir_build(d, btid, naf_id, naf_id_len, gba_u, &m);
	if (rc != KMS_EOK)
		return rc;
	if (fd_msg_new_session(m, NULL, 0) != 0 || fd_msg_add_origin(m, 0) != 0) {
		fd_msg_free(m);
		return KMS_ENOMEM;
	}
	bir_ctx_t *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		fd_msg_free(m);
		return KMS_ENOMEM;
	}
	ctx->cb = cb;
	ctx->arg = arg;
	/* The B-TID comes from the UE: escaped, and only its first bytes. */
	char esc[LOG_ESCAPED_SIZE(12)];
	size_t blen = strnlen(btid, 12);
	snprintf(ctx->subject, sizeof(ctx->subject), "btid:%s",
		 log_escape(esc, sizeof(esc), btid, blen));
	struct timespec ts;
	deadline(&ts, timeout_ms);
	if (fd_msg_send_timeout(&m, answer_cb, ctx, expire_cb, &ts) != 0) {
		if (m != NULL)
			fd_msg_free(m);
		free(ctx);
		return KMS_EUNAVAIL;
	}
	return KMS_EOK;
}
