/*
 * Zn over Diameter (TS 29.109): the Bootstrapping-Info-Request/Answer
 * (BIR/BIA, command 310, application 16777220 "3GPP Zn", vendor 10415)
 * between a NAF (kmsd) and a BSF (bsf-stubd), carried by the process's
 * embedded freeDiameter peer (dia/peer.h).
 *
 * The dictionary (the application, the command and AVPs 400-410) is
 * defined in dia/zn_dict.c with fd_dict_new(): Debian's freeDiameter has
 * no Zn dictionary.  Both ends use this one header: the NAF sends with
 * dia_zn_send_bir(), the BSF answers through dia_zn_serve().  The decoded
 * answer, dia_zn_bia_t, is the same struct at both ends.
 *
 * Every AVP taken from the network is bounded by the caps below before it
 * is copied; a BIA over a cap is KMS_EMALFORMED, never truncated.
 */
#ifndef KMS_DIA_ZN_H
#define KMS_DIA_ZN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIA_VENDOR_3GPP 10415u
#define DIA_ZN_APP_ID 16777220u
#define DIA_ZN_CMD_BI 310u /* Bootstrapping-Info-Request/Answer */

/* AVP codes of TS 29.109 (vendor 10415). */
#define DIA_AVP_GBA_USERSECSETTINGS 400u       /* OctetString: the GUSS (XML) */
#define DIA_AVP_TRANSACTION_IDENTIFIER 401u    /* OctetString: the B-TID */
#define DIA_AVP_NAF_ID 402u		       /* OctetString: FQDN || Ua id */
#define DIA_AVP_GAA_SERVICE_IDENTIFIER 403u    /* Enumerated */
#define DIA_AVP_KEY_EXPIRYTIME 404u	       /* Time (NTP seconds) */
#define DIA_AVP_ME_KEY_MATERIAL 405u	       /* OctetString: Ks_(ext)_NAF */
#define DIA_AVP_UICC_KEY_MATERIAL 406u	       /* OctetString: Ks_int_NAF */
#define DIA_AVP_GBA_U_AWARENESS_INDICATOR 407u /* Enumerated: 0 NO, 1 YES */
#define DIA_AVP_BOOTSTRAPINFOCREATIONTIME 408u /* Time */
#define DIA_AVP_GUSS_TIMESTAMP 409u	       /* Time */
#define DIA_AVP_GBA_TYPE 410u		       /* Enumerated: 0 3G, 1 2G */

/* Result codes.  DIAMETER_SUCCESS and the protocol/transient classes are
 * RFC 6733 Result-Code values; the DIA_EXP_* values are 3GPP
 * Experimental-Result-Code values (Vendor-Id 10415).  Note that 5001 as a
 * base Result-Code is DIAMETER_AVP_UNSUPPORTED, as an Experimental-Result
 * of vendor 10415 DIAMETER_ERROR_USER_UNKNOWN (TS 29.229): the two are
 * told apart by the AVP that carries them. */
#define DIA_RC_SUCCESS 2001u
#define DIA_RC_UNABLE_TO_DELIVER 3002u
#define DIA_RC_TOO_BUSY 3004u
#define DIA_RC_UNABLE_TO_COMPLY 5012u
#define DIA_EXP_USER_UNKNOWN 5001u		     /* TS 29.229 */
#define DIA_EXP_IMPI_UNKNOWN 5401u		     /* TS 29.109 */
#define DIA_EXP_NOT_AUTHORIZED 5402u		     /* TS 29.109 */
#define DIA_EXP_TRANSACTION_IDENTIFIER_INVALID 5403u /* TS 29.109 */

/* Caps on what a BIR or BIA may carry. */
#define DIA_ZN_BTID_MAX 320   /* gba/kdf.h GBA_BTID_MAX */
#define DIA_ZN_NAF_ID_MAX 260 /* gba/kdf.h GBA_NAF_ID_MAX */
#define DIA_ZN_IMPI_MAX 255   /* User-Name */
#define DIA_ZN_KEY_MAX 32     /* ME- and UICC-Key-Material */
#define DIA_ZN_GUSS_MAX 16384 /* GBA-UserSecSettings, bytes of XML */
#define DIA_ZN_HOST_MAX 255   /* a DiameterIdentity we log */

