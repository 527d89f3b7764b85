/*
 * Message level: golden messages written by hand from the RFC 3830/6043
 * layouts (one per MIKEY-TICKET message type and the Error message),
 * round trips, every truncation point, over-long lengths, bad enums,
 * composition rules and caps.
 */
#include <string.h>

#include "common/errcode.h"
#include "mikey/msg.h"
#include "tests/unit/unit.h"

/* Pieces, each annotated with its fields.  "nn" marks the Next payload byte. */
#define ALICE "616c696365406578616d706c652e6f7267" /* 17 bytes */
#define BOB "626f62406578616d706c652e6f7267"	   /* 15 bytes */
#define KMS "6b6d732e6578616d706c652e6f7267"	   /* 15 bytes */
#define R16(x)                                                                           \
	x "0" x "1" x "2" x "3" x "4" x "5" x "6" x "7" x "8" x "9" x "a" x "b" x "c" x  \
	  "d" x "e" x "f"
/* HDR: version 1 | data type | next | V=0,PRF=0 | CSB ID | #CS 0 | Empty map */
#define HDR(dt, nx)                                                                      \
	"01" dt nx "00"                                                                  \
	"12345678"                                                                       \
	"00"                                                                             \
	"01"
/* HDR with one GENERIC-ID entry: CS ID 1, SRTP, S=0 #P=1, policy 0, session data 4 (SSRC), SPI 0 */
#define HDR_G(dt, nx)                                                                    \
	"01" dt nx "00"                                                                  \
	"12345678"                                                                       \
	"01"                                                                             \
	"02"                                                                             \
	"01"                                                                             \
	"00"                                                                             \
	"01"                                                                             \
	"00"                                                                             \
	"0004"                                                                           \
	"cafebabe"                                                                       \
	"00"
/* T: next | NTP-UTC | 64-bit value */
#define T(nx)                                                                            \
	nx "00"                                                                          \
	   "e76f1c8000000000"
/* RANDR: next | role | len 16 | RAND */
#define RANDRI(nx)                                                                       \
	nx "01"                                                                          \
	   "10" R16("a")
#define RANDRR(nx)                                                                       \
	nx "02"                                                                          \
	   "10" R16("b")
#define RANDRKMS(nx)                                                                     \
	nx "03"                                                                          \
	   "10" R16("c")
/* IDR: next | role | type | len16 | data */
#define IDRI(nx)                                                                         \
	nx "01"                                                                          \
	   "00"                                                                          \
	   "0011" ALICE
#define IDRR(nx)                                                                         \
	nx "02"                                                                          \
	   "00"                                                                          \
	   "000f" BOB
#define IDRKMS(nx)                                                                       \
	nx "03"                                                                          \
	   "00"                                                                          \
	   "000f" KMS
#define IDRPSK(nx)                                                                       \
	nx "04"                                                                          \
	   "02"                                                                          \
	   "0010" R16("d")
/* TP Data: First Payload = IDR, IDRr (next 0) -> 1 + 5 + 15 = 21 = 0x15 */
#define TPDATA                                                                           \
	"0e"                                                                             \
	"00"                                                                             \
	"02"                                                                             \
	"00"                                                                             \
	"000f" BOB
/* TP: next | type f000 | subtype 1 | version 1 | PRF 0,D | E..L | M N O,res | len | data */
#define TP(nx)                                                                           \
	nx "f000"                                                                        \
	   "01"                                                                          \
	   "01"                                                                          \
	   "00"                                                                          \
	   "d8"                                                                          \
	   "00"                                                                          \
	   "0015" TPDATA
/* TICKET without Initiator Data (REQUEST_RESP): D=1; ticket data deadbeef; init len 0 */
#define TICKET(nx)                                                                       \
	nx "f000"                                                                        \
	   "01"                                                                          \
	   "01"                                                                          \
	   "01"                                                                          \
	   "d8"                                                                          \
	   "00"                                                                          \
	   "0015" TPDATA "0004"                                                          \
	   "deadbeef"                                                                    \
	   "0000"
/* TICKET with Initiator Data (I=1): First Payload V, Vi (next V), Vr -> 1+22+22 = 45 */
#define MAC20(b) b b b b b b b b b b b b b b b b b b b b
#define INITDATA                                                                         \
	"09"                                                                             \
	"09"                                                                             \
	"01" MAC20("11") "00"                                                            \
			 "01" MAC20("22")
