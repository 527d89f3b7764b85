/*
 * GBA User Security Settings (GUSS): the XML of the GBA-UserSecSettings
 * AVP, parsed with expat and built by hand.
 *
 * Source of the layout: TS 29.109 Annex A ("GBA-UserSecSettings XML
 * definition"), read through public copies of the Release 9+ text
 * (itecspec.com's TS 29.109 Rel-17 Annex A: targetNamespace
 * urn:3gpp:gba:GBAGUSSSchema-R9:2010-02) and a vendor's GUSS example of that
 * schema (Metaswitch Sentinel GAA docs: guss@id, bsfInfo/lifeTime in
 * seconds, Extension/timestamp, ussList/uss@id,type,nafGroup, uids/uid,
 * flags/flag).  The full schema text was not available here; where the
 * copies are silent we take the lenient reading and say so below.
 *
 *   guss            root; namespace urn:3gpp:gba:GBAGUSSSchema-R9:2010-02
 *                   or the pre-Release 9 uri:3gpp-gba (both accepted; the
 *                   builder writes the first).  @id (the IMPI): accepted,
 *                   may be absent.
 *     bsfInfo       optional, at most once
 *       uiccType    optional: "GBA" or "GBA_U" (else refused)
 *       lifeTime    optional: xs:integer, the key lifetime in *seconds*
 *                   (not a dateTime: the schema, not the header's sketch)
 *     ussList       required, at most once, 1..GBA_GUSS_USS_MAX uss
 *       uss         @id required (<= GBA_GUSS_NAME_MAX bytes), @type
 *                   required (GAA service type, decimal uint32), @nafGroup
 *                   optional (<= GBA_GUSS_NAME_MAX bytes)
 *         uids      required, at most once: 1..GBA_GUSS_UIDS_MAX uid
 *           uid     xs:anyURI, whitespace collapsed, 1..GBA_GUSS_UID_MAX
 *                   bytes
 *         flags     optional, at most once: 0..GBA_GUSS_FLAGS_MAX flag
 *           flag    xs:integer, decimal uint32 (GAA authorisation flag)
 *     extension     (or Extension) optional
 *       timestamp   optional xs:dateTime with Z or +hh:mm/-hh:mm, time of
 *                   the last GUSS change
 * Skipped with their whole subtree: elements of another namespace (the
 * schema's xs:any extension points), unknown elements of the GUSS namespace
 * (a later release's additions), and every element under an extension
 * other than timestamp.  Attributes other than the ones above are ignored
 * (xs:anyAttribute).  Refused: a DOCTYPE (so no entity is ever declared),
 * text in an element that holds elements, elements inside a value element,
 * a required part missing, a value out of range.  Order of siblings is
 * not checked (the schema's sequence order is not relied upon).
 */
#include "gba/guss.h"

#include <expat.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"

#define NS_R9 "urn:3gpp:gba:GBAGUSSSchema-R9:2010-02"
#define NS_OLD "uri:3gpp-gba"
#define NS_SEP '|'		/* never in an XML name, so the last one splits */
#define NUM_TEXT_MAX 20		/* digits of a flag or a lifeTime */
#define UICC_TEXT_MAX 8		/* "GBA_U" */
#define TIME_TEXT_MAX 64	/* a dateTime with a long fraction */
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

typedef enum {
	EL_DOC, /* outside the root */
	EL_GUSS,
	EL_BSFINFO,
	EL_UICCTYPE,
	EL_LIFETIME,
	EL_EXT,
	EL_TIMESTAMP,
	EL_USSLIST,
	EL_USS,
	EL_UIDS,
	EL_UID,
	EL_FLAGS,
	EL_FLAG,
	EL_SKIP, /* an unknown subtree */
} el_t;

