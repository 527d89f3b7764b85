/*
 * The GUSS XML (gba/guss.c): documents as TS 29.109 Annex A lays them out,
 * every cap exactly at and one over, a DOCTYPE (billion laughs) refused,
 * namespaces, well-formedness, skipped extensions, xs:dateTime forms
 * (expected Unix times from python3 datetime.fromisoformat), and build
 * then parse round trips with hostile strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "gba/guss.h"
#include "tests/unit/unit.h"

#define NS "urn:3gpp:gba:GBAGUSSSchema-R9:2010-02"
#define HEAD "<guss xmlns=\"" NS "\" id=\"impi@example.org\">"
#define USS1 "<uss id=\"1\" type=\"1\"><uids><uid>sip:a@x</uid></uids></uss>"
#define MINIMAL HEAD "<ussList>" USS1 "</ussList></guss>"

/* A text buffer big enough for any test document. */
typedef struct {
	char s[4 * GBA_GUSS_MAX];
	size_t n;
} doc_t;

static void add(doc_t *d, const char *s)
{
	size_t k = strlen(s);
	if (d->n + k >= sizeof(d->s)) {
		abort();
	}
	memcpy(d->s + d->n, s, k + 1);
	d->n += k;
}

static void add_rep(doc_t *d, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++) {
		add(d, s);
	}
}

static int parse(const char *xml, gba_guss_t *g)
{
	return gba_guss_parse(xml, strlen(xml), g);
}

/* Parse and clear; the result code only. */
static int parse_rc(const char *xml)
{
	gba_guss_t g;
	int ret = parse(xml, &g);
	if (ret != KMS_EOK) {
		CU_ASSERT_EQUAL(g.nuss, 0); /* left empty on an error */
	}
	gba_guss_clear(&g);
	return ret;
}

/* A document with one USS holding body (uids and flags). */
static int parse_uss_body(const char *attrs, const char *body)
{
	doc_t d = { .n = 0 };
	add(&d, HEAD "<ussList><uss ");
	add(&d, attrs);
	add(&d, ">");
	add(&d, body);
	add(&d, "</uss></ussList></guss>");
	return parse_rc(d.s);
}

static int parse_bsfinfo(const char *inner, gba_guss_t *g)
{
	doc_t d = { .n = 0 };
	add(&d, HEAD "<bsfInfo>");
	add(&d, inner);
	add(&d, "</bsfInfo><ussList>" USS1 "</ussList></guss>");
	return parse(d.s, g);
}

static int parse_timestamp(const char *ts, int64_t *t)
{
	doc_t d = { .n = 0 };
	gba_guss_t g;
	add(&d, HEAD "<ussList>" USS1 "</ussList><extension><timestamp>");
	add(&d, ts);
	add(&d, "</timestamp></extension></guss>");
	int ret = parse(d.s, &g);
	*t = g.timestamp;
	gba_guss_clear(&g);
	return ret;
}

static int guss_eq(const gba_guss_t *a, const gba_guss_t *b)
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

/* build g, parse the XML back, compare; the build result code. */
static int round_trip(const gba_guss_t *g)
{
	char *xml = NULL;
	size_t len = 0;
	int ret = gba_guss_build(g, &xml, &len);
	if (ret != KMS_EOK) {
		return ret;
	}
	CU_ASSERT_EQUAL(strlen(xml), len);
	gba_guss_t back;
	CU_ASSERT_EQUAL(gba_guss_parse(xml, len, &back), KMS_EOK);
	CU_ASSERT_TRUE(guss_eq(g, &back));
	gba_guss_clear(&back);
	free(xml);
	return KMS_EOK;
}

static void new_guss(gba_guss_t *g)
{
	memset(g, 0, sizeof(*g));
	gba_guss_clear(g);
}