#define TICKET_I(nx)                                                                     \
	nx "f000"                                                                        \
	   "01"                                                                          \
	   "01"                                                                          \
	   "01"                                                                          \
	   "d8"                                                                          \
	   "00"                                                                          \
	   "0015" TPDATA "0004"                                                          \
	   "deadbeef"                                                                    \
	   "002d" INITDATA
/* KEMAC: next | AES-CM-128 | len 32 | data | MAC alg NULL */
#define KEMAC(nx)                                                                        \
	nx "01"                                                                          \
	   "0020" R16("3") R16("4") "00"
/* V (last): next 0 | HMAC-SHA-1-160 | 20-byte MAC */
#define V                                                                                \
	"00"                                                                             \
	"01" MAC20("44")
/* ERR: next | error no | reserved */
#define ERR(nx, no) nx no "0000"

static const char *const golden[] = {
	/* REQUEST_INIT_PSK = HDR, T, RANDRi, IDRi, IDRkms, TP, IDRpsk, V */
	HDR("0b", "05") T("0f") RANDRI("0e") IDRI("0e") IDRKMS("10") TP("0e") IDRPSK("09")
	    V,
	/* REQUEST_RESP = HDR, T, IDRkms, TICKET, KEMAC, V */
	HDR("0d", "05") T("0e") IDRKMS("11") TICKET("01") KEMAC("09") V,
	/* TRANSFER_INIT = HDR(GENERIC-ID), T, RANDRi, IDRi, IDRr, TICKET(I), V */
	HDR_G("0e", "05") T("0f") RANDRI("0e") IDRI("0e") IDRR("11") TICKET_I("09") V,
	/* TRANSFER_RESP = HDR, T, RANDRr, IDRr, RANDRkms, V */
	HDR_G("0f", "05") T("0f") RANDRR("0e") IDRR("0f") RANDRKMS("09") V,
	/* TRANSFER_RESP with G and M: HDR, T, RANDRr, IDRr, RANDRkms, KEMAC, V */
	HDR_G("0f", "05") T("0f") RANDRR("0e") IDRR("0f") RANDRKMS("01") KEMAC("09") V,
	/* RESOLVE_INIT_PSK = HDR, T, RANDRr, IDRr, IDRkms, TICKET(I), IDRpsk, V */
	HDR("10", "05") T("0f") RANDRR("0e") IDRR("0e") IDRKMS("11") TICKET_I("0e")
	    IDRPSK("09") V,
	/* RESOLVE_RESP = HDR, T, IDRkms, KEMAC, IDRr, RANDRkms, V */
	HDR("12", "05") T("0e") IDRKMS("01") KEMAC("0e") IDRR("0f") RANDRKMS("09") V,
	/* Error = HDR, T, ERR (Invalid MAC), V */
	HDR("06", "05") T("0c") ERR("09", "03") V,
};
static const uint8_t golden_dt[] = { 11, 13, 14, 15, 15, 16, 18, 6 };
#define NGOLDEN (sizeof(golden) / sizeof(golden[0]))

static uint8_t msgbuf[MIKEY_MSG_MAX];
static uint8_t obuf[MIKEY_MSG_MAX];

static size_t load(size_t i)
{
	return unit_hex(golden[i], msgbuf, sizeof(msgbuf));
}

static void given_golden_messages_when_parsed_then_valid_and_rebuilt_identically(void)
{
	for (size_t i = 0; i < NGOLDEN; i++) {
		size_t len = load(i);
		mikey_msg_t m;
		int ret = mikey_msg_parse(msgbuf, len, &m);
		CU_ASSERT_EQUAL(ret, KMS_EOK);
		if (ret != KMS_EOK) {
			printf("golden %zu: %s\n", i, kms_err_name(ret));
			continue;
		}
		CU_ASSERT_EQUAL(m.hdr.data_type, golden_dt[i]);
		CU_ASSERT_EQUAL(m.hdr.csb_id, 0x12345678);
		size_t olen = 0;
		CU_ASSERT_EQUAL(mikey_msg_build(&m, obuf, sizeof(obuf), &olen), KMS_EOK);
		CU_ASSERT_EQUAL(olen, len);
		CU_ASSERT_EQUAL(memcmp(obuf, msgbuf, len), 0);
	}
}

