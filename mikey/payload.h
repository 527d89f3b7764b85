/*
 * MIKEY payloads (RFC 3830, RFC 4563, RFC 6043): constants, parsed forms,
 * and one parse/build pair per payload type.
 *
 * Parsed forms are zero-copy: pointers refer into the caller's message
 * buffer, which must outlive them.  Every parser reads through a wire_rd_t,
 * fills a local struct, checks the sticky error and the values (enums,
 * lengths against caps), and only then writes *out.  Builders append to a
 * mikey_builder_t, which chains "next payload" fields automatically.
 */
#ifndef KMS_MIKEY_PAYLOAD_H
#define KMS_MIKEY_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"

/* --- caps on everything that comes from the network ------------------- */
#define MIKEY_MSG_MAX 16384   /* bytes in one message */
#define MIKEY_PAYLOADS_MAX 32 /* top-level payloads in one message */
#define MIKEY_CS_MAX 16	      /* #CS in a CS ID map */
#define MIKEY_POLICY_NO_MAX 8 /* #P per GENERIC-ID entry */
#define MIKEY_SESSION_DATA_MAX 64
#define MIKEY_SPI_MAX 64  /* SPI/MKI bytes */
#define MIKEY_ID_MAX 512  /* ID Data bytes */
#define MIKEY_RAND_MIN 16 /* RFC 3830: RAND SHOULD be >= 128 bits */
#define MIKEY_RAND_MAX 64
#define MIKEY_KEY_MIN 16 /* RFC 6043 12.1: keys >= 128 bits */
#define MIKEY_KEY_MAX 64
#define MIKEY_SALT_MAX 32
#define MIKEY_KV_MAX 16	       /* Valid From / Valid To bytes */
#define MIKEY_KEYS_MAX 16      /* key data sub-payloads in one KEMAC */
#define MIKEY_SP_PARAMS_MAX 16 /* parameters in one SP payload */
#define MIKEY_IDRR_MAX 16      /* IDRr entries in a ticket policy */
#define MIKEY_IDRAPP_MAX 8     /* IDRapp entries in a ticket policy */
#define MIKEY_TICKET_DATA_MAX 4096
#define MIKEY_MAC_MAX 32

/* --- HDR (RFC 3830 6.1) ---------------------------------------------- */
#define MIKEY_VERSION 1

enum mikey_data_type {
	MIKEY_DT_PSK_INIT = 0,
	MIKEY_DT_PSK_RESP = 1,
	MIKEY_DT_PK_INIT = 2,
	MIKEY_DT_PK_RESP = 3,
	MIKEY_DT_DH_INIT = 4,
	MIKEY_DT_DH_RESP = 5,
	MIKEY_DT_ERROR = 6,
	MIKEY_DT_DHHMAC_INIT = 7,
	MIKEY_DT_DHHMAC_RESP = 8,
	MIKEY_DT_RSAR_INIT = 9,
	MIKEY_DT_RSAR_RESP = 10,
	MIKEY_DT_REQUEST_INIT_PSK = 11,
	MIKEY_DT_REQUEST_INIT_PK = 12,
	MIKEY_DT_REQUEST_RESP = 13,
	MIKEY_DT_TRANSFER_INIT = 14,
	MIKEY_DT_TRANSFER_RESP = 15,
	MIKEY_DT_RESOLVE_INIT_PSK = 16,
	MIKEY_DT_RESOLVE_INIT_PK = 17,
	MIKEY_DT_RESOLVE_RESP = 18,
};

enum mikey_prf {
	MIKEY_PRF_MIKEY1 = 0,	   /* HMAC-SHA-1 based (RFC 3830) */
	MIKEY_PRF_HMAC_SHA256 = 1, /* RFC 6043 */
};

enum mikey_map_type {
	MIKEY_MAP_SRTP_ID = 0,
	MIKEY_MAP_EMPTY = 1,	  /* RFC 4563 */
	MIKEY_MAP_GENERIC_ID = 2, /* RFC 6043 */
};