static void given_full_document_when_parsing_then_every_field_is_read(void)
{
	const char *xml =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<guss xmlns=\"" NS "\" id=\"358500004836551@home1.net\">\n"
	    "  <bsfInfo>\n    <uiccType>GBA_U</uiccType>\n"
	    "    <lifeTime>86400</lifeTime>\n  </bsfInfo>\n"
	    "  <ussList>\n"
	    "    <uss id=\"0\" type=\"0\" nafGroup=\"A\">\n"
	    "      <uids>\n        <uid>tel:+358504836551</uid>\n"
	    "        <uid>\n\t sip:user@home1.net  \n</uid>\n      </uids>\n"
	    "    </uss>\n"
	    "    <uss id=\"1\" type=\"4294967295\" nafGroup=\"B\">\n"
	    "      <uids><uid>sip:other@home1.net</uid></uids>\n"
	    "      <flags><flag>1</flag><flag> 4294967295 </flag></flags>\n"
	    "    </uss>\n"
	    "  </ussList>\n"
	    "  <extension><timestamp>2008-09-10T11:12:13Z</timestamp></extension>\n"
	    "</guss>\n";
	gba_guss_t g;
	CU_ASSERT_EQUAL_FATAL(parse(xml, &g), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(g.id, "358500004836551@home1.net");
	CU_ASSERT_EQUAL(g.uicc_type, 1);
	CU_ASSERT_EQUAL(g.lifetime, 86400);
	CU_ASSERT_EQUAL(g.timestamp, 1221045133);
	CU_ASSERT_EQUAL_FATAL(g.nuss, 2);
	CU_ASSERT_STRING_EQUAL(g.uss[0].id, "0");
	CU_ASSERT_EQUAL(g.uss[0].type, 0);
	CU_ASSERT_STRING_EQUAL(g.uss[0].naf_group, "A");
	CU_ASSERT_EQUAL_FATAL(g.uss[0].nuids, 2);
	CU_ASSERT_STRING_EQUAL(g.uss[0].uids[0], "tel:+358504836551");
	CU_ASSERT_STRING_EQUAL(g.uss[0].uids[1], "sip:user@home1.net"); /* trimmed */
	CU_ASSERT_EQUAL(g.uss[0].nflags, 0);
	CU_ASSERT_EQUAL(g.uss[1].type, 4294967295u);
	CU_ASSERT_STRING_EQUAL(g.uss[1].naf_group, "B");
	CU_ASSERT_EQUAL_FATAL(g.uss[1].nflags, 2);
	CU_ASSERT_EQUAL(g.uss[1].flags[0], 1);
	CU_ASSERT_EQUAL(g.uss[1].flags[1], 4294967295u);
	CU_ASSERT_EQUAL(round_trip(&g), KMS_EOK);
	gba_guss_clear(&g);
	CU_ASSERT_EQUAL(g.nuss, 0);
	CU_ASSERT_EQUAL(g.uicc_type, -1);
	CU_ASSERT_EQUAL(g.lifetime, -1);
	gba_guss_clear(&g); /* twice is harmless */
	gba_guss_clear(NULL);
}

static void given_minimal_document_when_parsing_then_absent_parts_are_marked(void)
{
	gba_guss_t g;
	CU_ASSERT_EQUAL_FATAL(parse("<guss xmlns='" NS "'><ussList><uss id='' type='7'>"
				    "<uids><uid>a</uid></uids></uss></ussList></guss>",
				    &g),
			      KMS_EOK);
	CU_ASSERT_STRING_EQUAL(g.id, "");
	CU_ASSERT_EQUAL(g.uicc_type, -1);
	CU_ASSERT_EQUAL(g.lifetime, -1);
	CU_ASSERT_EQUAL(g.timestamp, 0);
	CU_ASSERT_EQUAL_FATAL(g.nuss, 1);
	CU_ASSERT_STRING_EQUAL(g.uss[0].id, "");
	CU_ASSERT_STRING_EQUAL(g.uss[0].naf_group, "");
	CU_ASSERT_EQUAL(g.uss[0].type, 7);
	CU_ASSERT_EQUAL(round_trip(&g), KMS_EOK);
	gba_guss_clear(&g);
	/* A prefixed root is the same document; so is the older namespace. */
	CU_ASSERT_EQUAL(parse_rc("<g:guss xmlns:g='" NS "'><g:ussList><g:uss id='1' "
				 "type='1'><g:uids><g:uid>a</g:uid></g:uids></g:uss>"
				 "</g:ussList></g:guss>"),
			KMS_EOK);
	CU_ASSERT_EQUAL(parse_rc("<guss xmlns='uri:3gpp-gba'><ussList>" USS1 "</ussList>"
				 "</guss>"),
			KMS_EOK);
}

static void given_several_uss_with_flags_when_parsing_then_each_keeps_its_own(void)
{
	doc_t d = { .n = 0 };
	add(&d, HEAD "<ussList>");
	add(&d, "<uss id='a' type='1' nafGroup='g1'><uids><uid>sip:a@x</uid></uids>"
		"<flags><flag>1</flag><flag>2</flag></flags></uss>");
	add(&d, "<uss id='b' type='2'><flags><flag>3</flag></flags>"
		"<uids><uid>sip:b@x</uid><uid>sip:b2@x</uid></uids></uss>");
	add(&d, "<uss id='c' type='3' nafGroup='g3'><uids><uid>sip:c@x</uid></uids>"
		"<flags/></uss>");
	add(&d, "</ussList></guss>");
	gba_guss_t g;
	CU_ASSERT_EQUAL_FATAL(parse(d.s, &g), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(g.nuss, 3);
	CU_ASSERT_EQUAL(g.uss[0].nflags, 2);
	CU_ASSERT_EQUAL(g.uss[0].flags[1], 2);
	CU_ASSERT_EQUAL(g.uss[1].nflags, 1);
	CU_ASSERT_EQUAL(g.uss[1].flags[0], 3);
	CU_ASSERT_EQUAL(g.uss[1].nuids, 2);
	CU_ASSERT_STRING_EQUAL(g.uss[1].uids[1], "sip:b2@x");
	CU_ASSERT_STRING_EQUAL(g.uss[1].naf_group, "");
	CU_ASSERT_EQUAL(g.uss[2].nflags, 0);
	CU_ASSERT_STRING_EQUAL(g.uss[2].naf_group, "g3");
	CU_ASSERT_EQUAL(g.uss[2].type, 3);
	CU_ASSERT_EQUAL(round_trip(&g), KMS_EOK);
	gba_guss_clear(&g);
}

/* A document of exactly n bytes: MINIMAL, then a comment filling the rest. */
static void sized_doc(doc_t *d, size_t n)
{
	d->n = 0;
	add(d, MINIMAL "<!--");
	while (d->n + 3 < n) {
		add(d, "x");
	}
	add(d, "-->");
}

static void given_byte_and_count_caps_when_at_and_over_then_over_is_elimit(void)
{
	doc_t d;
	sized_doc(&d, GBA_GUSS_MAX);
	CU_ASSERT_EQUAL(d.n, GBA_GUSS_MAX);
	CU_ASSERT_EQUAL(parse_rc(d.s), KMS_EOK);
	sized_doc(&d, GBA_GUSS_MAX + 1);
	CU_ASSERT_EQUAL(parse_rc(d.s), KMS_ELIMIT);

	/* USS in one GUSS */
	for (size_t n = GBA_GUSS_USS_MAX; n <= GBA_GUSS_USS_MAX + 1; n++) {
		d.n = 0;
		add(&d, HEAD "<ussList>");
		add_rep(&d, USS1, n);
		add(&d, "</ussList></guss>");
		CU_ASSERT_EQUAL(parse_rc(d.s),
				n == GBA_GUSS_USS_MAX ? KMS_EOK : KMS_ELIMIT);
	}
	/* uids in one USS */
	for (size_t n = GBA_GUSS_UIDS_MAX; n <= GBA_GUSS_UIDS_MAX + 1; n++) {
		d.n = 0;
		add(&d, "<uids>");
		add_rep(&d, "<uid>sip:a@x</uid>", n);
		add(&d, "</uids>");
		CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", d.s),
				n == GBA_GUSS_UIDS_MAX ? KMS_EOK : KMS_ELIMIT);
	}
	/* flags in one USS */
	for (size_t n = GBA_GUSS_FLAGS_MAX; n <= GBA_GUSS_FLAGS_MAX + 1; n++) {
		d.n = 0;
		add(&d, "<uids><uid>a</uid></uids><flags>");
		add_rep(&d, "<flag>1</flag>", n);
		add(&d, "</flags>");
		CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", d.s),
				n == GBA_GUSS_FLAGS_MAX ? KMS_EOK : KMS_ELIMIT);
	}
}