/* Which child names each element knows; anything else is skipped. */
static const struct child {
	el_t parent;
	const char *name;
	el_t el;
} children[] = {
	{ EL_GUSS, "bsfInfo", EL_BSFINFO },
	{ EL_GUSS, "ussList", EL_USSLIST },
	{ EL_GUSS, "extension", EL_EXT },
	{ EL_GUSS, "Extension", EL_EXT },
	{ EL_BSFINFO, "uiccType", EL_UICCTYPE },
	{ EL_BSFINFO, "lifeTime", EL_LIFETIME },
	{ EL_EXT, "timestamp", EL_TIMESTAMP },
	{ EL_USSLIST, "uss", EL_USS },
	{ EL_USS, "uids", EL_UIDS },
	{ EL_USS, "flags", EL_FLAGS },
	{ EL_UIDS, "uid", EL_UID },
	{ EL_FLAGS, "flag", EL_FLAG },
};

/* Elements seen once at most (bit per el_t); the uss ones reset per uss. */
#define ONCE(el) (1u << (el))
#define ONCE_DOC                                                                         \
	(ONCE(EL_GUSS) | ONCE(EL_BSFINFO) | ONCE(EL_USSLIST) | ONCE(EL_UICCTYPE) |       \
	 ONCE(EL_LIFETIME) | ONCE(EL_TIMESTAMP))
#define ONCE_USS (ONCE(EL_UIDS) | ONCE(EL_FLAGS))

typedef struct {
	XML_Parser xp;
	gba_guss_t *g;
	int err;
	const char *ns; /* the root's namespace: NS_R9 or NS_OLD */
	unsigned depth;
	el_t stack[GBA_GUSS_DEPTH_MAX];
	unsigned seen; /* ONCE() bits */
	/* The value of the open value element, whitespace collapsed. */
	char text[GBA_GUSS_UID_MAX + 1];
	size_t tlen;
	size_t tcap;
	bool space; /* whitespace pending between two words */
} pstate_t;

static void fail(pstate_t *st, int err)
{
	if (st->err == KMS_EOK) {
		st->err = err;
		XML_StopParser(st->xp, XML_FALSE);
	}
}

static bool is_value(el_t el)
{
	return el == EL_UICCTYPE || el == EL_LIFETIME || el == EL_TIMESTAMP ||
	       el == EL_UID || el == EL_FLAG;
}

static bool is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Strict decimal: 1+ ASCII digits, no sign, no space, at most UINT32_MAX. */
static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (*s == '\0') {
		return KMS_EMALFORMED;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			return KMS_EMALFORMED;
		}
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX) {
			return KMS_EMALFORMED;
		}
	}
	*out = (uint32_t)v;
	return KMS_EOK;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (Howard Hinnant's
 * days_from_civil, in integers: no time_t, no locale, no TZ). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

/* n ASCII digits at *s as a number; advances *s.  -1 if not digits. */
static int digits(const char **s, unsigned n)
{
	int v = 0;
	for (unsigned i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9') {
			return -1;
		}
		v = v * 10 + (c - '0');
	}
	*s += n;
	return v;
}

/* The zone of an xs:dateTime: "Z" or [+-]hh:mm, hh <= 14, as seconds east. */
static int parse_zone(const char *s, int64_t *east)
{
	if (strcmp(s, "Z") == 0) {
		*east = 0;
		return KMS_EOK;
	}
	if ((*s != '+' && *s != '-') || strlen(s) != 6 || s[3] != ':') {
		return KMS_EMALFORMED;
	}
	int sign = *s == '-' ? -1 : 1;
	s++;
	int hh = digits(&s, 2);
	s++;
	int mm = digits(&s, 2);
	if (hh < 0 || mm < 0 || mm > 59 || hh > 14 || (hh == 14 && mm != 0)) {
		return KMS_EMALFORMED;
	}
	*east = sign * (int64_t)(hh * 3600 + mm * 60);
	return KMS_EOK;
}