/* A BIR as the BSF receives it (every field checked against its cap). */
typedef struct {
	char btid[DIA_ZN_BTID_MAX + 1];
	uint8_t naf_id[DIA_ZN_NAF_ID_MAX];
	size_t naf_id_len;
	bool gba_u;				   /* GBA_U-Awareness-Indicator YES */
	char origin_host[DIA_ZN_HOST_MAX + 1];	   /* the NAF's, for logs */
	char session_id[DIA_ZN_HOST_MAX + 64 + 1]; /* for logs */
} dia_zn_bir_t;

/*
 * A BIA: what the NAF decoded, or what the BSF's handler fills in.
 * Exactly one of result_code and exp_result_code is non-zero.  Absent
 * optional AVPs: lengths 0, times -1, gba_type -1, guss NULL.  The key
 * fields are secret: dia_zn_bia_clear() wipes them.
 */
typedef struct {
	uint32_t result_code;	  /* Result-Code */
	uint32_t exp_result_code; /* Experimental-Result-Code (Vendor-Id 10415) */
	char impi[DIA_ZN_IMPI_MAX + 1];
	uint8_t me_key[DIA_ZN_KEY_MAX];
	size_t me_key_len;
	uint8_t uicc_key[DIA_ZN_KEY_MAX];
	size_t uicc_key_len;
	int64_t key_expiry; /* Unix s (converted from NTP time) */
	int64_t created;    /* BootstrapInfoCreationTime, Unix s */
	int gba_type;	    /* 0 3G, 1 2G */
	char *guss;	    /* GBA-UserSecSettings, malloc'd, NUL-terminated */
	size_t guss_len;
	char origin_host[DIA_ZN_HOST_MAX + 1]; /* the answering peer, for logs */
} dia_zn_bia_t;

/* Empty: no result, every optional field absent. */
void dia_zn_bia_init(dia_zn_bia_t *bia);
/* Wipe the keys, free the GUSS, back to dia_zn_bia_init()'s state. */
void dia_zn_bia_clear(dia_zn_bia_t *bia);

/*
 * The end of one BIR at the NAF, on a freeDiameter thread; called exactly
 * once per dia_zn_send_bir() that returned KMS_EOK.  ret: KMS_EOK with
 * *bia decoded (whatever its result code: the caller interprets it);
 * KMS_EUNAVAIL when no answer came within the timeout,
 * no peer could take the request, or the peer went away (bia NULL);
 * KMS_EMALFORMED when the answer broke a cap or the dictionary (bia NULL).
 * The callback owns nothing: bia is cleared after it returns.
 */
typedef void (*dia_zn_done_cb)(int ret, dia_zn_bia_t *bia, void *arg);

/*
 * Send a BIR: Session-Id, Auth-Session-State NO_STATE_MAINTAINED,
 * Vendor-Specific-Application-Id, Origin-*, Destination-Realm = the
 * B-TID's domain (after its last '@'), Transaction-Identifier = btid,
 * NAF-Id, GBA_U-Awareness-Indicator when gba_u.  timeout_ms bounds the
 * wait for the answer.  KMS_EOK: cb will be called; otherwise it will not
 * (KMS_EINVAL, KMS_EUNAVAIL when the peer is not running, KMS_ENOMEM).
 */
int dia_zn_send_bir(const char *btid, const uint8_t *naf_id, size_t naf_id_len,
		    bool gba_u, unsigned timeout_ms, dia_zn_done_cb cb, void *arg);

/*
 * The BSF's handler, on a freeDiameter thread: fill *bia (initialised by
 * the caller) for *bir.  Return KMS_EOK to send it; any other value sends
 * DIAMETER_UNABLE_TO_COMPLY.
 */
typedef int (*dia_zn_handler_cb)(const dia_zn_bir_t *bir, dia_zn_bia_t *bia, void *arg);

/* Answer every BIR with cb (once, after dia_peer_start()). */
int dia_zn_serve(dia_zn_handler_cb cb, void *arg);

#endif