/* RFC 6043 4.2.2: RANDRr (G = 1) and a KEMAC (M = 1) in TRANSFER_RESP,
 * found by role; the G = 0 form has RANDRr only as the test's choice. */
static void given_transfer_resp_with_randrr_and_kemac_when_parsed_then_found(void)
{
	size_t len = load(4);
	mikey_msg_t m;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
	CU_ASSERT_EQUAL(m.hdr.data_type, MIKEY_DT_TRANSFER_RESP);
	const mikey_rand_t *rr = mikey_msg_randr(&m, MIKEY_RAND_R);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
	CU_ASSERT_PTR_NOT_NULL(mikey_msg_randr(&m, MIKEY_RAND_KMS));
	CU_ASSERT_PTR_NULL(mikey_msg_randr(&m, MIKEY_RAND_I));
	const mikey_kemac_t *k = mikey_msg_kemac(&m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(k->encr_alg, MIKEY_ENCR_AES_CM_128);
	CU_ASSERT_EQUAL(k->encr_data.len, 32);
	CU_ASSERT_EQUAL(k->mac_alg, MIKEY_MAC_NULL);
	/* A KEMAC after V, or a RANDRi, is not a TRANSFER_RESP. */
	char bad[1024];
	snprintf(bad, sizeof(bad), "%s",
		 HDR_G("0f", "05") T("0f") RANDRI("01") KEMAC("09") V);
	len = unit_hex(bad, msgbuf, sizeof(msgbuf));
	CU_ASSERT_EQUAL(mikey_msg_parse(msgbuf, len, &m), KMS_EPAYLOAD);
}

static void given_request_init_when_parsed_then_fields_found(void)
{
	size_t len = load(0);
	mikey_msg_t m;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
	CU_ASSERT_EQUAL(m.n, 7);
	const mikey_id_t *idri = mikey_msg_idr(&m, MIKEY_ROLE_I);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idri);
	CU_ASSERT_EQUAL(idri->id.len, 17);
	CU_ASSERT_EQUAL(memcmp(idri->id.data, "alice@example.org", 17), 0);
	CU_ASSERT_PTR_NOT_NULL(mikey_msg_idr(&m, MIKEY_ROLE_PSK));
	CU_ASSERT_PTR_NULL(mikey_msg_idr(&m, MIKEY_ROLE_R));
	const mikey_rand_t *ri = mikey_msg_randr(&m, MIKEY_RAND_I);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ri);
	CU_ASSERT_EQUAL(ri->rand.data[15], 0xaf);
	CU_ASSERT_EQUAL(mikey_msg_ts(&m)->value, 0xe76f1c8000000000ULL);
	CU_ASSERT_TRUE(m.has_ticket);
	CU_ASSERT_EQUAL(m.ticket.policy.ticket_type, 0xf000);
	CU_ASSERT_EQUAL(m.ticket.policy.flags,
			MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_I);
	CU_ASSERT_EQUAL(m.ticket.policy.nidrr, 1);
	CU_ASSERT_EQUAL(memcmp(m.ticket.policy.idrr[0].id.data, "bob@example.org", 15),
			0);
	/* V is last: MAC bytes start two bytes into it and run to the end. */
	CU_ASSERT_EQUAL(mikey_msg_v_mac_off(&m), len - 20);
	CU_ASSERT_EQUAL(mikey_msg_v(&m)->alg, MIKEY_MAC_HMAC_SHA1_160);
}

static void given_forking_ticket_when_parsed_then_initiator_data_split(void)
{
	size_t len = load(2);
	mikey_msg_t m;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
	CU_ASSERT_TRUE(m.ticket.has_init);
	CU_ASSERT_EQUAL(m.ticket.init_data.len, 45);
	CU_ASSERT_EQUAL(m.ticket.vi.mac.data[0], 0x11);
	CU_ASSERT_EQUAL(m.ticket.vr.mac.data[19], 0x22);
	CU_ASSERT_EQUAL(m.ticket.ticket_data.len, 4);
	/* The Initiator Data length field sits right after the Ticket Data. */
	const mikey_payload_t *tp = &m.p[m.ticket_index];
	CU_ASSERT_EQUAL(msgbuf[tp->off + m.ticket.init_len_off], 0x00);
	CU_ASSERT_EQUAL(msgbuf[tp->off + m.ticket.init_len_off + 1], 0x2d);
	CU_ASSERT_EQUAL(m.hdr.map_type, MIKEY_MAP_GENERIC_ID);
	CU_ASSERT_EQUAL(m.hdr.map.generic[0].session_data.len, 4);
}