/*
 * xs:dateTime to Unix seconds: YYYY-MM-DDThh:mm:ss[.f+](Z|[+-]hh:mm).  A
 * four-digit year 0001-9999, real calendar days, hour 00-23 (no 24:00:00),
 * no leap second; the fraction is dropped; a zone is required (a time
 * without one is ambiguous).  Results before 1970 or after 9999 in UTC are
 * refused, so the builder can always write the value back.
 */
static int parse_datetime(const char *s, int64_t *out)
{
	static const char seps[6] = { 0, '-', '-', 'T', ':', ':' };
	static const unsigned widths[6] = { 4, 2, 2, 2, 2, 2 };
	int v[6];
	for (size_t i = 0; i < 6; i++) {
		/* Stop at the first mismatch: never step over the NUL. */
		if ((seps[i] != 0 && *s++ != seps[i]) ||
		    (v[i] = digits(&s, widths[i])) < 0) {
			return KMS_EMALFORMED;
		}
	}
	int y = v[0], mo = v[1], d = v[2], h = v[3], mi = v[4], se = v[5];
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 ||
	    (unsigned)d > days_in_month((unsigned)y, (unsigned)mo)) {
		return KMS_EMALFORMED;
	}
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9') {
			return KMS_EMALFORMED;
		}
		while (*s >= '0' && *s <= '9') {
			s++;
		}
	}
	int64_t east;
	if (parse_zone(s, &east) != KMS_EOK) {
		return KMS_EMALFORMED;
	}
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
		    mi * 60 + se - east;
	if (t <= 0 || t > TIME_MAX) {
		return KMS_EMALFORMED;
	}
	*out = t;
	return KMS_EOK;
}

/* Copy an attribute value into a fixed field; KMS_ELIMIT over cap. */
static int copy_attr(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);
	if (n > cap) {
		return KMS_ELIMIT;
	}
	memcpy(dst, v, n + 1);
	return KMS_EOK;
}

/* A local (unprefixed) attribute's value, or NULL. */
static const char *attr(const XML_Char **atts, const char *name)
{
	for (size_t i = 0; atts[i] != NULL; i += 2) {
		if (strcmp(atts[i], name) == 0) {
			return atts[i + 1];
		}
	}
	return NULL;
}

static int enter_uss(pstate_t *st, const XML_Char **atts)
{
	gba_guss_t *g = st->g;
	if (g->nuss == GBA_GUSS_USS_MAX) {
		return KMS_ELIMIT;
	}
	gba_uss_t *u = &g->uss[g->nuss++];
	const char *id = attr(atts, "id");
	const char *type = attr(atts, "type");
	const char *grp = attr(atts, "nafGroup");
	if (id == NULL || type == NULL) {
		return KMS_EMALFORMED;
	}
	int ret = copy_attr(u->id, GBA_GUSS_NAME_MAX, id);
	if (ret == KMS_EOK && grp != NULL) {
		ret = copy_attr(u->naf_group, GBA_GUSS_NAME_MAX, grp);
	}
	if (ret == KMS_EOK) {
		ret = parse_u32(type, &u->type);
	}
	st->seen &= ~ONCE_USS;
	return ret;
}

/* Start collecting the value of a value element, at most cap bytes. */
static void text_start(pstate_t *st, size_t cap)
{
	st->tlen = 0;
	st->tcap = cap;
	st->space = false;
	st->text[0] = '\0';
}

static int enter(pstate_t *st, el_t el, const XML_Char **atts)
{
	gba_guss_t *g = st->g;
	gba_uss_t *u = g->nuss ? &g->uss[g->nuss - 1] : NULL;
	switch (el) {
	case EL_GUSS: {
		const char *id = attr(atts, "id");
		return id ? copy_attr(g->id, GBA_GUSS_UID_MAX, id) : KMS_EOK;
	}
	case EL_USS:
		return enter_uss(st, atts);
	case EL_UID:
		text_start(st, GBA_GUSS_UID_MAX);
		return u->nuids == GBA_GUSS_UIDS_MAX ? KMS_ELIMIT : KMS_EOK;
	case EL_FLAG:
		text_start(st, NUM_TEXT_MAX);
		return u->nflags == GBA_GUSS_FLAGS_MAX ? KMS_ELIMIT : KMS_EOK;
	case EL_LIFETIME:
		text_start(st, NUM_TEXT_MAX);
		return KMS_EOK;
	case EL_UICCTYPE:
		text_start(st, UICC_TEXT_MAX);
		return KMS_EOK;
	case EL_TIMESTAMP:
		text_start(st, TIME_TEXT_MAX);
		return KMS_EOK;
	default:
		return KMS_EOK;
	}
}