/* --- payload types (Next payload values) ------------------------------ */
enum mikey_payload_type {
	MIKEY_PT_LAST = 0,
	MIKEY_PT_KEMAC = 1,
	MIKEY_PT_PKE = 2,
	MIKEY_PT_DH = 3,
	MIKEY_PT_SIGN = 4,
	MIKEY_PT_T = 5,
	MIKEY_PT_ID = 6,
	MIKEY_PT_CERT = 7,
	MIKEY_PT_CHASH = 8,
	MIKEY_PT_V = 9,
	MIKEY_PT_SP = 10,
	MIKEY_PT_RAND = 11,
	MIKEY_PT_ERR = 12,
	MIKEY_PT_TR = 13,
	MIKEY_PT_IDR = 14,
	MIKEY_PT_RANDR = 15,
	MIKEY_PT_TP = 16,
	MIKEY_PT_TICKET = 17,
	MIKEY_PT_KEYDATA = 20, /* only inside KEMAC encrypted data */
	MIKEY_PT_GENEXT = 21,
};

enum mikey_ts_type {
	MIKEY_TS_NTP_UTC = 0,
	MIKEY_TS_NTP = 1,
	MIKEY_TS_COUNTER = 2,
	MIKEY_TS_NTP_UTC_32 = 3,
};

enum mikey_ts_role {
	MIKEY_TR_ISSUE = 1, /* TRi */
	MIKEY_TR_START = 2, /* TRs */
	MIKEY_TR_END = 3,   /* TRe */
	MIKEY_TR_REKEY = 4, /* TRr */
};

enum mikey_id_type {
	MIKEY_ID_NAI = 0,
	MIKEY_ID_URI = 1,
	MIKEY_ID_BYTES = 2,
};

enum mikey_id_role {
	MIKEY_ROLE_NONE = 0, /* plain ID payload (6) */
	MIKEY_ROLE_I = 1,
	MIKEY_ROLE_R = 2,
	MIKEY_ROLE_KMS = 3,
	MIKEY_ROLE_PSK = 4,
	MIKEY_ROLE_APP = 5,
};

enum mikey_rand_role {
	MIKEY_RAND_I = 1,
	MIKEY_RAND_R = 2,
	MIKEY_RAND_KMS = 3,
};

enum mikey_encr_alg {
	MIKEY_ENCR_NULL = 0,
	MIKEY_ENCR_AES_CM_128 = 1,
	MIKEY_ENCR_AES_KW_128 = 2,
	MIKEY_ENCR_AES_CM_256 = 3,
};

enum mikey_mac_alg {
	MIKEY_MAC_NULL = 0,
	MIKEY_MAC_HMAC_SHA1_160 = 1,
	MIKEY_MAC_HMAC_SHA256_256 = 2,
};

enum mikey_key_type {
	MIKEY_KEY_TGK = 0,
	MIKEY_KEY_TGK_SALT = 1,
	MIKEY_KEY_TEK = 2,
	MIKEY_KEY_TEK_SALT = 3,
	MIKEY_KEY_GTGK = 4,
	MIKEY_KEY_GTGK_SALT = 5,
	MIKEY_KEY_MPK = 6,
};

enum mikey_kv_type {
	MIKEY_KV_NULL = 0,
	MIKEY_KV_SPI = 1,
	MIKEY_KV_INTERVAL = 2,
};

enum mikey_hash_func {
	MIKEY_HASH_SHA1 = 0,
	MIKEY_HASH_MD5 = 1,
	MIKEY_HASH_SHA256 = 2,
};

enum mikey_genext_type {
	MIKEY_GENEXT_VENDOR = 0,
	MIKEY_GENEXT_SDP_IDS = 1,
	MIKEY_GENEXT_KEY_ID = 3, /* RFC 4563 */
};

