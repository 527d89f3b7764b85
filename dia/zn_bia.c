/*
 * The decoded BIA's life cycle (dia/zn.h), the same with or without
 * freeDiameter: tests and callers clear a BIA whatever the build.
 */
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "dia/zn.h"

void dia_zn_bia_init(dia_zn_bia_t *bia)
{
	memset(bia, 0, sizeof(*bia));
	bia->key_expiry = -1;
	bia->created = -1;
	bia->gba_type = -1;
}

void dia_zn_bia_clear(dia_zn_bia_t *bia)
{
	if (bia == NULL) {
		return;
	}
	free(bia->guss);
	secmem_wipe(bia, sizeof(*bia)); /* the keys */
	dia_zn_bia_init(bia);
}