/* What a start tag opens under parent, or -1 (then st->err is set). */
static int classify(pstate_t *st, el_t parent, const char *name)
{
	if (parent == EL_SKIP) {
		return EL_SKIP;
	}
	if (is_value(parent)) {
		return KMS_EMALFORMED; /* a simple type holds no elements */
	}
	const char *sep = strrchr(name, NS_SEP);
	size_t nslen = sep ? (size_t)(sep - name) : 0;
	const char *local = sep ? sep + 1 : name;
	if (parent == EL_DOC) {
		if (sep == NULL || strcmp(local, "guss") != 0) {
			return KMS_EMALFORMED;
		}
		if (nslen == strlen(NS_R9) && memcmp(name, NS_R9, nslen) == 0) {
			st->ns = NS_R9;
		} else if (nslen == strlen(NS_OLD) && memcmp(name, NS_OLD, nslen) == 0) {
			st->ns = NS_OLD;
		} else {
			return KMS_EMALFORMED;
		}
		return EL_GUSS;
	}
	if (sep == NULL || nslen != strlen(st->ns) || memcmp(name, st->ns, nslen) != 0) {
		return EL_SKIP; /* another namespace: an extension point */
	}
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
		if (children[i].parent == parent &&
		    strcmp(children[i].name, local) == 0) {
			return children[i].el;
		}
	}
	return EL_SKIP;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	pstate_t *st = ud;
	if (st->err != KMS_EOK) {
		return;
	}
	if (st->depth == GBA_GUSS_DEPTH_MAX) {
		fail(st, KMS_ELIMIT);
		return;
	}
	el_t parent = st->depth ? st->stack[st->depth - 1] : EL_DOC;
	int el = classify(st, parent, name);
	if (el < 0) {
		fail(st, el);
		return;
	}
	unsigned bit = ONCE((el_t)el) & (ONCE_DOC | ONCE_USS);
	if (bit != 0 && (st->seen & bit) != 0) {
		fail(st, KMS_EMALFORMED);
		return;
	}
	st->seen |= bit;
	st->stack[st->depth++] = (el_t)el;
	int ret = enter(st, (el_t)el, atts);
	if (ret != KMS_EOK) {
		fail(st, ret);
	}
}