/* Ticket Policy flags (RFC 6043 6.10), as a 16-bit field D..O. */
enum mikey_tp_flag {
	MIKEY_TPF_D = 1u << 15,
	MIKEY_TPF_E = 1u << 14,
	MIKEY_TPF_F = 1u << 13,
	MIKEY_TPF_G = 1u << 12,
	MIKEY_TPF_H = 1u << 11,
	MIKEY_TPF_I = 1u << 10,
	MIKEY_TPF_J = 1u << 9,
	MIKEY_TPF_K = 1u << 8,
	MIKEY_TPF_L = 1u << 7,
	MIKEY_TPF_M = 1u << 6,
	MIKEY_TPF_N = 1u << 5,
	MIKEY_TPF_O = 1u << 4,
};
#define MIKEY_TPF_ALL 0xfff0u

/* --- parsed forms ------------------------------------------------------ */

/* A byte string inside the message (or any caller buffer). */
typedef struct {
	const uint8_t *data;
	size_t len;
} mikey_bytes_t;

typedef struct {
	uint8_t policy_no;
	uint32_t ssrc;
	uint32_t roc;
} mikey_srtp_cs_t;

typedef struct {
	uint8_t cs_id;
	uint8_t prot_type;
	bool s;
	uint8_t np;
	uint8_t policy_no[MIKEY_POLICY_NO_MAX];
	mikey_bytes_t session_data;
	mikey_bytes_t spi;
} mikey_generic_cs_t;

typedef struct {
	uint8_t version;
	uint8_t data_type;
	uint8_t next;
	bool v;
	uint8_t prf;
	uint32_t csb_id;
	uint8_t ncs;
	uint8_t map_type;
	union {
		mikey_srtp_cs_t srtp[MIKEY_CS_MAX];
		mikey_generic_cs_t generic[MIKEY_CS_MAX];
	} map;
} mikey_hdr_t;

/* T (5) and TR (13); role is 0 for T. value holds 8 or 4 bytes as sent. */
typedef struct {
	uint8_t role;
	uint8_t ts_type;
	uint64_t value;
} mikey_ts_t;

/* ID (6, role 0) and IDR (14). */
typedef struct {
	uint8_t role;
	uint8_t id_type;
	mikey_bytes_t id;
} mikey_id_t;

/* RAND (11, role 0) and RANDR (15). */
typedef struct {
	uint8_t role;
	mikey_bytes_t rand;
} mikey_rand_t;

typedef struct {
	uint8_t encr_alg;
	mikey_bytes_t encr_data;
	uint8_t mac_alg;
	mikey_bytes_t mac;
} mikey_kemac_t;

/* One key data sub-payload (20). */
typedef struct {
	uint8_t type;
	uint8_t kv;
	mikey_bytes_t key;
	mikey_bytes_t salt; /* only for +SALT types */
	mikey_bytes_t spi;  /* kv == SPI */
	mikey_bytes_t vf;   /* kv == INTERVAL */
	mikey_bytes_t vt;
} mikey_keydata_t;

typedef struct {
	size_t n;
	mikey_keydata_t k[MIKEY_KEYS_MAX];
} mikey_keys_t;

/* V (9); mac_off is the offset of the MAC bytes in the message. */
typedef struct {
	uint8_t alg;
	mikey_bytes_t mac;
} mikey_v_t;

typedef struct {
	uint8_t errno_;
} mikey_err_t;

typedef struct {
	uint8_t type;
	mikey_bytes_t value;
} mikey_sp_param_t;

typedef struct {
	uint8_t policy_no;
	uint8_t prot_type;
	size_t nparams;
	mikey_sp_param_t params[MIKEY_SP_PARAMS_MAX];
} mikey_sp_t;

typedef struct {
	uint8_t type;
	mikey_bytes_t data;
} mikey_genext_t;

