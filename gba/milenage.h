/*
 * MILENAGE (3GPP TS 35.205/35.206): f1, f1*, f2, f3, f4, f5, f5* over AES-128,
 * and the AKA vectors a BSF and a USIM need.
 */
#ifndef KMS_GBA_MILENAGE_H
#define KMS_GBA_MILENAGE_H

#include <stdint.h>

#define MILENAGE_SQN_LEN 6
#define MILENAGE_AMF_LEN 2
#define MILENAGE_AUTN_LEN 16
#define MILENAGE_AUTS_LEN 14

/* OPc = AES_K(OP) XOR OP. */
int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);

/* f1 (MAC-A) and f1* (MAC-S); either output may be NULL. */
int milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		const uint8_t sqn[MILENAGE_SQN_LEN], const uint8_t amf[MILENAGE_AMF_LEN],
		uint8_t mac_a[8], uint8_t mac_s[8]);

/* f2 (RES), f3 (CK), f4 (IK), f5 (AK), f5* (AK*); any output may be NULL. */
int milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		   uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
		   uint8_t akstar[6]);

/* AUTN = (SQN XOR AK) || AMF || MAC-A (network side). */
int milenage_autn(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		  const uint8_t sqn[MILENAGE_SQN_LEN],
		  const uint8_t amf[MILENAGE_AMF_LEN], uint8_t autn[MILENAGE_AUTN_LEN]);

/*
 * USIM side: check AUTN (MAC-A, constant time) and recover SQN.
 * KMS_EOK with res/ck/ik filled; KMS_EMAC when MAC-A fails.  The caller
 * checks SQN freshness and builds AUTS with milenage_auts() when stale.
 */
int milenage_check_autn(const uint8_t k[16], const uint8_t opc[16],
			const uint8_t rand[16], const uint8_t autn[MILENAGE_AUTN_LEN],
			uint8_t sqn[MILENAGE_SQN_LEN], uint8_t res[8], uint8_t ck[16],
			uint8_t ik[16]);

/* AUTS = (SQN_MS XOR AK*) || MAC-S, with AMF 0x0000 in f1* (TS 33.102 6.3.3). */
int milenage_auts(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		  const uint8_t sqn_ms[MILENAGE_SQN_LEN],
		  uint8_t auts[MILENAGE_AUTS_LEN]);

/* Network side of resync: check MAC-S of AUTS and recover SQN_MS (KMS_EMAC if bad). */
int milenage_resync(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		    const uint8_t auts[MILENAGE_AUTS_LEN],
		    uint8_t sqn_ms[MILENAGE_SQN_LEN]);

#endif
