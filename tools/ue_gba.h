/*
 * kms-ue GBA files: the simulated USIM (K, OPc, AMF, IMPI), its SQN state,
 * and the result of a bootstrapping (B-TID, Ks_NAF, expiry) that request,
 * resolve, transfer-init and transfer-resp read with --gba FILE.
 *
 * All three are text, one "name=value" a line ('#' comments and blank
 * lines allowed, each name once, unknown names refused).  They hold
 * secrets: they are written to a new file (mode 0600) renamed over the old
 * one, and loading refuses a file that group or others may access.
 *
 *   USIM   impi=alice@ims.example.org  k=HEX32  opc=HEX32  amf=HEX4
 *   SQN    sqn=HEX12 (FILE.sqn next to the USIM file: the highest SQN the
 *          USIM accepted, SQN_MS; absent = 0)
 *   GBA    btid=B-TID  ks_naf=HEX64  expires=UNIX  impi=IMPI  naf_fqdn=FQDN
 */
#ifndef KMS_TOOLS_UE_GBA_H
#define KMS_TOOLS_UE_GBA_H

#include <stddef.h>
#include <stdint.h>

#include "gba/kdf.h"

#define UE_GBA_FILE_MAX 4096
#define UE_FQDN_MAX 255

typedef struct {
	char impi[GBA_IMPI_MAX + 1];
	uint8_t k[16];
	uint8_t opc[16];
	uint8_t amf[2];
} ue_usim_t;

typedef struct {
	char btid[GBA_BTID_MAX + 1];
	uint8_t ks_naf[GBA_KEY_LEN];
	int64_t expires; /* Unix seconds */
	char impi[GBA_IMPI_MAX + 1];
	char naf_fqdn[UE_FQDN_MAX + 1];
} ue_gba_t;

/* Each returns 0, or -1 after printing why (prefixed with ue_prog). */
int ue_usim_load(const char *path, ue_usim_t *out);
int ue_sqn_load(const char *usim_path, uint64_t *sqn_ms);
int ue_sqn_save(const char *usim_path, uint64_t sqn_ms);
int ue_gba_load(const char *path, ue_gba_t *out);
int ue_gba_save(const char *path, const ue_gba_t *g);

#endif