/* PKE (2), CERT (7), CHASH (8), SIGN (4): recognised, never served. */
typedef struct {
	uint8_t c;
	mikey_bytes_t data;
} mikey_pke_t;

typedef struct {
	uint8_t type;
	mikey_bytes_t data;
} mikey_cert_t;

typedef struct {
	uint8_t func;
	mikey_bytes_t hash;
} mikey_chash_t;

typedef struct {
	uint8_t s_type;
	mikey_bytes_t sig;
} mikey_sign_t;

/* Ticket policy: the TP payload, and the head of a TICKET payload. */
typedef struct {
	uint16_t ticket_type;
	uint8_t subtype;
	uint8_t version;
	uint8_t prf;
	uint16_t flags;	       /* MIKEY_TPF_* */
	mikey_bytes_t tp_data; /* raw TP Data incl. its First Payload byte */
	/* TP Data, parsed */
	bool has_idrkms, has_idri, has_trs, has_tre, has_trr, has_kemac;
	mikey_id_t idrkms;
	mikey_id_t idri;
	mikey_ts_t trs, tre, trr;
	mikey_kemac_t kemac; /* template: NULL encryption, NULL MAC */
	mikey_keys_t kemac_keys;
	size_t napp;
	mikey_id_t app[MIKEY_IDRAPP_MAX];
	size_t nidrr;
	mikey_id_t idrr[MIKEY_IDRR_MAX];
} mikey_tp_t;

typedef struct {
	mikey_tp_t policy;
	mikey_bytes_t ticket_data;
	mikey_bytes_t init_data; /* raw Initiator Data (empty unless flag I) */
	bool has_init;
	mikey_v_t vi, vr;    /* parsed Initiator Data */
	size_t init_len_off; /* payload-relative offset of Initiator Data length */
} mikey_ticket_t;

/* One top-level payload of a message, in wire order. */
typedef struct {
	uint8_t type;
	size_t off; /* offset of the payload (its Next payload byte) */
	size_t len; /* bytes on the wire */
	union {
		mikey_ts_t ts;	   /* T, TR */
		mikey_id_t id;	   /* ID, IDR */
		mikey_rand_t rand; /* RAND, RANDR */
		mikey_kemac_t kemac;
		mikey_v_t v;
		mikey_err_t err;
		mikey_sp_t sp;
		mikey_genext_t ext;
		mikey_pke_t pke;
		mikey_cert_t cert;
		mikey_chash_t chash;
		mikey_sign_t sign;
	} u;
} mikey_payload_t;

/* --- payload codecs ---------------------------------------------------- */

/*
 * Each parser reads one payload of the given type at the cursor, whose
 * first byte is the payload's Next payload field, and stores that field in
 * *next.  SIGN has no Next payload field and sets *next to MIKEY_PT_LAST.
 * Return KMS_EOK, or the precise KMS_E* code; *out is untouched on error.
 */
int mikey_hdr_parse(wire_rd_t *c, mikey_hdr_t *out);
int mikey_ts_parse(wire_rd_t *c, bool with_role, uint8_t *next, mikey_ts_t *out);
int mikey_id_parse(wire_rd_t *c, bool with_role, uint8_t *next, mikey_id_t *out);
int mikey_rand_parse(wire_rd_t *c, bool with_role, uint8_t *next, mikey_rand_t *out);
int mikey_kemac_parse(wire_rd_t *c, uint8_t *next, mikey_kemac_t *out);
int mikey_v_parse(wire_rd_t *c, uint8_t *next, mikey_v_t *out);
int mikey_err_parse(wire_rd_t *c, uint8_t *next, mikey_err_t *out);
int mikey_sp_parse(wire_rd_t *c, uint8_t *next, mikey_sp_t *out);
int mikey_genext_parse(wire_rd_t *c, uint8_t *next, mikey_genext_t *out);
int mikey_pke_parse(wire_rd_t *c, uint8_t *next, mikey_pke_t *out);
int mikey_cert_parse(wire_rd_t *c, uint8_t *next, mikey_cert_t *out);
int mikey_chash_parse(wire_rd_t *c, uint8_t *next, mikey_chash_t *out);
int mikey_sign_parse(wire_rd_t *c, mikey_sign_t *out);
/* A chain of key data sub-payloads (decrypted KEMAC content); all bytes used. */
int mikey_keys_parse(const uint8_t *data, size_t len, mikey_keys_t *out);

