/*
 * kms-ue: what the MIKEY-TICKET commands share — exit codes, the common
 * options (tools/ue_opts.h), the algorithm suites, reading and
 * writing message files, and reporting errors without key bytes.
 */
#ifndef KMS_TOOLS_UE_COMMON_H
#define KMS_TOOLS_UE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mikey/kdf.h"
#include "mikey/msg.h"
#include "tools/ue_ident.h"
#include "tools/ue_opts.h"
#include "tools/ue_state.h"

/* Exit statuses of every kms-ue command. */
#define UE_EXIT_OK 0
#define UE_EXIT_INVALID 1 /* what was received (or sent back) is not acceptable */
#define UE_EXIT_USAGE 2	  /* bad arguments, unreadable or unwritable files */
#define UE_EXIT_CACHED 3  /* resolve: keys for this reusable ticket are cached */

#define UE_CS_ID 1	    /* the one crypto session of a Ticket Transfer */
#define UE_SRTP_SALT_LEN 14 /* SRTP master salt (RFC 3711) */

/* "kms-ue COMMAND", the prefix of every diagnostic. */
extern const char *ue_prog;

/* One algorithm set (RFC 6043 12.1: never mixed). */
typedef struct {
	uint8_t prf;
	uint8_t encr_alg;
	uint8_t mac_alg;
	size_t key_len;	 /* MPK / TGK / TEK bytes */
	size_t rand_len; /* RANDRi / RANDRr bytes */
} ue_suite_t;

/* The suite of a PRF (MIKEY-1: the 128-bit set, PRF-HMAC-SHA-256: 256). */
int ue_suite_of_prf(uint8_t prf, ue_suite_t *out);

/* RFC 6043 12.1 entropy rule for PSK-keyed messages: the RAND is at least
 * as long as the PSK (up to MIKEY_RAND_MAX). */
void ue_suite_fit_psk(ue_suite_t *su, size_t psk_len);

/* Current time as a 64-bit NTP-UTC timestamp. */
uint64_t ue_ntp_now(void);
/* Unix seconds now. */
int64_t ue_unix_now(void);

/* Diagnostics: "prog: what: error text (KMS_ENAME)". */
void ue_fail(const char *what, int rc);

/* Read a MIKEY message file (binary, base64 or SDP) into buf and decode
 * and check it into *m.  Returns UE_EXIT_OK, UE_EXIT_USAGE (unreadable) or
 * UE_EXIT_INVALID (not a valid MIKEY message), having printed why. */
int ue_load_msg(const char *path, uint8_t *buf, size_t cap, size_t *len, mikey_msg_t *m);
/*
 * Load the --state file and check its role ("initiator" / "responder";
 * NULL: any).  Returns UE_EXIT_OK or UE_EXIT_USAGE, having printed why.
 */
int ue_state_open(const char *path, const char *role, ue_state_t **st);
/* Save it; UE_EXIT_OK or UE_EXIT_USAGE with a message. */
int ue_state_write(const ue_state_t *st, const char *path);

/* Decode and check a message kept in the state file. */
int ue_state_msg(const ue_state_t *st, const char *name, mikey_msg_t *m);

/*
 * The Initiator's entries that transfer-init needs whoever made the ticket
 * (kms-ue request, create-ticket): role, its identity and the KMS's as sent,
 * the peer (the first responder), the Ticket Type and the PRF.
 */
int ue_state_keep_initiator(ue_state_t *st, const ue_opts_t *o, const ue_id_t *peer,
			    uint16_t ticket_type, uint8_t prf);

/* Write len bytes to path (created or truncated, mode 0644 before umask). */
int ue_write_file(const char *path, const uint8_t *buf, size_t len);

/* A candidate key for the V of an Error message, and how to name it. */
typedef struct {
	const uint8_t *key;
	size_t len;
	const char *what; /* e.g. "response direction D=0x02" */
} ue_err_key_t;

/*
 * An answer that is a MIKEY Error message: print each error number and
 * name (as answered by who, e.g. "the KMS"), and whether its V (over the
 * Error message alone, RFC 6043 5.5) verifies with one of keys[0..nkeys),
 * tried in order: "V verifies (what)", or "unverified".  A difference of
 * the Error's HDR version, PRF or CSB ID from in_error (the message it
 * answers; may be NULL) is reported too.
 */
void ue_report_error_msg(const char *who, const mikey_msg_t *m,
			 const mikey_msg_t *in_error, const ue_err_key_t *keys,
			 size_t nkeys);

/*
 * The keys an Error's V may use (RFC 6043 5.4): the auth_key of the message
 * in error (D = 0x01) and, when also_resp, the response direction's
 * (D = 0x02, KMSs that MAC errors like responses), from inkey with that
 * message's CSB ID and RANDs, for v's Auth alg.  k holds the key bytes (the
 * caller wipes it); keys[0..return value) describe them.  None without v.
 */
size_t ue_error_keys(const mikey_msg_t *in_error, const mikey_v_t *v,
		     const uint8_t *inkey, size_t inkey_len, bool also_resp,
		     uint8_t k[2][MIKEY_MAC_MAX], ue_err_key_t keys[2]);

/* Auth key of a message (RFC 6043 5.1.2) for the V alg into key (MIKEY_MAC_MAX). */
int ue_auth_key(uint8_t prf, const uint8_t *inkey, size_t inkey_len, uint32_t csb_id,
		uint8_t dir, const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		uint8_t mac_alg, uint8_t *key, size_t *key_len);

/*
 * The TICKET payload of built[0..len) must carry the same bytes as the one
 * of src (from Ticket Type to the end of Ticket Data, plus the Initiator
 * Data when with_init), so that re-encoding a received ticket can never
 * change it.  KMS_EINTERNAL otherwise.
 */
int ue_ticket_same(const mikey_msg_t *src, const uint8_t *built, size_t len,
		   bool with_init);

/* SHA-256 over the TICKET from Ticket Type to the end of Ticket Data. */
int ue_ticket_hash(const mikey_msg_t *m, uint8_t out[32]);

/* The keys of a KEMAC from the KMS, pointing into its key chain. */
typedef struct {
	const mikey_keydata_t *mpki;
	const mikey_keydata_t *mpkr; /* MPKr or MPKr'; NULL when absent */
	const mikey_keydata_t *tgk;  /* TGK or TGK' */
} ue_keyset_t;

/*
 * The key data sub-payloads of a KEMAC from the KMS, each an MPK or TGK
 * with an SPI, of the suite's key length: MPKi, MPKr, TGK with key
 * forking; MPKi, [MPKr], TGK without (RFC 6043 4.2.1: MPKr comes only
 * with forking, but a KMS sending it anyway is harmless).  KMS_ETICKET
 * otherwise; *out only on success.
 */
int ue_keys_expect(const mikey_keys_t *keys, size_t key_len, bool forking,
		   ue_keyset_t *out);

#endif
