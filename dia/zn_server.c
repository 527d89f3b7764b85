/*
 * The BSF's side of Zn over Diameter: a dispatch callback for command
 * 310 of the Zn application decodes the BIR, asks the handler, and sends
 * the BIA.  A BIR the decoder refuses is answered with the base
 * Result-Code that says why (5005 DIAMETER_MISSING_AVP, 5004
 * DIAMETER_INVALID_AVP_VALUE with the AVP in Failed-AVP).
 */
#include "dia/zn.h"

#include "common/errcode.h"
#include "common/log.h"
#include "dia/zn_msg.h"

#include <pthread.h>
#include <string.h>

typedef struct {
	dia_zn_handler_cb cb;
	void *arg;
} server_t;

static server_t server;
static struct disp_hdl *server_hdl;
static pthread_mutex_t server_lock = PTHREAD_MUTEX_INITIALIZER;

/* A refused BIR: the error's Result-Code, Failed-AVP, and the AVPs the
 * BIA's rules require. */
static int answer_error(const dia_zn_dict_t *d, struct msg *ans, uint32_t missing,
			struct avp *invalid)
{
	struct avp *failed = NULL;
	char *code = "DIAMETER_INVALID_AVP_VALUE";
	if (missing != 0) {
		code = "DIAMETER_MISSING_AVP";
		/* An empty AVP of the missing code, as RFC 6733 7.5 asks. */
		if (fd_msg_avp_new(d->zn[missing - 400], AVPFL_SET_BLANK_VALUE,
				   &failed) != 0)
			failed = NULL;
	}
	int rc = fd_msg_rescode_set(ans, code, NULL, missing ? failed : invalid, 1);
	if (failed != NULL)
		fd_msg_free(failed);
	if (rc != 0)
		return rc;
	/* Only Vendor-Specific-Application-Id and Auth-Session-State: the
	 * Result-Code is in already. */
	struct avp *a = NULL;
	if (fd_msg_avp_new(d->auth_session_state, 0, &a) != 0)
		return ENOMEM;
	union avp_value v = { .i32 = 1 };
	fd_msg_avp_setvalue(a, &v);
	fd_msg_avp_add(ans, MSG_BRW_LAST_CHILD, a);
	struct avp *g = NULL, *vid = NULL, *app = NULL;
	if (fd_msg_avp_new(d->vsai, 0, &g) != 0 ||
	    fd_msg_avp_new(d->vendor_id, 0, &vid) != 0 ||
	    fd_msg_avp_new(d->auth_app_id, 0, &app) != 0)
		return ENOMEM;
	v.u32 = DIA_VENDOR_3GPP;
	fd_msg_avp_setvalue(vid, &v);
	v.u32 = DIA_ZN_APP_ID;
	fd_msg_avp_setvalue(app, &v);
	fd_msg_avp_add(g, MSG_BRW_LAST_CHILD, vid);
	fd_msg_avp_add(g, MSG_BRW_LAST_CHILD, app);
	return fd_msg_avp_add(ans, MSG_BRW_LAST_CHILD, g);
}

/* The peer's Session-Id as a log subject (escaped: network bytes). */
static const char *subject(char *buf, size_t size, const dia_zn_bir_t *bir)
{
	return log_escape(buf, size, bir->session_id, strlen(bir->session_id));
}

/* The handler's BIA, or DIAMETER_UNABLE_TO_COMPLY when it fails. */
static int answer_bia(const dia_zn_dict_t *d, struct msg *ans, const dia_zn_bir_t *bir)
{
	char subj[LOG_ESCAPED_SIZE(64)];
	dia_zn_bia_t bia;
	dia_zn_bia_init(&bia);
	int rc = server.cb(bir, &bia, server.arg);
	if (rc != KMS_EOK || (bia.result_code == 0) == (bia.exp_result_code == 0)) {
		log_req_warning(subject(subj, sizeof(subj), bir),
				"BIR: handler failed (%s)", kms_err_name(rc));
		dia_zn_bia_clear(&bia);
		bia.result_code = DIA_RC_UNABLE_TO_COMPLY;
	}
	rc = dia_zn_bia_fill(d, ans, &bia);
	dia_zn_bia_clear(&bia);
	if (rc == KMS_EOK && fd_msg_add_origin(ans, 0) != 0)
		rc = KMS_ENOMEM;
	return rc == KMS_EOK ? 0 : ENOMEM;
}

static int bir_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
		  enum disp_action *act)
{
	(void)avp;
	(void)sess;
	(void)opaque;
	const dia_zn_dict_t *d = dia_zn_dict_get();
	struct msg_hdr *h = NULL;
	if (d == NULL || fd_msg_hdr(*msg, &h) != 0 || !(h->msg_flags & CMD_FLAG_REQUEST))
		return 0; /* an answer: not ours (DISP_ACT_CONT) */
	dia_zn_bir_t bir;
	uint32_t missing = 0;
	struct avp *invalid = NULL;
	int drc = dia_zn_bir_decode(d, *msg, &bir, &missing, &invalid);
	/* The request stays alive, associated with its answer. */
	int rc = fd_msg_new_answer_from_req(d->dict, msg, 0);
	if (rc != 0)
		return rc;
	if (drc != KMS_EOK) {
		char subj[LOG_ESCAPED_SIZE(64)];
		log_req_info(bir.session_id[0] ? subject(subj, sizeof(subj), &bir) : NULL,
			     "BIR refused: %s AVP %u", missing ? "missing" : "invalid",
			     missing ? missing : 0);
		rc = answer_error(d, *msg, missing, invalid);
	} else {
		rc = answer_bia(d, *msg, &bir);
	}
	if (rc != 0)
		return rc;
	*act = DISP_ACT_SEND;
	return 0;
}

int dia_zn_serve(dia_zn_handler_cb cb, void *arg)
{
	const dia_zn_dict_t *d = dia_zn_dict_get();
	if (cb == NULL)
		return KMS_EINVAL;
	if (d == NULL)
		return KMS_EUNAVAIL;
	pthread_mutex_lock(&server_lock);
	if (server_hdl != NULL) {
		pthread_mutex_unlock(&server_lock);
		return KMS_EEXIST;
	}
	server.cb = cb;
	server.arg = arg;
	struct disp_when when = { .app = d->app, .command = d->cmd_bir };
	int rc = fd_disp_register(bir_cb, DISP_HOW_CC, &when, NULL, &server_hdl);
	pthread_mutex_unlock(&server_lock);
	return rc == 0 ? KMS_EOK : KMS_ENOMEM;
}

void dia_zn_server_stop(void)
{
	pthread_mutex_lock(&server_lock);
	if (server_hdl != NULL)
		fd_disp_unregister(&server_hdl, NULL);
	server_hdl = NULL;
	pthread_mutex_unlock(&server_lock);
}
