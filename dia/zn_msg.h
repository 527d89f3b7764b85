/*
 * Inside dia/: the Zn dictionary objects and the BIR/BIA codec.  The codec
 * uses libfdproto only (no connection, no core), so that the unit tests
 * build, bufferize, parse and decode messages without a peer.
 */
#ifndef KMS_DIA_ZN_MSG_H
#define KMS_DIA_ZN_MSG_H

#include "dia/fd.h"
#include "dia/zn.h"

#include <stdint.h>

/* The dictionary objects the codec uses, looked up once. */
typedef struct {
	struct dictionary *dict;
	struct dict_object *vendor, *app, *cmd_bir, *cmd_bia;
	struct dict_object *zn[11]; /* AVPs 400..410, index code - 400 */
	struct dict_object *session_id, *auth_session_state, *vsai, *vendor_id,
	    *auth_app_id, *origin_host, *origin_realm, *dest_realm, *dest_host,
	    *user_name, *result_code, *exp_result, *exp_result_code;
} dia_zn_dict_t;

/*
 * Define the Zn vendor, application, AVPs and command 310 (request and
 * answer, with their rules) in dict, which must hold the base protocol;
 * objects that exist already are looked up (a second call is harmless).
 * Fills *d.  0 or an errno value from freeDiameter.
 */
int dia_zn_dict_load(struct dictionary *dict, dia_zn_dict_t *d);

/* NTP seconds (RFC 6733 Time, 32 bits, era 0 before 2036-02-07 and era 1
 * after, as RFC 5905 and RFC 6733 section 4.3.1 say) <-> Unix seconds. */
uint32_t dia_ntp_from_unix(int64_t unix_s);
int64_t dia_ntp_to_unix(uint32_t ntp);

/*
 * A BIR without Session-Id and Origin-*: Auth-Session-State,
 * Vendor-Specific-Application-Id, Destination-Realm (the B-TID's domain),
 * Transaction-Identifier, NAF-Id, and GBA_U-Awareness-Indicator when
 * gba_u.  The caller adds Session-Id first and the origin (the core's
 * fd_msg_new_session and fd_msg_add_origin, or a test's own).
 * KMS_EOK, KMS_EINVAL (B-TID without a domain, over a cap), KMS_ENOMEM.
 */
int dia_zn_bir_build(const dia_zn_dict_t *d, const char *btid, const uint8_t *naf_id,
		     size_t naf_id_len, bool gba_u, struct msg **out);

/* Decode a parsed BIR (fd_msg_parse_dict done).  KMS_EOK, or
 * KMS_EMALFORMED with *missing the code of the absent required AVP, or
 * *invalid the AVP over its cap (for Failed-AVP; either may be NULL). */
int dia_zn_bir_decode(const dia_zn_dict_t *d, struct msg *msg, dia_zn_bir_t *bir,
		      uint32_t *missing, struct avp **invalid);

/* Add a BIA's AVPs to ans (an answer from fd_msg_new_answer_from_req, or a
 * test's): Result-Code or Experimental-Result, Auth-Session-State, then the
 * optional AVPs that are present in *bia. */
int dia_zn_bia_fill(const dia_zn_dict_t *d, struct msg *ans, const dia_zn_bia_t *bia);

/* Decode a parsed BIA into *bia (initialised by the caller): KMS_EOK, or
 * KMS_EMALFORMED when an AVP breaks a cap or no result code is present
 * (*bia is cleared then). */
int dia_zn_bia_decode(const dia_zn_dict_t *d, struct msg *msg, dia_zn_bia_t *bia);

/* The process's Zn dictionary, loaded by dia_peer_start() (NULL before). */
const dia_zn_dict_t *dia_zn_dict_get(void);

/* Unregister the BIR server's dispatch callback (dia_peer_stop). */
void dia_zn_server_stop(void);

#endif