static void given_every_truncation_when_parsed_then_refused(void)
{
	size_t points = 0;
	for (size_t i = 0; i < NGOLDEN; i++) {
		size_t len = load(i);
		for (size_t cut = 0; cut < len; cut++) {
			mikey_msg_t m;
			int ret = mikey_msg_parse(msgbuf, cut, &m);
			CU_ASSERT_NOT_EQUAL(ret, KMS_EOK);
			points++;
		}
		/* One trailing byte is refused too. */
		mikey_msg_t m;
		msgbuf[len] = 0;
		CU_ASSERT_EQUAL(mikey_msg_parse(msgbuf, len + 1, &m), KMS_EMALFORMED);
	}
	CU_ASSERT(points > 900);
	printf("\n  %zu truncation points refused\n", points);
}

/* Every single-bit flip of every golden message parses or fails cleanly. */
static void given_every_bit_flip_when_parsed_then_no_crash(void)
{
	size_t refused = 0, total = 0, canonical = 0;
	for (size_t i = 0; i < NGOLDEN; i++) {
		size_t len = load(i);
		for (size_t bit = 0; bit < len * 8; bit++) {
			mikey_msg_t m;
			msgbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (mikey_msg_parse(msgbuf, len, &m) != KMS_EOK) {
				refused++;
			} else {
				/* What parses must also rebuild to the same bytes. */
				size_t olen = 0;
				CU_ASSERT_EQUAL(
				    mikey_msg_build(&m, obuf, sizeof(obuf), &olen),
				    KMS_EOK);
				CU_ASSERT_EQUAL(olen, len);
				/* ...or, for a reserved bit, to the unflipped original. */
				bool same = memcmp(obuf, msgbuf, len) == 0;
				msgbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				bool reserved = memcmp(obuf, msgbuf, len) == 0;
				msgbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				CU_ASSERT_TRUE(same || reserved);
				canonical += same;
			}
			msgbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			total++;
		}
	}
	CU_ASSERT(refused > 0 && refused < total && canonical > 0);
	printf("\n  %zu flips: %zu refused, %zu parsed and rebuilt identically\n", total,
	       refused, canonical);
}

/* Offsets into golden 0 (REQUEST_INIT): HDR 10, T 10, RANDRi 19, IDRi 22, IDRkms 20. */
#define OFF_T 10
#define OFF_RANDRI 20
#define OFF_IDRI 39
#define OFF_IDRKMS 61
#define OFF_TP 81

static int parse_patched(size_t off, uint8_t val)
{
	size_t len = load(0);
	mikey_msg_t m;
	msgbuf[off] = val;
	return mikey_msg_parse(msgbuf, len, &m);
}

static void given_bad_enum_values_when_parsed_then_precise_errors(void)
{
	CU_ASSERT_EQUAL(parse_patched(0, 2), KMS_EVERSION);
	CU_ASSERT_EQUAL(parse_patched(1, MIKEY_DT_REQUEST_INIT_PK), KMS_ENOTSUP);
	CU_ASSERT_EQUAL(parse_patched(1, MIKEY_DT_RESOLVE_INIT_PK), KMS_ENOTSUP);
	CU_ASSERT_EQUAL(parse_patched(1, MIKEY_DT_PSK_INIT), KMS_EDT);
	CU_ASSERT_EQUAL(parse_patched(1, 99), KMS_EDT);
	CU_ASSERT_EQUAL(parse_patched(2, 30), KMS_EPAYLOAD); /* unknown payload */
	CU_ASSERT_EQUAL(parse_patched(2, MIKEY_PT_KEYDATA), KMS_EPAYLOAD);
	CU_ASSERT_EQUAL(parse_patched(2, MIKEY_PT_DH), KMS_ENOTSUP);
	CU_ASSERT_EQUAL(parse_patched(3, 0x09), KMS_EPRF);
	CU_ASSERT_EQUAL(parse_patched(9, 7), KMS_EMALFORMED); /* map type */
	CU_ASSERT_EQUAL(parse_patched(OFF_T + 1, 9), KMS_ETS);
	CU_ASSERT_EQUAL(parse_patched(OFF_RANDRI + 1, 9), KMS_EMALFORMED); /* RAND role */
	CU_ASSERT_EQUAL(parse_patched(OFF_IDRI + 1, 9), KMS_EID);	   /* ID role */
	CU_ASSERT_EQUAL(parse_patched(OFF_IDRI + 2, 9), KMS_EID);	   /* ID type */
	mikey_msg_t where;
	size_t wlen = load(0);
	msgbuf[OFF_IDRI + 2] = 9;
	CU_ASSERT_EQUAL(mikey_msg_decode(msgbuf, wlen, &where), KMS_EID);
	CU_ASSERT_EQUAL(where.err_off, OFF_IDRI);
	CU_ASSERT_EQUAL(where.err_type, MIKEY_PT_IDR);
	CU_ASSERT_EQUAL(parse_patched(OFF_TP + 5, 0x04), KMS_EPRF); /* TP PRF 2 */
	size_t len = load(0);
	CU_ASSERT_EQUAL(parse_patched(len - 21, 7), KMS_EHA); /* V auth alg */
	/* V alg NULL leaves 20 trailing bytes. */
	CU_ASSERT_EQUAL(parse_patched(len - 21, 0), KMS_EMALFORMED);
}