/* A uid of n bytes; pad: whitespace around it (not counted). */
static int parse_uid_len(size_t n, int pad)
{
	doc_t d = { .n = 0 };
	add(&d, "<uids><uid>");
	if (pad) {
		add_rep(&d, " \n\t", 100);
	}
	add(&d, "sip:");
	add_rep(&d, "u", n - 6);
	add(&d, "@x");
	if (pad) {
		add_rep(&d, "\r\n ", 100);
	}
	add(&d, "</uid></uids>");
	return parse_uss_body("id='1' type='1'", d.s);
}

/* An attribute value of n bytes ("&amp;" counts as one) between before
 * and after. */
static int parse_attr_len(const char *before, size_t n, const char *after)
{
	doc_t a = { .n = 0 };
	add(&a, before);
	add_rep(&a, "&amp;", n / 2);
	add_rep(&a, "n", n - n / 2);
	add(&a, after);
	return parse_uss_body(a.s, "<uids><uid>a</uid></uids>");
}

static void given_length_caps_when_at_and_over_then_over_is_elimit(void)
{
	CU_ASSERT_EQUAL(parse_uid_len(GBA_GUSS_UID_MAX, 0), KMS_EOK);
	CU_ASSERT_EQUAL(parse_uid_len(GBA_GUSS_UID_MAX + 1, 0), KMS_ELIMIT);
	/* Whitespace around a uid is trimmed before the cap applies. */
	CU_ASSERT_EQUAL(parse_uid_len(GBA_GUSS_UID_MAX, 1), KMS_EOK);
	CU_ASSERT_EQUAL(parse_uid_len(GBA_GUSS_UID_MAX + 1, 1), KMS_ELIMIT);
	CU_ASSERT_EQUAL(parse_attr_len("id='", GBA_GUSS_NAME_MAX, "' type='1'"), KMS_EOK);
	CU_ASSERT_EQUAL(parse_attr_len("id='", GBA_GUSS_NAME_MAX + 1, "' type='1'"),
			KMS_ELIMIT);
	CU_ASSERT_EQUAL(
	    parse_attr_len("id='1' type='1' nafGroup='", GBA_GUSS_NAME_MAX, "'"),
	    KMS_EOK);
	CU_ASSERT_EQUAL(
	    parse_attr_len("id='1' type='1' nafGroup='", GBA_GUSS_NAME_MAX + 1, "'"),
	    KMS_ELIMIT);
	/* The guss id (the IMPI) */
	for (size_t n = GBA_GUSS_UID_MAX; n <= GBA_GUSS_UID_MAX + 1; n++) {
		doc_t d = { .n = 0 };
		add(&d, "<guss xmlns='" NS "' id='");
		add_rep(&d, "i", n);
		add(&d, "'><ussList>" USS1 "</ussList></guss>");
		CU_ASSERT_EQUAL(parse_rc(d.s),
				n == GBA_GUSS_UID_MAX ? KMS_EOK : KMS_ELIMIT);
	}
}