static int leave_value(pstate_t *st, el_t el)
{
	gba_guss_t *g = st->g;
	gba_uss_t *u = g->nuss ? &g->uss[g->nuss - 1] : NULL;
	st->text[st->tlen] = '\0';
	switch (el) {
	case EL_UID:
		if (st->tlen == 0) {
			return KMS_EMALFORMED;
		}
		u->uids[u->nuids] = strdup(st->text);
		if (u->uids[u->nuids] == NULL) {
			return KMS_ENOMEM;
		}
		u->nuids++;
		return KMS_EOK;
	case EL_FLAG:
		return parse_u32(st->text, &u->flags[u->nflags++]);
	case EL_LIFETIME: {
		uint32_t v;
		int ret = parse_u32(st->text, &v);
		if (ret == KMS_EOK) {
			g->lifetime = v;
		}
		return ret;
	}
	case EL_UICCTYPE:
		g->uicc_type = strcmp(st->text, "GBA") == 0	? 0
			       : strcmp(st->text, "GBA_U") == 0 ? 1
								: -2;
		return g->uicc_type >= 0 ? KMS_EOK : KMS_EMALFORMED;
	case EL_TIMESTAMP:
		return parse_datetime(st->text, &g->timestamp);
	default:
		return KMS_EOK;
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	(void)name;
	pstate_t *st = ud;
	if (st->err != KMS_EOK || st->depth == 0) {
		return;
	}
	el_t el = st->stack[--st->depth];
	int ret = KMS_EOK;
	const gba_guss_t *g = st->g;
	if (is_value(el)) {
		ret = leave_value(st, el);
	} else if (el == EL_USS && g->uss[g->nuss - 1].nuids == 0) {
		ret = KMS_EMALFORMED; /* uids with at least one uid is required */
	} else if (el == EL_USSLIST && g->nuss == 0) {
		ret = KMS_EMALFORMED;
	} else if (el == EL_GUSS && !(st->seen & ONCE(EL_USSLIST))) {
		ret = KMS_EMALFORMED;
	}
	if (ret != KMS_EOK) {
		fail(st, ret);
	}
}

/* Character data arrives in pieces: collapse whitespace (xs:anyURI and
 * xs:integer are whiteSpace=collapse) and cap the value as it grows. */
static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	pstate_t *st = ud;
	if (st->err != KMS_EOK || st->depth == 0) {
		return;
	}
	el_t el = st->stack[st->depth - 1];
	if (el == EL_SKIP) {
		return;
	}
	for (int i = 0; i < len; i++) {
		if (is_xml_space(s[i])) {
			st->space = st->tlen > 0;
			continue;
		}
		if (!is_value(el)) {
			fail(st, KMS_EMALFORMED); /* no mixed content */
			return;
		}
		if (st->tlen + (st->space ? 2 : 1) > st->tcap) {
			fail(st, KMS_ELIMIT);
			return;
		}
		if (st->space) {
			st->text[st->tlen++] = ' ';
			st->space = false;
		}
		st->text[st->tlen++] = s[i];
	}
}

/* A DOCTYPE could declare entities (billion laughs, external files):
 * a GUSS never has one. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, KMS_EMALFORMED);
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
			      const XML_Char *value, int value_len, const XML_Char *base,
			      const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, KMS_EMALFORMED);
}

static void guss_empty(gba_guss_t *g)
{
	memset(g, 0, sizeof(*g));
	g->uicc_type = -1;
	g->lifetime = -1;
}

void gba_guss_clear(gba_guss_t *g)
{
	if (g == NULL) {
		return;
	}
	size_t nuss = g->nuss < GBA_GUSS_USS_MAX ? g->nuss : GBA_GUSS_USS_MAX;
	for (size_t i = 0; i < nuss; i++) {
		gba_uss_t *u = &g->uss[i];
		size_t n = u->nuids < GBA_GUSS_UIDS_MAX ? u->nuids : GBA_GUSS_UIDS_MAX;
		for (size_t k = 0; k < n; k++) {
			free(u->uids[k]);
		}
	}
	guss_empty(g);
}

int gba_guss_parse(const char *xml, size_t len, gba_guss_t *out)
{
	if (out == NULL) {
		return KMS_EINVAL;
	}
	guss_empty(out);
	if (len > GBA_GUSS_MAX) {
		return KMS_ELIMIT;
	}
	if (xml == NULL || len == 0) {
		return KMS_EMALFORMED;
	}
	pstate_t *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		return KMS_ENOMEM;
	}
	st->g = out;
	st->xp = XML_ParserCreateNS(NULL, NS_SEP);
	if (st->xp == NULL) {
		free(st);
		return KMS_ENOMEM;
	}
	XML_SetUserData(st->xp, st);
	XML_SetElementHandler(st->xp, on_start, on_end);
	XML_SetCharacterDataHandler(st->xp, on_text);
	XML_SetStartDoctypeDeclHandler(st->xp, on_doctype);
	XML_SetEntityDeclHandler(st->xp, on_entity);
	XML_SetParamEntityParsing(st->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	int ret = KMS_EOK;
	if (XML_Parse(st->xp, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		ret = st->err != KMS_EOK				? st->err
		      : XML_GetErrorCode(st->xp) == XML_ERROR_NO_MEMORY ? KMS_ENOMEM
									: KMS_EMALFORMED;
	} else if (st->err != KMS_EOK) {
		ret = st->err;
	}
	XML_ParserFree(st->xp);
	free(st);
	if (ret != KMS_EOK) {
		gba_guss_clear(out);
	}
	return ret;
}

/* ---- builder -------------------------------------------------------- */