/* Length of the MAC for a MAC / Auth alg value; -1 if unknown. */
int mikey_mac_len(uint8_t alg);
/* Size of a TS value for a TS type; -1 if unknown. */
int mikey_ts_len(uint8_t ts_type);
/* The 64-bit form of a timestamp (COUNTER zero-extended, NTP-UTC-32 seconds << 32). */
uint64_t mikey_ts_to64(const mikey_ts_t *ts);

/* NTP-UTC (RFC 5905 64-bit) <-> Unix time; NTP values are read in the
 * 1968-2104 window (RFC 4330 rule: MSB 0 means the era after 2036). */
uint64_t mikey_ntp_from_unix(int64_t sec, uint32_t nsec);
int64_t mikey_ntp_to_unix(uint64_t ntp);
/* Unix seconds of a T/TR timestamp (NTP types only; KMS_ETS otherwise). */
int mikey_ts_to_unix(const mikey_ts_t *ts, int64_t *sec);

/* --- builder ----------------------------------------------------------- */

typedef struct {
	wire_wr_t w;
	size_t next_off;       /* where the next payload's type goes */
	size_t outer_next_off; /* saved while building TP Data */
	bool in_tp;
	size_t tp_len_off;
} mikey_builder_t;

void mikey_builder_init(mikey_builder_t *b, uint8_t *buf, size_t cap);
/* Error so far (sticky, from the cursor or from invalid values). */
int mikey_builder_error(const mikey_builder_t *b);
size_t mikey_builder_len(const mikey_builder_t *b);

void mikey_hdr_build(mikey_builder_t *b, const mikey_hdr_t *h);
void mikey_ts_build(mikey_builder_t *b, const mikey_ts_t *ts); /* role 0: T, else TR */
void mikey_id_build(mikey_builder_t *b, const mikey_id_t *id); /* role 0: ID, else IDR */
void mikey_rand_build(mikey_builder_t *b, const mikey_rand_t *r); /* role 0: RAND */
void mikey_kemac_build(mikey_builder_t *b, const mikey_kemac_t *k);
void mikey_err_build(mikey_builder_t *b, const mikey_err_t *e);
void mikey_sp_build(mikey_builder_t *b, const mikey_sp_t *sp);
void mikey_genext_build(mikey_builder_t *b, const mikey_genext_t *e);
void mikey_pke_build(mikey_builder_t *b, const mikey_pke_t *p);
void mikey_cert_build(mikey_builder_t *b, const mikey_cert_t *c);
void mikey_chash_build(mikey_builder_t *b, const mikey_chash_t *h);
void mikey_sign_build(mikey_builder_t *b,
		      const mikey_sign_t *s); /* last; no next field */
/*
 * V payload: writes Next payload, Auth alg and mac.len bytes of MAC; when
 * mac.data is NULL the MAC bytes are zero and *mac_off (if not NULL) gets
 * their offset, to be filled after computing the MAC over buf[0..mac_off).
 */
void mikey_v_build(mikey_builder_t *b, const mikey_v_t *v, size_t *mac_off);
/* A chain of key data sub-payloads into a plain buffer (KEMAC content). */
int mikey_keys_build(const mikey_keys_t *keys, uint8_t *buf, size_t cap, size_t *len);

/* TP and TICKET (RFC 6043): mikey/payload_ticket.h, always with this one. */
#include "mikey/payload_ticket.h"

#endif