/* guss + ussList + uss + uids + uid is 5 deep; an unknown subtree under
 * the uss brings the total to depth. */
static int parse_depth(size_t depth)
{
	doc_t d = { .n = 0 };
	add_rep(&d, "<x:e xmlns:x='urn:other'>", depth - 3);
	add_rep(&d, "</x:e>", depth - 3);
	doc_t body = { .n = 0 };
	add(&body, "<uids><uid>a</uid></uids>");
	add(&body, d.s);
	return parse_uss_body("id='1' type='1'", body.s);
}

static void given_nesting_when_at_and_over_cap_then_over_is_elimit(void)
{
	CU_ASSERT_EQUAL(parse_depth(GBA_GUSS_DEPTH_MAX), KMS_EOK);
	CU_ASSERT_EQUAL(parse_depth(GBA_GUSS_DEPTH_MAX + 1), KMS_ELIMIT);
	CU_ASSERT_EQUAL(parse_depth(1000), KMS_ELIMIT);
}

static void given_doctype_when_parsing_then_refused_before_any_entity(void)
{
	/* Billion laughs: ten levels of ten references. */
	doc_t d = { .n = 0 };
	add(&d, "<?xml version=\"1.0\"?>\n<!DOCTYPE guss [\n<!ENTITY l0 \"ha\">\n");
	for (int i = 1; i < 10; i++) {
		char line[256];
		int p = i - 1;
		snprintf(line, sizeof(line),
			 "<!ENTITY l%d "
			 "\"&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;\">\n",
			 i, p, p, p, p, p, p, p, p, p, p);
		add(&d, line);
	}
	add(&d, "]>\n" HEAD "<ussList><uss id='1' type='1'><uids><uid>&l9;</uid></uids>"
		"</uss></ussList></guss>");
	CU_ASSERT_EQUAL(parse_rc(d.s), KMS_EMALFORMED);
	/* External entity (a file read) and a bare DOCTYPE: refused too. */
	CU_ASSERT_EQUAL(
	    parse_rc("<!DOCTYPE guss [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" HEAD
		     "<ussList><uss id='1' type='1'><uids><uid>&x;</uid>"
		     "</uids></uss></ussList></guss>"),
	    KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc("<!DOCTYPE guss SYSTEM \"guss.dtd\">" MINIMAL),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc("<!DOCTYPE guss>" MINIMAL), KMS_EMALFORMED);
	/* An undeclared entity is not well-formed either. */
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", "<uids><uid>&x;</uid></uids>"),
			KMS_EMALFORMED);
}