/* A growing buffer whose first error sticks; checked once at the end. */
typedef struct {
	char *buf;
	size_t len;
	size_t cap;
	int err;
} sbuf_t;

static void put(sbuf_t *b, const char *s, size_t n)
{
	if (b->err != KMS_EOK) {
		return;
	}
	if (b->len + n + 1 > GBA_GUSS_MAX + 1) {
		b->err = KMS_ELIMIT; /* the parser would refuse it */
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		char *nb = realloc(b->buf, cap);
		if (nb == NULL) {
			b->err = KMS_ENOMEM;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void puts_(sbuf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes) if it
 * is an XML Char (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
 * [#x10000-#x10FFFF]); 0 otherwise. */
static size_t xml_char_len(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t k;
	if (s[0] < 0x80) {
		return s[0] >= 0x20 || s[0] == 0x9 || s[0] == 0xA || s[0] == 0xD;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		c = s[0] & 0x1F, k = 2;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		c = s[0] & 0x0F, k = 3;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		c = s[0] & 0x07, k = 4;
	} else {
		return 0;
	}
	if (n < k) {
		return 0;
	}
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	bool shortest = (k == 3 && c >= 0x800) || (k == 4 && c >= 0x10000) || k == 2;
	bool is_char = c <= 0xD7FF || (c >= 0xE000 && c <= 0xFFFD) ||
		       (c >= 0x10000 && c <= 0x10FFFF);
	return shortest && is_char ? k : 0;
}

/* s escaped for text or a quoted attribute; tab, LF and CR as character
 * references so that attribute normalisation leaves them as they are.
 * Bytes that are not XML characters make the GUSS unbuildable. */
static void put_escaped(sbuf_t *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = xml_char_len(p + i, n - i);
		const char *rep = NULL;
		switch (k == 1 ? p[i] : 0) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		case '\t':
			rep = "&#9;";
			break;
		case '\n':
			rep = "&#10;";
			break;
		case '\r':
			rep = "&#13;";
			break;
		}
		if (k == 0) {
			b->err = b->err ? b->err : KMS_EINVAL;
			return;
		}
		if (rep != NULL) {
			puts_(b, rep);
		} else {
			put(b, s + i, k);
		}
		i += k;
	}
}

/* A uid is written as the parser returns it: non-empty, whitespace
 * already collapsed, at most GBA_GUSS_UID_MAX bytes. */
static bool uid_ok(const char *s)
{
	size_t n = s ? strnlen(s, GBA_GUSS_UID_MAX + 1) : 0;
	if (n == 0 || n > GBA_GUSS_UID_MAX || s[0] == ' ' || s[n - 1] == ' ') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
		    (s[i] == ' ' && s[i + 1] == ' ')) {
			return false;
		}
	}
	return true;
}

static bool uss_ok(const gba_uss_t *u)
{
	if (u->nuids == 0 || u->nuids > GBA_GUSS_UIDS_MAX ||
	    u->nflags > GBA_GUSS_FLAGS_MAX ||
	    strnlen(u->id, sizeof(u->id)) == sizeof(u->id) ||
	    strnlen(u->naf_group, sizeof(u->naf_group)) == sizeof(u->naf_group)) {
		return false;
	}
	for (size_t i = 0; i < u->nuids; i++) {
		if (!uid_ok(u->uids[i])) {
			return false;
		}
	}
	return true;
}

static bool guss_ok(const gba_guss_t *g)
{
	if (g->nuss == 0 || g->nuss > GBA_GUSS_USS_MAX || g->uicc_type < -1 ||
	    g->uicc_type > 1 || g->lifetime < -1 || g->lifetime > UINT32_MAX ||
	    g->timestamp < 0 || g->timestamp > TIME_MAX ||
	    strnlen(g->id, sizeof(g->id)) == sizeof(g->id)) {
		return false;
	}
	for (size_t i = 0; i < g->nuss; i++) {
		if (!uss_ok(&g->uss[i])) {
			return false;
		}
	}
	return true;
}

static void put_uss(sbuf_t *b, const gba_uss_t *u)
{
	char num[48]; /* "<flag>4294967295</flag>" */
	puts_(b, "<uss id=\"");
	put_escaped(b, u->id);
	snprintf(num, sizeof(num), "%" PRIu32, u->type);
	puts_(b, "\" type=\"");
	puts_(b, num);
	if (u->naf_group[0] != '\0') {
		puts_(b, "\" nafGroup=\"");
		put_escaped(b, u->naf_group);
	}
	puts_(b, "\"><uids>");
	for (size_t i = 0; i < u->nuids; i++) {
		puts_(b, "<uid>");
		put_escaped(b, u->uids[i]);
		puts_(b, "</uid>");
	}
	puts_(b, "</uids>");
	if (u->nflags > 0) {
		puts_(b, "<flags>");
		for (size_t i = 0; i < u->nflags; i++) {
			snprintf(num, sizeof(num), "<flag>%" PRIu32 "</flag>",
				 u->flags[i]);
			puts_(b, num);
		}
		puts_(b, "</flags>");
	}
	puts_(b, "</uss>");
}

static void put_bsfinfo(sbuf_t *b, const gba_guss_t *g)
{
	char num[48];
	if (g->uicc_type < 0 && g->lifetime < 0) {
		return;
	}
	puts_(b, "<bsfInfo>");
	if (g->uicc_type >= 0) {
		puts_(b, g->uicc_type == 1 ? "<uiccType>GBA_U</uiccType>"
					   : "<uiccType>GBA</uiccType>");
	}
	if (g->lifetime >= 0) {
		snprintf(num, sizeof(num), "<lifeTime>%" PRId64 "</lifeTime>",
			 g->lifetime);
		puts_(b, num);
	}
	puts_(b, "</bsfInfo>");
}

static void put_extension(sbuf_t *b, const gba_guss_t *g)
{
	char ts[96];
	int y;
	unsigned mo, d;
	if (g->timestamp == 0) {
		return;
	}
	civil_from_days(g->timestamp / 86400, &y, &mo, &d);
	unsigned sod = (unsigned)(g->timestamp % 86400);
	snprintf(ts, sizeof(ts),
		 "<extension><timestamp>%04d-%02u-%02uT%02u:%02u:%02uZ</timestamp>"
		 "</extension>",
		 y, mo, d, sod / 3600, sod / 60 % 60, sod % 60);
	puts_(b, ts);
}

int gba_guss_build(const gba_guss_t *g, char **out, size_t *len)
{
	if (g == NULL || out == NULL || len == NULL || !guss_ok(g)) {
		return KMS_EINVAL;
	}
	sbuf_t b = { 0 };
	puts_(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<guss xmlns=\"" NS_R9
		  "\" id=\"");
	put_escaped(&b, g->id);
	puts_(&b, "\">");
	put_bsfinfo(&b, g);
	puts_(&b, "<ussList>");
	for (size_t i = 0; i < g->nuss; i++) {
		put_uss(&b, &g->uss[i]);
	}
	puts_(&b, "</ussList>");
	put_extension(&b, g);
	puts_(&b, "</guss>\n");
	if (b.err != KMS_EOK) {
		free(b.buf);
		return b.err;
	}
	*out = b.buf;
	*len = b.len;
	return KMS_EOK;
}
