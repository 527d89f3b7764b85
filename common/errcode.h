/*
 * One error enum for the whole tree.
 *
 * KMS_EOK is 0, system failures are negative errno values, and protocol
 * failures are domain codes below KMS_EDOMAIN_BASE.  Every code maps, through
 * one table in errcode.c, to a human-readable string, the MIKEY Error number
 * (RFC 3830 section 6.12 plus the RFC 6043 additions) that goes into an ERR
 * payload, and the HTTP status a Ua/Zk answer carries.
 */
#ifndef KMS_COMMON_ERRCODE_H
#define KMS_COMMON_ERRCODE_H

#include <errno.h>

#define KMS_EDOMAIN_BASE (-1000)

enum kms_err {
	KMS_EOK = 0,

	/* System errors (negative errno). */
	KMS_ENOMEM = -ENOMEM,
	KMS_EINVAL = -EINVAL,
	KMS_EIO = -EIO,
	KMS_ENOENT = -ENOENT,
	KMS_EEXIST = -EEXIST,
	KMS_EACCES = -EACCES,
	KMS_EAGAIN = -EAGAIN,
	KMS_ERANGE = -ERANGE,
	KMS_ENOSPC = -ENOSPC,		/* disk full (SQLITE_FULL, ENOSPC) */
	KMS_EINPROGRESS = -EINPROGRESS, /* not an answer: the request waits (suspended) */
	KMS_ECANCELED = -ECANCELED,	/* an outbound call cancelled (stopping) */

	/* Wire cursor. */
	KMS_EFEWDATA = KMS_EDOMAIN_BASE, /* read past the end of the input */
	KMS_ESPACE,			 /* write past the end of the buffer */

	/* MIKEY parsing and protocol. */
	KMS_EMALFORMED, /* fatal parse error (bad layout, trailing bytes) */
	KMS_EPAYLOAD,	/* unknown payload type or a payload in the wrong place */
	KMS_ELIMIT,	/* a count or length over its cap */
	KMS_EVERSION,	/* HDR version is not 1 */
	KMS_EDT,	/* unexpected or unsupported data type */
	KMS_ENOTSUP,	/* recognised but not served (public-key variants) */
	KMS_EPRF,	/* unsupported PRF */
	KMS_EEA,	/* unsupported encryption algorithm */
	KMS_EHA,	/* unsupported MAC algorithm */
	KMS_ETS,	/* timestamp invalid or outside the allowed skew */
	KMS_EID,	/* identity missing, malformed or not the caller's */
	KMS_ESP,	/* invalid security policy */
	KMS_ESPPAR,	/* invalid security policy parameter */
	KMS_ETICKET,	/* ticket type unsupported, or ticket does not open */
	KMS_ETPPAR,	/* ticket policy parameters not supported */
	KMS_EEXPIRED,	/* ticket or key outside its validity */

	/* Authentication and authorisation. */
	KMS_EAUTH,   /* authentication failure (no usable key) */
	KMS_EMAC,    /* MAC does not verify */
	KMS_EREPLAY, /* message seen before */
	KMS_EPOLICY, /* authenticated but not allowed */
	KMS_EBTID,   /* unknown or expired B-TID: the UE must bootstrap again */

	/* Ua/Zk framing (answered by the HTTP front end with a text body). */
	KMS_EHTTP_METHOD,  /* wrong method: 405 */
	KMS_EHTTP_REQTYPE, /* missing or unknown requesttype: 400 */
	KMS_EHTTP_MEDIA,   /* wrong content type: 415 */
	KMS_EHTTP_SIZE,	   /* body over the cap: 413 */
	KMS_EHTTP_FRAME,   /* bad Content-Length, client gone mid-request: 400 */
	KMS_EHTTP_TIMEOUT, /* connection timed out before the body was in: 408 */
	KMS_EZK_PEER,	   /* Zk: client certificate missing, untrusted or not a peer */
	KMS_EZK_REQTYPE,   /* Zk: a requesttype other than ticketresolve */

	/* Federation over Zk (docs/federation.md). */
	KMS_EZK_UNKNOWN, /* the ticket's IDRkms is neither this KMS nor a peer */
	KMS_EZK_DOWN,	 /* the peer KMS cannot be reached (or circuit open) */
	KMS_EZK_REFUSED, /* the peer KMS answered with a refusal */
	KMS_EZK_LOOP,	 /* a forwarded resolve for a ticket not issued here */

	/* Environment. */
	KMS_EUNAVAIL,  /* upstream (BSF, peer KMS, store) unavailable */
	KMS_EAUDIT,    /* the audit row cannot be queued or written (refuse mode) */
	KMS_ECRYPTO,   /* crypto library failure */
	KMS_ESELFTEST, /* crypto self-test failed */
	KMS_ECONFIG,   /* invalid configuration */
	KMS_EINTERNAL, /* broken internal invariant */
	KMS_ERATE,     /* over a rate limit (per address or identity): 429 */
	KMS_EREUSED,   /* a ticket with J = 0 resolved again by one identity: 403 */

	KMS_ELAST_, /* not an error; keeps the table honest */
};

/* MIKEY Error numbers (RFC 3830 section 6.12, RFC 6043 section 6.12). */
enum mikey_errno {
	MIKEY_ERR_AUTH = 0,
	MIKEY_ERR_TS = 1,
	MIKEY_ERR_PRF = 2,
	MIKEY_ERR_MAC = 3,
	MIKEY_ERR_EA = 4,
	MIKEY_ERR_HA = 5,
	MIKEY_ERR_DH = 6,
	MIKEY_ERR_ID = 7,
	MIKEY_ERR_CERT = 8,
	MIKEY_ERR_SP = 9,
	MIKEY_ERR_SPPAR = 10,
	MIKEY_ERR_DT = 11,
	MIKEY_ERR_UNSPEC = 12,
	MIKEY_ERR_TICKET = 14,
	MIKEY_ERR_TPPAR = 15,
};

/* A short, constant description of an error code; never NULL. */
const char *kms_strerror(int code);

/* The MIKEY Error number to put in an ERR payload for code. */
int kms_err_mikey(int code);

/* The HTTP status for code (200 for KMS_EOK). */
int kms_err_http(int code);

/* The symbolic name ("KMS_EMAC"), for logs and JSON; never NULL. */
const char *kms_err_name(int code);

#endif
