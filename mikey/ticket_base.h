/*
 * The format of the MIKEY base ticket (RFC 6043 Appendix A, Ticket Type 1;
 * the 3GPP base ticket, Type 2, is the same format), under a ticket
 * protection key (TPK) the caller supplies.  See docs/ticket-format.md.
 *
 * Ticket Data = THDR, T, RAND, KEMAC, IDRpsk, V.  The KEMAC holds the MPK
 * and the TGK, encrypted under keys from the TPK and RAND (label 0x05); V
 * is a MAC with a key from the TPK over the TICKET payload (policy in
 * clear, Ticket Data up to V's Auth alg).  IDRpsk names the TPK with a
 * 4-byte id.  The KMS (kms/ticket_base.h, TPK from its keyring) and an
 * Initiator that builds its own ticket (mode 3, flag D = 0, with a TPK
 * provisioned by kmsctl tpk) share this code.  No I/O, no globals.
 */
#ifndef KMS_MIKEY_TICKET_BASE_H
#define KMS_MIKEY_TICKET_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"
#include "mikey/prf.h"

#define MIKEY_TPK_LEN 32	    /* bytes of a ticket protection key */
#define MIKEY_TB_RAND_LEN 32	    /* RFC 6043 12.1: >= the TPK and MPK */
#define MIKEY_TB_THDR_MAX 64	    /* THDR Data accepted on open */
#define MIKEY_TB_CSB_ID 0xFFFFFFFFu /* CSB ID of the KEMAC IV */
#define MIKEY_TB_SPI_LEN 4	    /* bytes of every SPI generated */

/* The algorithms of a ticket policy's PRF (RFC 6043 12.1 sets). */
typedef struct {
	size_t key_len;	  /* MPK, TGK */
	uint8_t encr_alg; /* KEMAC: AES-CM-128 or AES-CM-256 */
	uint8_t mac_alg;  /* V: HMAC-SHA-1-160 or HMAC-SHA-256-256 */
} mikey_tb_suite_t;

/*
 * Scratch for one build or open, owned by the caller, who wipes it
 * (secmem_wipe) when done with the keys that point into it.  After a
 * build, key[0..3] hold MPKi, MPKr, TGK and the MPK; after an open,
 * key[0..1] hold MPKi and MPKr and plain the decrypted KEMAC.  prf_cache,
 * when not NULL, is the caller's PRF key cache (mikey/prf.h).
 */
typedef struct {
	uint8_t key[4][MIKEY_KEY_MAX];
	uint8_t spi[4][MIKEY_TB_SPI_LEN];
	uint8_t plain[MIKEY_TICKET_DATA_MAX];
	mikey_prf_cache_t *prf_cache; /* not owned; wiped by its owner */
} mikey_tb_scratch_t;

/* A parsed base ticket's Ticket Data (pointers into it). */
typedef struct {
	mikey_ts_t t;
	mikey_rand_t rand;
	mikey_kemac_t kemac;
	mikey_id_t psk;
	mikey_v_t v;
	uint32_t tpk_id; /* the ID Data of IDRpsk */
	size_t covered;	 /* bytes up to and including V's Auth alg */
} mikey_tb_t;

/* The suite of PRF MIKEY-1 (0) or PRF-HMAC-SHA-256 (1); KMS_EPRF otherwise. */
int mikey_tb_suite(uint8_t prf, mikey_tb_suite_t *out);

/*
 * The associated data of a ticket: the TICKET payload from its Ticket Type
 * field to the end of TP Data, as policy encodes it on the wire (into buf).
 */
int mikey_tb_aad_build(const mikey_tp_t *policy, uint8_t *buf, size_t cap,
		       mikey_bytes_t *aad);

/*
 * Build the Ticket Data of a base ticket of policy->prf under tpk (named
 * tpk_id in IDRpsk): fresh MPK, TGK, SPIs and RAND, T = now.  aad as from
 * mikey_tb_aad_build().  keys gets MPKi, MPKr (with the MPK's SPI) and the
 * TGK, pointing into s.  Validity (TRs/TRe) is not looked at here.
 * Out-parameters on success only.
 */
int mikey_tb_build(const uint8_t tpk[MIKEY_TPK_LEN], uint32_t tpk_id,
		   const mikey_tp_t *policy, const mikey_bytes_t *aad, int64_t now,
		   mikey_tb_scratch_t *s, mikey_keys_t *keys, uint8_t *out, size_t cap,
		   size_t *len);

/*
 * Parse Ticket Data strictly as mikey_tb_build() writes it for policy's
 * PRF (bounded: THDR Data, RAND, IDRpsk of 4 bytes); KMS_ETICKET for any
 * other layout.  The caller then finds the TPK that out->tpk_id names.
 */
int mikey_tb_parse(const mikey_bytes_t *data, uint8_t prf, mikey_tb_t *out);

/*
 * Verify V of a parsed ticket under tpk (constant time) and only then
 * decrypt the KEMAC: keys = MPKi, MPKr, TGK..., pointing into s.
 * KMS_ETICKET for a MAC that does not verify or a key chain not as built.
 * keys on success only; s's keys are wiped on failure.
 */
int mikey_tb_open(const uint8_t tpk[MIKEY_TPK_LEN], uint8_t prf, const mikey_bytes_t *aad,
		  const mikey_bytes_t *data, const mikey_tb_t *b, mikey_tb_scratch_t *s,
		  mikey_keys_t *keys);

#endif