static void given_wrong_namespace_or_root_when_parsing_then_emalformed(void)
{
	CU_ASSERT_EQUAL(parse_rc("<guss><ussList>" USS1 "</ussList></guss>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc("<guss xmlns='urn:3gpp:gba:GBAGUSSSchema-R9:2010-03'>"
				 "<ussList>" USS1 "</ussList></guss>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc("<gus xmlns='" NS "'><ussList>" USS1 "</ussList></gus>"),
			KMS_EMALFORMED);
	/* The root in another namespace, its children in ours. */
	CU_ASSERT_EQUAL(parse_rc("<x:guss xmlns:x='urn:wrong' xmlns='" NS
				 "'><ussList>" USS1 "</ussList></x:guss>"),
			KMS_EMALFORMED);
	/* A namespace that merely starts like ours. */
	CU_ASSERT_EQUAL(
	    parse_rc("<guss xmlns='" NS "|guss'><ussList>" USS1 "</ussList></guss>"),
	    KMS_EMALFORMED);
	/* The USS in another namespace are not ours: skipped, so no ussList. */
	CU_ASSERT_EQUAL(parse_rc(HEAD
				 "<o:ussList xmlns:o='urn:o'><o:uss id='1' type='1'>"
				 "<o:uids><o:uid>a</o:uid></o:uids></o:uss></o:ussList>"
				 "</guss>"),
			KMS_EMALFORMED);
}

static void given_broken_xml_when_parsing_then_emalformed(void)
{
	CU_ASSERT_EQUAL(gba_guss_parse("", 0, &(gba_guss_t){ 0 }), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(gba_guss_parse(NULL, 0, &(gba_guss_t){ 0 }), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(gba_guss_parse(MINIMAL, strlen(MINIMAL), NULL), KMS_EINVAL);
	CU_ASSERT_EQUAL(parse_rc(HEAD "<ussList>" USS1 "</ussList>"), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(HEAD "<ussList>" USS1 "</guss></ussList>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(MINIMAL "<guss/>"), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(MINIMAL "garbage"), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(MINIMAL "\n<!-- a comment --> \n"), KMS_EOK);
	/* Bytes after the document, even a NUL, count. */
	char buf[sizeof(MINIMAL) + 1];
	memcpy(buf, MINIMAL, sizeof(MINIMAL));
	buf[sizeof(MINIMAL)] = 'x';
	gba_guss_t g;
	CU_ASSERT_EQUAL(gba_guss_parse(buf, sizeof(buf), &g), KMS_EMALFORMED);
	gba_guss_clear(&g);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", "<uids><uid>\xff</uid></uids>"),
			KMS_EMALFORMED); /* not UTF-8 */
	/* An encoding expat does not know; a declared one it does. */
	CU_ASSERT_EQUAL(parse_rc("<?xml version='1.0' encoding='EBCDIC-US'?>" MINIMAL),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc("<?xml version='1.0' encoding='ISO-8859-1'?>" MINIMAL),
			KMS_EOK);
	/* UTF-16LE with a byte order mark: the same document. */
	char u16[2 + 2 * sizeof(MINIMAL)];
	u16[0] = (char)0xff;
	u16[1] = (char)0xfe;
	for (size_t i = 0; i < sizeof(MINIMAL) - 1; i++) {
		u16[2 + 2 * i] = MINIMAL[i];
		u16[3 + 2 * i] = 0;
	}
	CU_ASSERT_EQUAL(gba_guss_parse(u16, 2 * sizeof(MINIMAL), &g), KMS_EOK);
	CU_ASSERT_EQUAL(g.nuss, 1);
	CU_ASSERT_STRING_EQUAL(g.id, "impi@example.org");
	gba_guss_clear(&g);
}

static void given_missing_or_repeated_parts_when_parsing_then_emalformed(void)
{
	const char *uids = "<uids><uid>a</uid></uids>";
	CU_ASSERT_EQUAL(parse_uss_body("type='1'", uids), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1'", uids), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", ""), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", "<uids/>"), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", "<uids><uid> </uid></uids>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'", "<uids><uid>a</uid></uids>"
							  "<uids><uid>b</uid></uids>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'",
				       "<uids><uid>a</uid></uids><flags/><flags/>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(HEAD "</guss>"), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(HEAD "<ussList/></guss>"), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(HEAD "<ussList>" USS1 "</ussList><ussList>" USS1
				      "</ussList></guss>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_rc(HEAD "<bsfInfo/><bsfInfo/><ussList>" USS1 "</ussList>"
				      "</guss>"),
			KMS_EMALFORMED);
	/* Text where elements belong, and elements where text belongs. */
	CU_ASSERT_EQUAL(
	    parse_uss_body("id='1' type='1'", "text<uids><uid>a</uid></uids>"),
	    KMS_EMALFORMED);
	CU_ASSERT_EQUAL(
	    parse_uss_body("id='1' type='1'", "<uids><uid>a<b/></uid></uids>"),
	    KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'",
				       "<uids><uid>a<x:b xmlns:x='urn:o'/></uid></uids>"),
			KMS_EMALFORMED);
}

static void given_numbers_when_parsing_then_strict_decimal_uint32(void)
{
	const char *uids = "<uids><uid>a</uid></uids>";
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='4294967295'", uids), KMS_EOK);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='007'", uids), KMS_EOK);
	const char *bad_types[] = { "4294967296", "-1",	 "+1",
				    " 1",	  "1 ",	 "0x1",
				    "",		  "1e3", "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		doc_t a = { .n = 0 };
		add(&a, "id='1' type='");
		add(&a, bad_types[i]);
		add(&a, "'");
		CU_ASSERT_EQUAL(parse_uss_body(a.s, uids), KMS_EMALFORMED);
	}
	CU_ASSERT_EQUAL(
	    parse_uss_body("id='1' type='1'",
			   "<uids><uid>a</uid></uids><flags><flag>-1</flag></flags>"),
	    KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'",
				       "<uids><uid>a</uid></uids><flags>"
				       "<flag>4294967296</flag></flags>"),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(
	    parse_uss_body("id='1' type='1'",
			   "<uids><uid>a</uid></uids><flags><flag>1 2</flag></flags>"),
	    KMS_EMALFORMED);
	CU_ASSERT_EQUAL(parse_uss_body("id='1' type='1'",
				       "<uids><uid>a</uid></uids><flags><flag/></flags>"),
			KMS_EMALFORMED);
	gba_guss_t g;
	CU_ASSERT_EQUAL(parse_bsfinfo("<lifeTime>\n 4294967295 \n</lifeTime>", &g),
			KMS_EOK);
	CU_ASSERT_EQUAL(g.lifetime, 4294967295LL);
	gba_guss_clear(&g);
	CU_ASSERT_EQUAL(parse_bsfinfo("<lifeTime>0</lifeTime>", &g), KMS_EOK);
	CU_ASSERT_EQUAL(g.lifetime, 0);
	gba_guss_clear(&g);
	const char *bad_life[] = { "<lifeTime>4294967296</lifeTime>",
				   "<lifeTime>-1</lifeTime>",
				   "<lifeTime/>",
				   "<lifeTime>2026-12-03T00:00:00Z</lifeTime>",
				   "<lifeTime>1</lifeTime><lifeTime>1</lifeTime>",
				   "<lifeTime>000000000000000000001</lifeTime>" };
	for (size_t i = 0; i < sizeof(bad_life) / sizeof(bad_life[0]); i++) {
		int ret = parse_bsfinfo(bad_life[i], &g);
		CU_ASSERT(ret == KMS_EMALFORMED || (i == 5 && ret == KMS_ELIMIT));
		CU_ASSERT_EQUAL(g.lifetime, -1);
		gba_guss_clear(&g);
	}
}