static void given_overlong_length_fields_when_parsed_then_refused(void)
{
	/* IDRi length 0x0012 (one more than present) and 0xffff. */
	CU_ASSERT_NOT_EQUAL(parse_patched(OFF_IDRI + 4, 0x12), KMS_EOK);
	CU_ASSERT_EQUAL(parse_patched(OFF_IDRI + 3, 0xff), KMS_ELIMIT);
	/* RAND length 17 and 255. */
	CU_ASSERT_NOT_EQUAL(parse_patched(OFF_RANDRI + 2, 17), KMS_EOK);
	CU_ASSERT_EQUAL(parse_patched(OFF_RANDRI + 2, 0xff), KMS_ELIMIT);
	/* TP Data length one more, and 0xff.. */
	CU_ASSERT_NOT_EQUAL(parse_patched(OFF_TP + 9, 0x16), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(parse_patched(OFF_TP + 8, 0xff), KMS_EOK);
	/* REQUEST_RESP: KEMAC length, ticket data length, initiator data length. */
	size_t len = load(1);
	mikey_msg_t m;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
	const mikey_payload_t *tk = &m.p[m.ticket_index];
	size_t td_len_off = tk->off + m.ticket.init_len_off - 4 - 2;
	CU_ASSERT_EQUAL(msgbuf[td_len_off + 1], 4);
	msgbuf[td_len_off] = 0x20; /* 0x2004 > MIKEY_TICKET_DATA_MAX */
	CU_ASSERT_EQUAL(mikey_msg_parse(msgbuf, len, &m), KMS_ELIMIT);
	len = load(1);
	msgbuf[tk->off + m.ticket.init_len_off + 1] = 1; /* Initiator Data without I */
	CU_ASSERT_NOT_EQUAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
	len = load(1);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
	const mikey_payload_t *km = mikey_msg_find(&m, MIKEY_PT_KEMAC, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(km);
	msgbuf[km->off + 2] = 0xff;
	CU_ASSERT_NOT_EQUAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
}

/* Build a REQUEST_INIT through the builder API, with some tweak. */
static int build_request(int variant, size_t *len)
{
	static const uint8_t r[16] = { 1 };
	static const uint8_t d[4] = { 9, 9, 9, 9 };
	mikey_msg_t m;
	mikey_ticket_t tp;
	memset(&tp, 0, sizeof(tp));
	tp.policy.ticket_type = 0xf000;
	tp.policy.subtype = 1;
	tp.policy.version = 1;
	tp.policy.nidrr = 1;
	tp.policy.idrr[0] =
	    (mikey_id_t){ MIKEY_ROLE_R, MIKEY_ID_NAI, { (const uint8_t *)"bob@x", 5 } };
	mikey_msg_init(&m, MIKEY_DT_REQUEST_INIT_PSK, 7, MIKEY_PRF_MIKEY1);
	mikey_msg_add_ts(&m, 0, MIKEY_TS_NTP_UTC, 1);
	if (variant != 1) {
		mikey_msg_add_rand(&m, MIKEY_RAND_I, r, sizeof(r));
	}
	if (variant == 2) {
		mikey_msg_add_id(&m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, (const uint8_t *)"k",
				 1);
	}
	mikey_msg_add_id(&m, MIKEY_ROLE_I, MIKEY_ID_NAI, (const uint8_t *)"alice@x", 7);
	if (variant == 3) {
		m.hdr.ncs = 1;
	}
	if (variant == 4) {
		mikey_payload_t sp = { .type = MIKEY_PT_SP };
		mikey_msg_add(&m, &sp);
	}
	if (variant == 5) {
		mikey_genext_t e = { MIKEY_GENEXT_VENDOR, { d, 4 } };
		mikey_payload_t p = { .type = MIKEY_PT_GENEXT };
		p.u.ext = e;
		mikey_msg_add(&m, &p);
	}
	mikey_msg_add_ticket(&m, &tp, false);
	if (variant == 6) {
		CU_ASSERT_EQUAL(mikey_msg_add_ticket(&m, &tp, false), KMS_EPAYLOAD);
		mikey_payload_t k = { .type = MIKEY_PT_KEMAC };
		mikey_msg_add(&m, &k);
	}
	if (variant == 7) {
		mikey_payload_t v = { .type = MIKEY_PT_V };
		mikey_msg_add(&m, &v); /* NULL auth alg */
	} else {
		mikey_msg_add_v(&m, MIKEY_MAC_HMAC_SHA256_256);
	}
	return mikey_msg_build(&m, msgbuf, sizeof(msgbuf), len);
}

static void given_composition_errors_when_built_then_refused(void)
{
	size_t len = 0;
	CU_ASSERT_EQUAL(build_request(0, &len), KMS_EOK);
	mikey_msg_t m;
	CU_ASSERT_EQUAL(mikey_msg_parse(msgbuf, len, &m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_v(&m)->mac.len, 32);
	CU_ASSERT_EQUAL(build_request(1, &len), KMS_EPAYLOAD);	 /* no RANDRi */
	CU_ASSERT_EQUAL(build_request(2, &len), KMS_EPAYLOAD);	 /* IDRkms before IDRi */
	CU_ASSERT_EQUAL(build_request(3, &len), KMS_EMALFORMED); /* #CS != 0 */
	CU_ASSERT_EQUAL(build_request(4, &len), KMS_EPAYLOAD);	 /* SP not allowed here */
	CU_ASSERT_EQUAL(build_request(5, &len), KMS_EOK);      /* General Extension ok */
	CU_ASSERT_EQUAL(build_request(6, &len), KMS_EPAYLOAD); /* KEMAC unexpected */
	CU_ASSERT_EQUAL(build_request(7, &len), KMS_EHA);      /* V without MAC */
}

static void given_too_many_payloads_when_parsed_then_elimit(void)
{
	/* HDR, T, then 40 General Extensions: over MIKEY_PAYLOADS_MAX. */
	size_t n = unit_hex(HDR("0b", "05") T("15"), msgbuf, sizeof(msgbuf));
	for (int i = 0; i < 40; i++) {
		msgbuf[n++] = i == 39 ? 0 : MIKEY_PT_GENEXT;
		msgbuf[n++] = 0;
		msgbuf[n++] = 0;
		msgbuf[n++] = 0;
	}
	mikey_msg_t m;
	CU_ASSERT_EQUAL(mikey_msg_decode(msgbuf, n, &m), KMS_ELIMIT);
	CU_ASSERT_EQUAL(mikey_msg_decode(msgbuf, MIKEY_MSG_MAX + 1, &m), KMS_ELIMIT);
}

static void given_too_many_responders_when_parsed_then_elimit(void)
{
	mikey_ticket_t tp;
	memset(&tp, 0, sizeof(tp));
	tp.policy.ticket_type = 0xf000;
	tp.policy.nidrr = MIKEY_IDRR_MAX;
	for (size_t i = 0; i < MIKEY_IDRR_MAX; i++) {
		tp.policy.idrr[i] =
		    (mikey_id_t){ MIKEY_ROLE_R, 0, { (const uint8_t *)"r", 1 } };
	}
	mikey_builder_t b;
	mikey_builder_init(&b, msgbuf, sizeof(msgbuf));
	mikey_ticket_build(&b, &tp, false);
	CU_ASSERT_EQUAL_FATAL(mikey_builder_error(&b), KMS_EOK);
	size_t len = mikey_builder_len(&b);
	wire_rd_t c;
	uint8_t next;
	mikey_ticket_t out;
	wire_rd_init(&c, msgbuf, len);
	CU_ASSERT_EQUAL(mikey_ticket_parse(&c, false, &next, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.policy.nidrr, MIKEY_IDRR_MAX);
	/* Append one more IDRr inside TP Data and fix the length. */
	static const uint8_t extra[] = { 0, MIKEY_ROLE_R, 0, 0, 1, 'r' };
	msgbuf[len - 6] = MIKEY_PT_IDR; /* last IDRr's Next payload */
	memcpy(msgbuf + len, extra, sizeof(extra));
	uint16_t tpl = (uint16_t)((msgbuf[8] << 8 | msgbuf[9]) + sizeof(extra));
	msgbuf[8] = (uint8_t)(tpl >> 8);
	msgbuf[9] = (uint8_t)tpl;
	wire_rd_init(&c, msgbuf, len + sizeof(extra));
	CU_ASSERT_EQUAL(mikey_ticket_parse(&c, false, &next, &out), KMS_ELIMIT);
	/* No responder at all is refused. */
	tp.policy.nidrr = 0;
	mikey_builder_init(&b, msgbuf, sizeof(msgbuf));
	mikey_ticket_build(&b, &tp, false);
	wire_rd_init(&c, msgbuf, mikey_builder_len(&b));
	CU_ASSERT_EQUAL(mikey_ticket_parse(&c, false, &next, &out), KMS_ETPPAR);
}

static void given_ticket_policy_out_of_order_when_parsed_then_etppar(void)
{
	/* TP Data with IDRr before IDRkms. */
	size_t n = unit_hex("00"
			    "f000"
			    "01"
			    "01"
			    "00"
			    "00"
			    "00"
			    "0019"
			    "0e"
			    "0e"
			    "02"
			    "00"
			    "0001"
			    "72"
			    "00"
			    "03"
			    "00"
			    "0001"
			    "6b",
			    msgbuf, sizeof(msgbuf));
	wire_rd_t c;
	uint8_t next;
	mikey_ticket_t out;
	/* Fix the TP Data length to what is present. */
	msgbuf[9] = (uint8_t)(n - 10);
	wire_rd_init(&c, msgbuf, n);
	CU_ASSERT_EQUAL(mikey_ticket_parse(&c, false, &next, &out), KMS_ETPPAR);
}

static void given_ticket_flags_when_round_trip_then_every_bit_kept(void)
{
	for (unsigned bit = 4; bit < 16; bit++) {
		mikey_ticket_t tp, got;
		memset(&tp, 0, sizeof(tp));
		tp.policy.prf = MIKEY_PRF_HMAC_SHA256;
		tp.policy.flags = (uint16_t)(1u << bit);
		tp.policy.nidrr = 1;
		tp.policy.idrr[0] =
		    (mikey_id_t){ MIKEY_ROLE_R, 0, { (const uint8_t *)"r", 1 } };
		mikey_builder_t b;
		mikey_builder_init(&b, msgbuf, sizeof(msgbuf));
		mikey_ticket_build(&b, &tp, false);
		wire_rd_t c;
		uint8_t next;
		wire_rd_init(&c, msgbuf, mikey_builder_len(&b));
		CU_ASSERT_EQUAL(mikey_ticket_parse(&c, false, &next, &got), KMS_EOK);
		CU_ASSERT_EQUAL(got.policy.flags, tp.policy.flags);
		CU_ASSERT_EQUAL(got.policy.prf, MIKEY_PRF_HMAC_SHA256);
	}
	/* D is bit 0 of byte 5, L bit 0 of byte 6, O bit 5 of byte 7. */
	mikey_ticket_t tp;
	memset(&tp, 0, sizeof(tp));
	tp.policy.flags = MIKEY_TPF_D | MIKEY_TPF_L | MIKEY_TPF_O;
	tp.policy.nidrr = 1;
	tp.policy.idrr[0] = (mikey_id_t){ MIKEY_ROLE_R, 0, { (const uint8_t *)"r", 1 } };
	mikey_builder_t b;
	mikey_builder_init(&b, msgbuf, sizeof(msgbuf));
	mikey_ticket_build(&b, &tp, false);
	CU_ASSERT_EQUAL(msgbuf[5], 0x01);
	CU_ASSERT_EQUAL(msgbuf[6], 0x01);
	CU_ASSERT_EQUAL(msgbuf[7], 0x20);
}

static void given_forking_rules_when_checked_then_enforced(void)
{
	/* TRANSFER_INIT whose ticket has I=1 but no Initiator Data. */
	size_t len = load(2);
	mikey_msg_t m;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(msgbuf, len, &m), KMS_EOK);
	m.ticket.has_init = false;
	CU_ASSERT_EQUAL(mikey_msg_check(&m), KMS_EMALFORMED);
	/* REQUEST_RESP must not carry Initiator Data. */
	len = load(1);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(msgbuf, len, &m), KMS_EOK);
	m.ticket.has_init = true;
	CU_ASSERT_EQUAL(mikey_msg_check(&m), KMS_EMALFORMED);
}

static void given_names_when_asked_then_readable(void)
{
	CU_ASSERT_STRING_EQUAL(mikey_dt_name(11), "REQUEST_INIT_PSK");
	CU_ASSERT_STRING_EQUAL(mikey_dt_name(18), "RESOLVE_RESP");
	CU_ASSERT_STRING_EQUAL(mikey_dt_name(200), "UNKNOWN");
	CU_ASSERT_STRING_EQUAL(mikey_pt_name(17), "TICKET");
	CU_ASSERT_STRING_EQUAL(mikey_pt_name(18), "UNKNOWN");
	CU_ASSERT_STRING_EQUAL(mikey_pt_name(21), "GENEXT");
}

/* The first building error sticks: later adds and the build return it. */
static void given_failed_add_when_building_then_error_sticks_until_init(void)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	uint8_t buf[MIKEY_MSG_MAX], rnd[16] = { 0 };
	size_t len = 0;
	mikey_msg_init(m, MIKEY_DT_REQUEST_INIT_PSK, 1, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, 1), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, 0x77), KMS_EHA); /* unknown Auth alg */
	CU_ASSERT_EQUAL(mikey_msg_add_rand(m, MIKEY_RAND_I, rnd, 16), KMS_EHA);
	CU_ASSERT_EQUAL(m->n, 1); /* nothing added after the failure */
	CU_ASSERT_EQUAL(mikey_msg_build(m, buf, sizeof(buf), &len), KMS_EHA);
	/* Too many payloads: ELIMIT, once and for all. */
	mikey_msg_init(m, MIKEY_DT_ERROR, 1, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(m->build_err, KMS_EOK);
	int ret = KMS_EOK;
	for (size_t i = 0; i <= MIKEY_PAYLOADS_MAX && ret == KMS_EOK; i++) {
		ret = mikey_msg_add_err(m, 0);
	}
	CU_ASSERT_EQUAL(ret, KMS_ELIMIT);
	CU_ASSERT_EQUAL(mikey_msg_add_err(m, 0), KMS_ELIMIT);
	CU_ASSERT_EQUAL(mikey_msg_build(m, buf, sizeof(buf), &len), KMS_ELIMIT);
	/* A new message starts clean. */
	mikey_msg_init(m, MIKEY_DT_ERROR, 1, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, 1), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_err(m, 3), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_build(m, buf, sizeof(buf), &len), KMS_EOK);
	free(m);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_golden_messages_when_parsed_then_valid_and_rebuilt_identically),
		UNIT_TEST(
		    given_transfer_resp_with_randrr_and_kemac_when_parsed_then_found),
		UNIT_TEST(given_request_init_when_parsed_then_fields_found),
		UNIT_TEST(given_forking_ticket_when_parsed_then_initiator_data_split),
		UNIT_TEST(given_every_truncation_when_parsed_then_refused),
		UNIT_TEST(given_every_bit_flip_when_parsed_then_no_crash),
		UNIT_TEST(given_bad_enum_values_when_parsed_then_precise_errors),
		UNIT_TEST(given_overlong_length_fields_when_parsed_then_refused),
		UNIT_TEST(given_composition_errors_when_built_then_refused),
		UNIT_TEST(given_too_many_payloads_when_parsed_then_elimit),
		UNIT_TEST(given_too_many_responders_when_parsed_then_elimit),
		UNIT_TEST(given_ticket_policy_out_of_order_when_parsed_then_etppar),
		UNIT_TEST(given_ticket_flags_when_round_trip_then_every_bit_kept),
		UNIT_TEST(given_forking_rules_when_checked_then_enforced),
		UNIT_TEST(given_names_when_asked_then_readable),
		UNIT_TEST(given_failed_add_when_building_then_error_sticks_until_init),
		UNIT_END,
	};
	return unit_run("msg", tests);
}
