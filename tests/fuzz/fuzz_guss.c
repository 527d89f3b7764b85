/*
 * libFuzzer harness for the GUSS XML (gba/guss.c): the GBA-UserSecSettings
 * a BSF sends to kmsd's NAF over Zn.
 *
 * For every input: gba_guss_parse.  When it accepts, every count is within
 * its cap and every string NUL-terminated within its field; then
 * gba_guss_build must write it (or refuse with KMS_ELIMIT: escaping may
 * grow a document past GBA_GUSS_MAX), the XML must parse back to the same
 * GUSS, and building that again must give the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "gba/guss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int terminated(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

static void check(const gba_guss_t *g)
{
	if (g->nuss == 0 || g->nuss > GBA_GUSS_USS_MAX || g->uicc_type < -1 ||
	    g->uicc_type > 1 || g->lifetime < -1 || g->lifetime > UINT32_MAX ||
	    g->timestamp < 0 || !terminated(g->id, sizeof(g->id))) {
		abort();
	}
	for (size_t i = 0; i < g->nuss; i++) {
		const gba_uss_t *u = &g->uss[i];
		if (u->nuids == 0 || u->nuids > GBA_GUSS_UIDS_MAX ||
		    u->nflags > GBA_GUSS_FLAGS_MAX || !terminated(u->id, sizeof(u->id)) ||
		    !terminated(u->naf_group, sizeof(u->naf_group))) {
			abort();
		}
		for (size_t k = 0; k < u->nuids; k++) {
			size_t n = strnlen(u->uids[k], GBA_GUSS_UID_MAX + 1);
			if (n == 0 || n > GBA_GUSS_UID_MAX) {
				abort();
			}
		}
	}
}

static int same(const gba_guss_t *a, const gba_guss_t *b)
{
	if (a->uicc_type != b->uicc_type || a->lifetime != b->lifetime ||
	    a->timestamp != b->timestamp || a->nuss != b->nuss || strcmp(a->id, b->id)) {
		return 0;
	}
	for (size_t i = 0; i < a->nuss; i++) {
		const gba_uss_t *x = &a->uss[i], *y = &b->uss[i];
		if (strcmp(x->id, y->id) || x->type != y->type ||
		    strcmp(x->naf_group, y->naf_group) || x->nuids != y->nuids ||
		    x->nflags != y->nflags ||
		    memcmp(x->flags, y->flags, x->nflags * sizeof(x->flags[0]))) {
			return 0;
		}
		for (size_t k = 0; k < x->nuids; k++) {
			if (strcmp(x->uids[k], y->uids[k])) {
				return 0;
			}
		}
	}
	return 1;
}

static void round_trip(const gba_guss_t *g)
{
	char *xml = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	int ret = gba_guss_build(g, &xml, &len);
	if (ret == KMS_ELIMIT) {
		return;
	}
	gba_guss_t back;
	if (ret != KMS_EOK || gba_guss_parse(xml, len, &back) != KMS_EOK ||
	    !same(g, &back) || gba_guss_build(&back, &again, &len2) != KMS_EOK ||
	    len != len2 || memcmp(xml, again, len) != 0) {
		abort();
	}
	gba_guss_clear(&back);
	free(xml);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gba_guss_t g;
	if (gba_guss_parse((const char *)data, size, &g) == KMS_EOK) {
		check(&g);
		round_trip(&g);
	} else if (g.nuss != 0) {
		abort(); /* an error leaves *out empty */
	}
	gba_guss_clear(&g);
	return 0;
}