static void given_uicc_type_when_parsing_then_gba_or_gba_u_only(void)
{
	gba_guss_t g;
	CU_ASSERT_EQUAL(parse_bsfinfo("<uiccType>GBA</uiccType>", &g), KMS_EOK);
	CU_ASSERT_EQUAL(g.uicc_type, 0);
	CU_ASSERT_EQUAL(g.lifetime, -1);
	gba_guss_clear(&g);
	CU_ASSERT_EQUAL(parse_bsfinfo(" <uiccType> GBA_U </uiccType> ", &g), KMS_EOK);
	CU_ASSERT_EQUAL(g.uicc_type, 1);
	gba_guss_clear(&g);
	const char *bad[] = { "<uiccType>gba</uiccType>", "<uiccType>GBA_ME</uiccType>",
			      "<uiccType/>", "<uiccType>GBA_UU</uiccType>",
			      "<uiccType>GBA U</uiccType>" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse_bsfinfo(bad[i], &g);
		CU_ASSERT(ret == KMS_EMALFORMED || ret == KMS_ELIMIT);
		CU_ASSERT_EQUAL(g.uicc_type, -1);
		gba_guss_clear(&g);
	}
}

static void given_datetime_forms_when_parsing_timestamp_then_unix_seconds(void)
{
	static const struct {
		const char *in;
		int64_t t;
	} good[] = {
		{ "2008-09-10T11:12:13Z", 1221045133 },
		{ "2026-12-03T08:30:00+02:00", 1796279400 },
		{ "2026-12-03T01:00:00-05:30", 1796279400 },
		{ "2026-12-03T06:30:00-00:00", 1796279400 },
		{ "2026-12-03T06:30:00.999999Z", 1796279400 }, /* fraction dropped */
		{ "2026-12-03T06:30:00.0+00:00", 1796279400 },
		{ " 2024-02-29T23:59:59Z\n", 1709251199 }, /* leap day, collapsed */
		{ "2000-02-29T24:00:00Z", -1 },		   /* 24:00 refused */
		{ "2000-03-01T00:00:00Z", 951868800 },
		{ "1970-01-01T00:00:01Z", 1 },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
		{ "2026-12-03T20:30:00+14:00", 1796279400 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t t = 0;
		int ret = parse_timestamp(good[i].in, &t);
		if (good[i].t < 0) {
			CU_ASSERT_EQUAL(ret, KMS_EMALFORMED);
			continue;
		}
		CU_ASSERT_EQUAL(ret, KMS_EOK);
		CU_ASSERT_EQUAL(t, good[i].t);
		if (ret != KMS_EOK || t != good[i].t) {
			printf("\n  %s -> %d %lld\n", good[i].in, ret, (long long)t);
		}
	}
}

static void given_invalid_datetimes_when_parsing_timestamp_then_emalformed(void)
{
	static const char *const bad[] = {
		"2026-13-03T06:30:00Z",
		"2026-00-03T06:30:00Z",
		"2026-12-00T06:30:00Z",
		"2026-12-32T06:30:00Z",
		"2023-02-29T06:30:00Z",
		"2100-02-29T06:30:00Z",
		"2026-04-31T06:30:00Z",
		"2026-12-03T25:30:00Z",
		"2026-12-03T06:60:00Z",
		"2026-12-03T06:30:60Z",
		"2026-12-03T06:30:00",
		"2026-12-03T06:30:00+15:00",
		"2026-12-03T06:30:00+14:01",
		"2026-12-03T06:30:00+02:60",
		"2026-12-03T06:30:00+0200",
		"2026-12-03T06:30:00z",
		"2026-12-03 06:30:00Z",
		"2026-12-03T06:30:00.Z",
		"0000-01-01T00:00:00Z",
		"-2026-12-03T06:30:00Z",
		"12026-12-03T06:30:00Z",
		"1969-12-31T23:59:59Z",
		"1970-01-01T00:00:00Z",
		"9999-12-31T23:59:59-00:01",
		"2026-12-3T06:30:00Z",
		"2026-12-03T6:30:00Z",
		"2026-12-03T06:30:00ZZ",
		"2026",
		"",
		"2026-12-03T06:30:00 Z",
		"+2026-12-03T06:30:00Z",
		"2026-12-03T06:30:00Z+01:00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t t = 0;
		int ret = parse_timestamp(bad[i], &t);
		CU_ASSERT_EQUAL(ret, KMS_EMALFORMED);
		CU_ASSERT_EQUAL(t, 0);
		if (ret != KMS_EMALFORMED) {
			printf("\n  accepted: '%s'\n", bad[i]);
		}
	}
}

static void given_unknown_elements_when_parsing_then_skipped_with_subtree(void)
{
	const char *xml =
	    "<guss xmlns='" NS "' xmlns:o='urn:other' o:attr='x' extra='y'>"
	    "<o:top><uss id='9' type='9'><uids><uid>sip:evil@x</uid></uids></uss>"
	    "<o:deep>text<o:deeper/></o:deep></o:top>"
	    "<bsfInfo><futureThing>1</futureThing><uiccType>GBA</uiccType>"
	    "<o:x><lifeTime>5</lifeTime></o:x></bsfInfo>"
	    "<ussList><o:u/><uss id='1' type='1' o:x='1' unknown='2'>"
	    "<keyChoice>ME</keyChoice><uids><uid>sip:a@x</uid><o:uid>sip:b@x</o:uid>"
	    "<unknownUid>sip:c@x</unknownUid></uids>"
	    "<o:flags><flag>5</flag></o:flags></uss></ussList>"
	    "<Extension><o:timestamp>2026-12-03T06:30:00Z</o:timestamp>"
	    "<other><uss/></other></Extension>"
	    "<extension><timestamp>2026-12-03T06:30:00Z</timestamp></extension>"
	    "<uid>sip:stray@x</uid>"
	    "</guss>";
	gba_guss_t g;
	CU_ASSERT_EQUAL_FATAL(parse(xml, &g), KMS_EOK);
	CU_ASSERT_EQUAL(g.uicc_type, 0);
	CU_ASSERT_EQUAL(g.lifetime, -1); /* only under bsfInfo itself */
	CU_ASSERT_EQUAL(g.timestamp, 1796279400);
	CU_ASSERT_EQUAL_FATAL(g.nuss, 1);
	CU_ASSERT_STRING_EQUAL(g.uss[0].id, "1");
	CU_ASSERT_EQUAL_FATAL(g.uss[0].nuids, 1);
	CU_ASSERT_STRING_EQUAL(g.uss[0].uids[0], "sip:a@x");
	CU_ASSERT_EQUAL(g.uss[0].nflags, 0);
	gba_guss_clear(&g);
	/* Skipped subtrees still count against the count of elements nowhere,
	 * but they do count against the depth (see the depth test) and the
	 * byte cap. */
}

static void add_hostile_uss(gba_guss_t *g, const char *id, const char *grp,
			    const char *uid)
{
	gba_uss_t *u = &g->uss[g->nuss++];
	snprintf(u->id, sizeof(u->id), "%s", id);
	snprintf(u->naf_group, sizeof(u->naf_group), "%s", grp);
	u->type = 4294967295u;
	u->uids[u->nuids++] = strdup(uid);
	u->flags[u->nflags++] = 0;
	u->flags[u->nflags++] = 4294967295u;
}

static void given_hostile_strings_when_building_then_they_parse_back_unchanged(void)
{
	gba_guss_t g;
	new_guss(&g);
	snprintf(g.id, sizeof(g.id), "%s", "\"a'&b<c>d\" ]]> &amp; &#9;\t\n\r  x");
	g.uicc_type = 0;
	g.lifetime = 4294967295LL;
	g.timestamp = 253402300799LL;
	add_hostile_uss(&g, "</uss><uss id='evil' type='1'>", "\t\n\r '\"",
			"sip:<a>&amp;@x");
	add_hostile_uss(&g, "", "", "sip:j\xc3\xb6rg@\xf0\x9f\x98\x80.example ]]> x");
	add_hostile_uss(&g, "&lt;", "g", "a\"b'c");
	CU_ASSERT_EQUAL(round_trip(&g), KMS_EOK);
	char *xml = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(gba_guss_build(&g, &xml, &len), KMS_EOK);
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "xmlns=\"" NS "\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<uiccType>GBA</uiccType>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "9999-12-31T23:59:59Z"));
	CU_ASSERT_PTR_NULL(strstr(xml, "evil'")); /* the quote was escaped */
	CU_ASSERT_PTR_NULL(strstr(xml, "<a>"));
	free(xml);
	gba_guss_clear(&g);
}

static void given_no_bsfinfo_when_building_then_none_is_written(void)
{
	gba_guss_t g;
	new_guss(&g);
	add_hostile_uss(&g, "1", "", "sip:a@x");
	char *xml = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(gba_guss_build(&g, &xml, &len), KMS_EOK);
	CU_ASSERT_PTR_NULL(strstr(xml, "bsfInfo"));
	CU_ASSERT_PTR_NULL(strstr(xml, "nafGroup"));
	CU_ASSERT_PTR_NULL(strstr(xml, "extension"));
	free(xml);
	CU_ASSERT_EQUAL(round_trip(&g), KMS_EOK);
	g.lifetime = 3600;
	CU_ASSERT_EQUAL_FATAL(gba_guss_build(&g, &xml, &len), KMS_EOK);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(xml, "<bsfInfo><lifeTime>3600</lifeTime></bsfInfo>"));
	free(xml);
	CU_ASSERT_EQUAL(round_trip(&g), KMS_EOK);
	gba_guss_clear(&g);
}

/* Build g after change() made it invalid: KMS_EINVAL, nothing written. */
static void check_build_refuses(void (*change)(gba_guss_t *), int want)
{
	gba_guss_t g;
	new_guss(&g);
	add_hostile_uss(&g, "1", "", "sip:a@x");
	change(&g);
	char sentinel[] = "untouched";
	char *xml = sentinel;
	size_t len = 7;
	CU_ASSERT_EQUAL(gba_guss_build(&g, &xml, &len), want);
	CU_ASSERT_STRING_EQUAL(xml, "untouched");
	CU_ASSERT_EQUAL(len, 7);
	gba_guss_clear(&g);
}

static void set_uid(gba_guss_t *g, const char *s)
{
	free(g->uss[0].uids[0]);
	g->uss[0].uids[0] = strdup(s);
}

static void no_uss(gba_guss_t *g)
{
	gba_guss_clear(g);
}
static void no_uid(gba_guss_t *g)
{
	free(g->uss[0].uids[0]);
	g->uss[0].nuids = 0;
}
static void uid_leading_space(gba_guss_t *g)
{
	set_uid(g, " sip:a@x");
}
static void uid_double_space(gba_guss_t *g)
{
	set_uid(g, "sip:a  b@x");
}
static void uid_tab(gba_guss_t *g)
{
	set_uid(g, "sip:a\tb@x");
}
static void uid_not_utf8(gba_guss_t *g)
{
	set_uid(g, "sip:\xc3\x28@x");
}
static void uid_overlong(gba_guss_t *g)
{
	set_uid(g, "sip:\xc0\xaf@x");
}
static void uid_surrogate(gba_guss_t *g)
{
	set_uid(g, "sip:\xed\xa0\x80@x");
}
static void uid_control(gba_guss_t *g)
{
	set_uid(g, "sip:\x01@x");
}
static void id_control(gba_guss_t *g)
{
	g->uss[0].id[0] = 0x1b;
}
static void uicc_bad(gba_guss_t *g)
{
	g->uicc_type = 2;
}
static void lifetime_bad(gba_guss_t *g)
{
	g->lifetime = 4294967296LL;
}
static void timestamp_bad(gba_guss_t *g)
{
	g->timestamp = 253402300800LL;
}
static void uid_too_long(gba_guss_t *g)
{
	char s[GBA_GUSS_UID_MAX + 2];
	memset(s, 'u', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	set_uid(g, s);
}
static void too_big(gba_guss_t *g)
{
	/* 16 USS of 32 uids of 512 bytes: far over GBA_GUSS_MAX. */
	char s[GBA_GUSS_UID_MAX + 1];
	memset(s, 'u', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	gba_guss_clear(g);
	for (size_t i = 0; i < GBA_GUSS_USS_MAX; i++) {
		gba_uss_t *u = &g->uss[g->nuss++];
		for (size_t k = 0; k < GBA_GUSS_UIDS_MAX; k++) {
			u->uids[u->nuids++] = strdup(s);
		}
	}
}

static void given_unbuildable_guss_when_building_then_refused(void)
{
	void (*inval[])(gba_guss_t *) = {
		no_uss,	       no_uid,	     uid_leading_space, uid_double_space,
		uid_tab,       uid_not_utf8, uid_overlong,	uid_surrogate,
		uid_control,   id_control,   uicc_bad,		lifetime_bad,
		timestamp_bad, uid_too_long
	};
	for (size_t i = 0; i < sizeof(inval) / sizeof(inval[0]); i++) {
		check_build_refuses(inval[i], KMS_EINVAL);
	}
	check_build_refuses(too_big, KMS_ELIMIT);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_full_document_when_parsing_then_every_field_is_read),
		UNIT_TEST(
		    given_minimal_document_when_parsing_then_absent_parts_are_marked),
		UNIT_TEST(
		    given_several_uss_with_flags_when_parsing_then_each_keeps_its_own),
		UNIT_TEST(given_byte_and_count_caps_when_at_and_over_then_over_is_elimit),
		UNIT_TEST(given_length_caps_when_at_and_over_then_over_is_elimit),
		UNIT_TEST(given_nesting_when_at_and_over_cap_then_over_is_elimit),
		UNIT_TEST(given_doctype_when_parsing_then_refused_before_any_entity),
		UNIT_TEST(given_wrong_namespace_or_root_when_parsing_then_emalformed),
		UNIT_TEST(given_broken_xml_when_parsing_then_emalformed),
		UNIT_TEST(given_missing_or_repeated_parts_when_parsing_then_emalformed),
		UNIT_TEST(given_numbers_when_parsing_then_strict_decimal_uint32),
		UNIT_TEST(given_uicc_type_when_parsing_then_gba_or_gba_u_only),
		UNIT_TEST(given_datetime_forms_when_parsing_timestamp_then_unix_seconds),
		UNIT_TEST(given_invalid_datetimes_when_parsing_timestamp_then_emalformed),
		UNIT_TEST(given_unknown_elements_when_parsing_then_skipped_with_subtree),
		UNIT_TEST(
		    given_hostile_strings_when_building_then_they_parse_back_unchanged),
		UNIT_TEST(given_no_bsfinfo_when_building_then_none_is_written),
		UNIT_TEST(given_unbuildable_guss_when_building_then_refused),
		UNIT_END,
	};
	return unit_run("guss", tests);
}
