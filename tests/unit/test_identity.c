/* KMS user and group identities (TS 33.328 6.2.3.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "policy/identity.h"
#include "tests/unit/unit.h"

/* The bound on identity_match_ex steps: C * (pattern_len + subject_len). */
#define STEP_FACTOR 2

static bool m(const char *p, const char *s)
{
	return identity_match(p, strlen(p), s, strlen(s));
}

static void given_plain_identities_when_matched_then_exact_only(void)
{
	CU_ASSERT_TRUE(m("alice@example.org", "alice@example.org"));
	CU_ASSERT_FALSE(m("alice@example.org", "alice@example.orgx"));
	CU_ASSERT_FALSE(m("alice@example.org", "alice@example.or"));
	CU_ASSERT_FALSE(m("Alice@example.org", "alice@example.org"));
	CU_ASSERT_FALSE(m("", ""));
}

static void given_group_identities_when_matched_then_star_is_one_or_more(void)
{
	CU_ASSERT_TRUE(m("*.department@company", "user1.department@company"));
	CU_ASSERT_TRUE(m("*.department@company", "a.b.department@company"));
	CU_ASSERT_FALSE(
	    m("*.department@company", ".department@company")); /* needs >= 1 */
	CU_ASSERT_FALSE(m("*.department@company", "user1.sales@company"));
	CU_ASSERT_TRUE(m("*@*", "a@b"));
	CU_ASSERT_FALSE(m("*@*", "@b"));
	CU_ASSERT_FALSE(m("*@*", "a@"));
	CU_ASSERT_FALSE(m("*@*", "ab"));
	CU_ASSERT_TRUE(m("a*c@x", "abbbc@x"));
	CU_ASSERT_FALSE(m("a*c@x", "ac@x"));
	CU_ASSERT_TRUE(m("*a*@x", "bab@x"));
	CU_ASSERT_TRUE(identity_is_group("*@x", 3));
	CU_ASSERT_FALSE(identity_is_group("a@x", 3));
}

static const struct {
	const char *p, *s;
	bool want;
} match_rows[] = {
	/* '*' at both ends */
	{ "*alice*@x", "xalicex@x", true },
	{ "*alice*@x", "alice@x", false },
	{ "*alice*@x", "alicex@x", false },
	{ "*alice*@x", "xalice@x", false },
	{ "*@*", "alice@example.org", true },
	/* several '*' */
	{ "a*b*c@x", "aXbYc@x", true },
	{ "a*b*c@x", "abc@x", false },
	{ "a*b*c@x", "aXbc@x", false },
	{ "a*b*c@x", "abbbYc@x", true },
	{ "**@x", "ab@x", true },
	{ "**@x", "a@x", false },
	{ "*a*a*@x", "babab@x", true },
	{ "*a*a*@x", "baab@x", false },
	{ "*aab*@x", "aaaabx@x", true }, /* overlapping near-matches */
	{ "*.*.dept@*.*", "a.b.dept@c.d", true },
	{ "*.*.dept@*.*", "a.dept@c.d", false },
	/* empty user or domain parts, no '@' */
	{ "@x", "@x", false },
	{ "*@x", "@x", false },
	{ "a@", "a@", false },
	{ "a@x", "a@", false },
	{ "*", "a@b", false },
	{ "*@x", "", false },
	{ "a*", "ab", false },
	/* case: user byte-exact, domain ASCII case-insensitive */
	{ "alice@Example.ORG", "alice@example.org", true },
	{ "Alice@example.org", "alice@example.org", false },
	{ "*@EXAMPLE.org", "bob@example.ORG", true },
	{ "*.Dept@x", "a.dept@x", false },
	{ "*@*.ORG", "a@example.org", true },
	/* unicode domains: UTF-8 bytes exact, only ASCII folded */
	{ "*@b\xc3\xbc"
	  "cher.example",
	  "x@b\xc3\xbc"
	  "cher.EXAMPLE",
	  true },
	{ "*@b\xc3\xbc"
	  "cher.example",
	  "x@b\xc3\x9c"
	  "cher.example",
	  false },
	{ "*@*.b\xc3\xbc"
	  "cher",
	  "x@a.b\xc3\xbc"
	  "cher",
	  true },
	/* the last '@' splits; '*' never spans it */
	{ "*@x", "a@b@x", true },
	{ "a@*", "a@b@c", false },
	{ "*@x", "*@x", true },
	{ "a@x", "*@x", false },
};

static void given_match_table_when_matched_then_expected(void)
{
	for (size_t i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
		bool got = m(match_rows[i].p, match_rows[i].s);
		if (got != match_rows[i].want) {
			fprintf(stderr, "match row %zu: %s vs %s\n", i, match_rows[i].p,
				match_rows[i].s);
		}
		CU_ASSERT_EQUAL(got, match_rows[i].want);
	}
}

/* Reference: O(pl * sl) dynamic programme over the same rules (no '@'). */
static bool ref_glob(const char *p, size_t pl, const char *s, size_t sl)
{
	bool d[17][17]; /* d[i][j]: p[i..) matches s[j..) */
	for (size_t i = pl + 1; i-- > 0;) {
		for (size_t j = sl + 1; j-- > 0;) {
			if (i == pl) {
				d[i][j] = j == sl;
			} else if (p[i] == '*') {
				d[i][j] = j < sl && (d[i + 1][j + 1] || d[i][j + 1]);
			} else {
				d[i][j] = j < sl && p[i] == s[j] && d[i + 1][j + 1];
			}
		}
	}
	return d[0][0];
}

static void given_random_patterns_when_matched_then_same_as_reference(void)
{
	unsigned long r = 12345;
	size_t bad = 0;
	for (int n = 0; n < 20000; n++) {
		char p[20], s[20];
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		size_t pl = 1 + (r >> 33) % 8, sl = 1 + (r >> 40) % 12;
		for (size_t i = 0; i < pl; i++) {
			r = r * 6364136223846793005UL + 1442695040888963407UL;
			p[i] = "ab*"[(r >> 33) % 3];
		}
		for (size_t i = 0; i < sl; i++) {
			r = r * 6364136223846793005UL + 1442695040888963407UL;
			s[i] = "ab"[(r >> 33) % 2];
		}
		bool want = ref_glob(p, pl, s, sl);
		memcpy(p + pl, "@x", 3);
		memcpy(s + sl, "@x", 3);
		if (m(p, s) != want) {
			fprintf(stderr, "random: %s vs %s want %d\n", p, s, want);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* p[0..n) = unit repeated, then tail; returns the length. */
static size_t fill(char *p, size_t n, const char *unit, const char *tail)
{
	size_t ul = strlen(unit), o = 0;
	while (o + ul <= n) {
		memcpy(p + o, unit, ul);
		o += ul;
	}
	size_t tl = strlen(tail);
	memcpy(p + o, tail, tl + 1);
	return o + tl;
}

static bool bounded(const char *p, const char *s, bool want)
{
	size_t steps = 0, pl = strlen(p), sl = strlen(s);
	bool got = identity_match_ex(p, pl, s, sl, &steps);
	if (got != want || steps > STEP_FACTOR * (pl + sl)) {
		fprintf(stderr, "bounded: got %d steps %zu for %zu + %zu\n", got, steps,
			pl, sl);
		return false;
	}
	return true;
}

static void given_pathological_pattern_when_matched_then_bounded(void)
{
	char p[IDENTITY_MAX + 1], s[IDENTITY_MAX + 1];
	/* 254 stars against 254 bytes (was a pattern without '@'). */
	fill(p, 254, "*", "@*");
	fill(s, 254, "a", "@a");
	CU_ASSERT_TRUE(bounded(p, s, true));
	p[253] = 'b';
	CU_ASSERT_TRUE(bounded(p, s, false));
	/* "*a*a*a...*ab" against "aaa...a". */
	fill(p, 252, "*a", "b@x");
	fill(s, 253, "a", "@x");
	CU_ASSERT_TRUE(bounded(p, s, false));
	s[252] = 'b';
	CU_ASSERT_TRUE(bounded(p, s, true)); /* 126 "*a" take all 252 bytes */
	s[251] = 'b';
	s[252] = 'a';
	CU_ASSERT_TRUE(bounded(p, s, false));
	s[251] = 'a';
	s[252] = 'b';
	fill(p, 100, "*a", "b@x");
	CU_ASSERT_TRUE(bounded(p, s, true));
	/* one long near-match segment: "*aaa...ab*" against "aaa...a". */
	fill(p, 1, "*", "");
	fill(p + 1, 120, "a", "b*@x");
	fill(s, 253, "a", "@x");
	CU_ASSERT_TRUE(bounded(p, s, false));
	/* many short segments, periodic subject, and case-folded domains. */
	fill(p, 252, "*ab", "@x");
	fill(s, 253, "ab", "@x");
	CU_ASSERT_TRUE(bounded(p, s, false));
	fill(p, 2, "x@", "");
	fill(p + 2, 252, "*A", "*B");
	fill(s, 2, "x@", "");
	fill(s + 2, 254, "a", "");
	CU_ASSERT_TRUE(bounded(p, s, false));
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[299] = '\0';
	big[10] = '@';
	CU_ASSERT_FALSE(m(big, big)); /* over IDENTITY_MAX */
	size_t steps = 99;
	CU_ASSERT_FALSE(identity_match_ex(big, 299, big, 299, &steps));
	CU_ASSERT_EQUAL(steps, 0);
}

static void given_sip_uris_when_converted_then_nai(void)
{
	char out[IDENTITY_MAX + 1];
	size_t n;
	const char *u = "<sip:alice@example.org;transport=tcp>";
	CU_ASSERT_EQUAL(identity_from_uri(u, strlen(u), out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "alice@example.org");
	u = "sips:bob@x.test?subject=hi";
	CU_ASSERT_EQUAL(identity_from_uri(u, strlen(u), out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "bob@x.test");
	u = "carol@y";
	CU_ASSERT_EQUAL(identity_from_uri(u, strlen(u), out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(identity_from_uri("sip:nobody", 10, out, sizeof(out), &n),
			KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("sip:@x", 6, out, sizeof(out), &n), KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("sip:a@", 6, out, sizeof(out), &n), KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("a\0b@c", 5, out, sizeof(out), &n), KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("alice@example.org", 17, out, 10, &n), KMS_EID);
}

/* out NULL: KMS_EID with a reason containing why. */
static const struct {
	const char *in, *out, *why;
} uri_rows[] = {
	{ "<sip:alice@example.org;transport=tcp>", "alice@example.org", NULL },
	{ "sips:bob@x.test?subject=hi", "bob@x.test", NULL },
	{ "carol@y", "carol@y", NULL },
	{ "SIP:Alice@Example.ORG", "Alice@example.org", NULL },
	{ "sip:alice@example.org:5060", "alice@example.org", NULL },
	{ "<sips:alice@example.org:5061;transport=tls?x=y>", "alice@example.org", NULL },
	{ "sip:alice@example.org;", "alice@example.org", NULL },
	{ "sip:al%69ce@example.org", "alice@example.org", NULL },
	{ "sip:a%2541@x", "a%41@x", NULL }, /* decoded once */
	{ "sip:j%C3%B6rg@example.org", "j\xc3\xb6rg@example.org", NULL },
	{ "sip:+15551234;phone-context=ims.test@ims.test;user=phone",
	  "+15551234;phone-context=ims.test@ims.test", NULL },
	{ "sip:alice@B\xc3\x9c"
	  "CHER.Example",
	  "alice@b\xc3\x9c"
	  "cher.example",
	  NULL },
	{ "tel:+15551234", NULL, "unsupported URI scheme" },
	{ "<tel:+15551234>", NULL, "unsupported URI scheme" },
	{ "mailto:alice@example.org", NULL, "unsupported URI scheme" },
	{ "http://alice@example.org", NULL, "unsupported URI scheme" },
	{ "sip:nobody", NULL, "no '@'" },
	{ "sip:@x", NULL, "empty user" },
	{ "sip:a@", NULL, "empty domain" },
	{ "sip:a@;user=phone", NULL, "empty domain" },
	{ "sip:a@:5060", NULL, "empty domain" },
	{ "", NULL, "empty URI" },
	{ "sip:a%00b@x", NULL, "%00" },
	{ "sip:a%4@x", NULL, "malformed percent" },
	{ "sip:a%zz@x", NULL, "malformed percent" },
	{ "sip:a%@x", NULL, "malformed percent" },
	{ "sip:a b@x", NULL, "space" },
	{ "sip:a\tb@x", NULL, "control" },
	{ "sip:a%20b@x", NULL, "space" },
	{ "sip:a%7Fb@x", NULL, "control" },
	{ "sip:*@example.org", NULL, "'*'" },
	{ "sip:a%2Ab@x", NULL, "'*'" },
	{ "sip:a%40b@x", NULL, "'@'" },
	{ "sip:alice:secret@x", NULL, "password" },
	{ "sip:a@x:port", NULL, "port" },
	{ "sip:a@x:123456", NULL, "port" },
	{ "sip:a@[::1]", NULL, "IPv6" },
	{ "sip:a@x%41", NULL, "domain" },
	{ "sip:a@x_y", NULL, "domain" },
	{ "<sip:a@x", NULL, "unbalanced" },
	{ "sip:a@x>", NULL, "domain" },
	{ "sip:a@\xc3x", NULL, "UTF-8" },
	{ "sip:%FF@x", NULL, "UTF-8" },
	{ "sip:a@\xed\xa0\x80", NULL, "UTF-8" }, /* a surrogate */
};

static void given_uri_table_when_converted_then_expected(void)
{
	for (size_t i = 0; i < sizeof(uri_rows) / sizeof(uri_rows[0]); i++) {
		char out[IDENTITY_MAX + 1] = "unset";
		size_t n = 999;
		const char *why = NULL, *in = uri_rows[i].in;
		int ret =
		    identity_from_uri_ex(in, strlen(in), out, sizeof(out), &n, &why);
		bool ok;
		if (uri_rows[i].out != NULL) {
			ok = ret == KMS_EOK && strcmp(out, uri_rows[i].out) == 0 &&
			     n == strlen(uri_rows[i].out) && why == NULL;
		} else {
			ok = ret == KMS_EID && why != NULL &&
			     strstr(why, uri_rows[i].why) != NULL &&
			     strcmp(out, "unset") == 0 && n == 999;
		}
		if (!ok) {
			fprintf(stderr, "uri row %zu: %s -> %d %s (%s)\n", i, in, ret,
				out, why ? why : "-");
		}
		CU_ASSERT_TRUE(ok);
	}
}

static void given_long_uris_when_converted_then_capped(void)
{
	char uri[IDENTITY_MAX + 16], out[IDENTITY_MAX + 1];
	size_t n = 0;
	const char *why = NULL;
	size_t l = fill(uri, 4, "sip:", "");
	l = fill(uri + l, 254, "a", "@x") + l; /* 256-byte identity */
	CU_ASSERT_EQUAL(identity_from_uri(uri, l, out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, IDENTITY_MAX);
	CU_ASSERT_EQUAL(identity_from_uri_ex(uri, l, out, IDENTITY_MAX, &n, &why),
			KMS_EID);
	CU_ASSERT_PTR_NOT_NULL(why);
	l = fill(uri, 4, "sip:", "");
	l = fill(uri + l, 255, "a", "@x") + l;
	CU_ASSERT_EQUAL(identity_from_uri(uri, l, out, sizeof(out), &n), KMS_EID);
	l = fill(uri, 4, "sip:", "");
	l = fill(uri + l, 253, "a", "@x:5060") + l; /* the port is not counted */
	CU_ASSERT_EQUAL(identity_from_uri(uri, l, out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 255);
}

/*
 * ID Data of ID Type type -> identity_normalise (id) and
 * identity_pattern_normalise (pat); NULL: refused, with a reason holding
 * why (identity_normalise) or pwhy (the pattern form) when not NULL.
 * len 0: strlen(in).
 */
static const struct {
	uint8_t type;
	const char *in;
	size_t len;
	const char *id, *pat, *why, *pwhy;
} norm_rows[] = {
	/* user@domain under each ID Type */
	{ 0, "alice@example.org", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	{ 1, "alice@example.org", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	{ 2, "alice@example.org", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	{ 0, "Carol@Example.ORG", 0, "Carol@example.org", "Carol@example.org", NULL,
	  NULL },
	{ 2, "alice@example.org:5060", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	/* sip:/sips: under each ID Type: the content decides */
	{ 0, "sip:alice@example.org", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	{ 1, "sip:alice@example.org", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	{ 2, "sips:alice@example.org", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	{ 1, "<sip:alice@example.org;transport=tcp>", 0, "alice@example.org",
	  "alice@example.org", NULL, NULL },
	{ 1, "sips:bob@x.test?subject=hi&priority=urgent", 0, "bob@x.test", "bob@x.test",
	  NULL, NULL },
	{ 1, "SIP:Alice@Example.ORG:5060", 0, "Alice@example.org", "Alice@example.org",
	  NULL, NULL },
	{ 0, "<SIPS:bob@EXAMPLE.org:5061;transport=tls?x=y>", 0, "bob@example.org",
	  "bob@example.org", NULL, NULL },
	{ 2, "<sip:bob@example.org>", 0, "bob@example.org", "bob@example.org", NULL,
	  NULL },
	{ 1, "sip:al%69ce@example.org", 0, "alice@example.org", "alice@example.org", NULL,
	  NULL },
	{ 2, "sip:a%2541@x", 0, "a%41@x", "a%41@x", NULL, NULL },
	{ 1, "sip:+15551234;phone-context=ims.test@ims.test;user=phone", 0,
	  "+15551234;phone-context=ims.test@ims.test",
	  "+15551234;phone-context=ims.test@ims.test", NULL, NULL },
	{ 1,
	  "sips:alice@B\xc3\xbc"
	  "cher.Example",
	  0,
	  "alice@b\xc3\xbc"
	  "cher.example",
	  "alice@b\xc3\xbc"
	  "cher.example",
	  NULL, NULL },
	/* other schemes: not KMS user identities */
	{ 1, "tel:+15551234", 0, NULL, NULL, "tel: URI", "tel: URI" },
	{ 0, "<tel:+15551234;phone-context=ims.test>", 0, NULL, NULL, "tel: URI",
	  "tel: URI" },
	{ 2, "TEL:+1555@x", 0, NULL, NULL, "tel: URI", "tel: URI" },
	{ 1, "mailto:alice@example.org", 0, NULL, NULL,
	  "other than sip:", "other than sip:" },
	{ 1, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", 0, NULL, NULL,
	  "other than sip:", "other than sip:" },
	{ 1, "http://alice@example.org", 0, NULL, NULL,
	  "other than sip:", "other than sip:" },
	{ 0, "im:alice@example.org", 0, NULL, NULL,
	  "other than sip:", "other than sip:" },
	{ 2, "<a+b.c-d:x@y>", 0, NULL, NULL, "other than sip:", "other than sip:" },
	{ 0, "alice:pw@example.org", 0, NULL, NULL,
	  "other than sip:", "other than sip:" },
	/* group identities: patterns only */
	{ 0, "*.dept@example.org", 0, NULL, "*.dept@example.org", "group", NULL },
	{ 1, "sip:*.dept@Example.ORG", 0, NULL, "*.dept@example.org", "group", NULL },
	{ 2, "*@*", 0, NULL, "*@*", "group", NULL },
	{ 1, "*@Example.ORG", 0, NULL, "*@example.org", "group", NULL },
	{ 1, "<sips:*@*.Example.org;transport=tls>", 0, NULL, "*@*.example.org", "group",
	  NULL },
	{ 0, "a*b**@x*", 0, NULL, "a*b**@x*", "group", NULL },
	{ 1, "sip:alice@example.org;x=*", 0, NULL, "alice@example.org", "group", NULL },
	{ 1, "sip:a%2Ab@x", 0, NULL, NULL, "'*'", "%2A" },
	{ 1, "sip:%2a@example.org", 0, NULL, NULL, "'*'", "%2A" },
	{ 1, "*", 0, NULL, NULL, "group", "no '@'" },
	/* unknown ID Types */
	{ 3, "alice@example.org", 0, NULL, NULL, "ID Type", "ID Type" },
	{ 255, "sip:alice@example.org", 0, NULL, NULL, "ID Type", "ID Type" },
	/* malformed */
	{ 1, "", 0, NULL, NULL, "empty", "empty" },
	{ 0, "a\0b@x", 5, NULL, NULL, "NUL", "NUL" },
	{ 1, "sip:alice@x\0", 12, NULL, NULL, "NUL", "NUL" },
	{ 1, "sip:a%4@x", 0, NULL, NULL, "malformed percent", "malformed percent" },
	{ 1, "sip:a%zz@x", 0, NULL, NULL, "malformed percent", "malformed percent" },
	{ 2, "a%@x", 0, NULL, NULL, "malformed percent", "malformed percent" },
	{ 1, "sip:a%00b@x", 0, NULL, NULL, "%00", "%00" },
	{ 1, "alice", 0, NULL, NULL, "no '@'", "no '@'" },
	{ 1, "sip:@x", 0, NULL, NULL, "empty user", "empty user" },
	{ 0, "a@", 0, NULL, NULL, "empty domain", "empty domain" },
	{ 1, "<sip:alice@example.org", 0, NULL, NULL, "unbalanced", "unbalanced" },
	{ 1, "sip:alice:pw@x", 0, NULL, NULL, "password", "password" },
	{ 1, "sip:a b@x", 0, NULL, NULL, "space", "space" },
	{ 0, "a@x_y", 0, NULL, NULL, "domain", "domain" },
	{ 1, "sip:a@[::1]", 0, NULL, NULL, "IPv6", "IPv6" },
	{ 1, "sip:a@x:99999999", 0, NULL, NULL, "port", "port" },
	{ 2, "sip:%FF@x", 0, NULL, NULL, "UTF-8", "UTF-8" },
};

/* One call of f on row i; true when it gives want (NULL: a refusal). */
static bool norm_ok(int (*f)(uint8_t, const uint8_t *, size_t, char *, size_t, size_t *,
			     const char **),
		    size_t i, const char *want, const char *want_why)
{
	char out[IDENTITY_MAX + 1] = "unset";
	size_t n = 999;
	const char *why = NULL, *in = norm_rows[i].in;
	size_t len = norm_rows[i].len != 0 ? norm_rows[i].len : strlen(in);
	int ret =
	    f(norm_rows[i].type, (const uint8_t *)in, len, out, sizeof(out), &n, &why);
	bool ok;
	if (want != NULL) {
		ok = ret == KMS_EOK && strcmp(out, want) == 0 && n == strlen(want);
	} else {
		ok = ret == KMS_EID && why != NULL && strcmp(out, "unset") == 0 &&
		     n == 999 && (want_why == NULL || strstr(why, want_why) != NULL);
	}
	if (!ok) {
		fprintf(stderr, "norm row %zu (%s): %s -> %d '%s' (%s)\n", i,
			f == identity_normalise ? "id" : "pattern", in, ret, out,
			why != NULL ? why : "-");
	}
	return ok;
}

static void given_id_data_table_when_normalised_then_expected(void)
{
	CU_ASSERT_TRUE(sizeof(norm_rows) / sizeof(norm_rows[0]) >= 30);
	for (size_t i = 0; i < sizeof(norm_rows) / sizeof(norm_rows[0]); i++) {
		CU_ASSERT_TRUE(
		    norm_ok(identity_normalise, i, norm_rows[i].id, norm_rows[i].why));
		const char *pwhy =
		    norm_rows[i].pwhy != NULL ? norm_rows[i].pwhy : norm_rows[i].why;
		CU_ASSERT_TRUE(norm_ok(identity_pattern_normalise, i, norm_rows[i].pat,
				       norm_rows[i].id != NULL ? NULL : pwhy));
		if (norm_rows[i].pat != NULL) {
			CU_ASSERT_EQUAL(identity_pattern_check(norm_rows[i].pat),
					KMS_EOK);
		}
	}
}

static void given_id_data_when_normalised_then_same_as_from_uri(void)
{
	/* Every sip: or NAI row identity_normalise accepts agrees with
	 * identity_from_uri on the same bytes. */
	for (size_t i = 0; i < sizeof(norm_rows) / sizeof(norm_rows[0]); i++) {
		if (norm_rows[i].id == NULL) {
			continue;
		}
		char out[IDENTITY_MAX + 1];
		size_t n = 0;
		const char *in = norm_rows[i].in;
		CU_ASSERT_EQUAL(identity_from_uri(in, strlen(in), out, sizeof(out), &n),
				KMS_EOK);
		CU_ASSERT_STRING_EQUAL(out, norm_rows[i].id);
	}
}

static void given_long_or_odd_id_data_when_normalised_then_capped(void)
{
	char in[IDENTITY_DATA_MAX + 16], out[IDENTITY_MAX + 1];
	size_t n = 0;
	const char *why = NULL;
	size_t l = fill(in, 4, "sip:", "");
	l = fill(in + l, 254, "a", "@x") + l; /* a 256-byte identity */
	CU_ASSERT_EQUAL(
	    identity_normalise(1, (const uint8_t *)in, l, out, sizeof(out), &n, &why),
	    KMS_EOK);
	CU_ASSERT_EQUAL(n, IDENTITY_MAX);
	CU_ASSERT_EQUAL(
	    identity_normalise(1, (const uint8_t *)in, l, out, IDENTITY_MAX, &n, &why),
	    KMS_EID);
	CU_ASSERT_PTR_NOT_NULL(why);
	l = fill(in, 255, "a", "@x"); /* 257 bytes, bare */
	why = NULL;
	CU_ASSERT_EQUAL(
	    identity_normalise(0, (const uint8_t *)in, l, out, sizeof(out), &n, &why),
	    KMS_EID);
	CU_ASSERT_PTR_NOT_NULL(why);
	why = NULL;
	CU_ASSERT_EQUAL(identity_pattern_normalise(2, (const uint8_t *)in, l, out,
						   sizeof(out), &n, &why),
			KMS_EID);
	CU_ASSERT_PTR_NOT_NULL(why);
	/* Parameters do not count towards IDENTITY_MAX, the data cap does. */
	l = fill(in, 4, "sip:", "");
	l += fill(in + l, 6, "a", "@x.org");
	memset(in + l, ';', IDENTITY_DATA_MAX + 1 - l); /* empty parameters */
	CU_ASSERT_EQUAL(identity_normalise(1, (const uint8_t *)in, IDENTITY_DATA_MAX, out,
					   sizeof(out), &n, NULL),
			KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "aaaaaa@x.org");
	why = NULL;
	CU_ASSERT_EQUAL(identity_normalise(1, (const uint8_t *)in, IDENTITY_DATA_MAX + 1,
					   out, sizeof(out), &n, &why),
			KMS_EID);
	CU_ASSERT_PTR_NOT_NULL(why);
	/* Not NUL-terminated: only len bytes are read (ASan checks). */
	char exact[17];
	memcpy(exact, "sip:bob@ex.test;", 16);
	exact[16] = 'X';
	CU_ASSERT_EQUAL(
	    identity_normalise(1, (const uint8_t *)exact, 15, out, sizeof(out), &n, NULL),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "bob@ex.test");
	/* NULL data, NULL why, NULL out_len. */
	CU_ASSERT_EQUAL(identity_normalise(1, NULL, 3, out, sizeof(out), &n, &why),
			KMS_EID);
	CU_ASSERT_EQUAL(identity_normalise(1, (const uint8_t *)"tel:1", 5, out,
					   sizeof(out), &n, NULL),
			KMS_EID);
	CU_ASSERT_EQUAL(identity_normalise(1, (const uint8_t *)"a@b", 3, out, sizeof(out),
					   NULL, NULL),
			KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "a@b");
}

static const struct {
	const char *kms_id, *data;
	size_t len; /* 0: strlen(data) */
	bool want;
} kms_rows[] = {
	{ "kms@example.org", "kms@example.org", 0, true },
	{ "kms@example.org", "kms@EXAMPLE.org", 0, true },
	{ "kms@example.org", "sip:kms@example.org", 0, true },
	{ "kms@example.org", "<sips:kms@Example.org;transport=tls>", 0, true },
	{ "kms@example.org", "SIP:kms@example.org:5060?x=y", 0, true },
	{ "kms@example.org", "sip:k%6Ds@example.org", 0, true },
	{ "sip:kms@Example.org", "kms@example.org", 0, true },
	{ "KMS@example.org", "KMS@example.org", 0, true },
	{ "kms@example.org", "KMS@example.org", 0, false },
	{ "kms@example.org", "sip:KMS@example.org", 0, false },
	{ "kms@example.org", "kms@example.com", 0, false },
	{ "kms@example.org", "kms@example.org.", 0, false },
	{ "kms@example.org", "tel:+15551234", 0, false },
	{ "kms@example.org", "mailto:kms@example.org", 0, false },
	{ "kms@example.org", "*@example.org", 0, false },
	{ "kms@example.org", "kms@example.org\0", 16, false },
	{ "kms@example.org", "", 0, false },
	{ "kms.example.org", "kms.example.org", 0, true },
	{ "kms.example.org", "KMS.Example.ORG", 0, true },
	{ "kms.example.org", "sip:kms.example.org", 0, true },
	{ "kms.example.org", "<sips:KMS.example.org:5061;transport=tls>", 0, true },
	{ "kms.example.org", "sip:kms.example.org?x=y", 0, true },
	{ "kms.example.org", "sip:kms.example.org:", 0, false },
	{ "kms.example.org", "sip:kms.example.org:123456", 0, false },
	{ "kms.example.org", "sip:x@kms.example.org", 0, false },
	{ "kms.example.org", "tel:kms.example.org", 0, false },
	{ "kms.example.org", "<sip:kms.example.org", 0, false },
	{ "kms.example.org", "kms.example.or", 0, false },
	{ "kms.example.org", "kms.example.org\0", 16, false },
	{ "kms.example.org", "x@kms.example.org", 0, false },
	{ "kms1", "kms1", 0, true },
	{ "kms1", "KMS1", 0, true },
	{ "kms1", "kms2", 0, false },
};

static void given_idrkms_when_matched_then_kms_identity_forms_only(void)
{
	for (size_t i = 0; i < sizeof(kms_rows) / sizeof(kms_rows[0]); i++) {
		const char *d = kms_rows[i].data;
		size_t len = kms_rows[i].len != 0 ? kms_rows[i].len : strlen(d);
		bool got =
		    identity_kms_match(kms_rows[i].kms_id, (const uint8_t *)d, len);
		if (got != kms_rows[i].want) {
			fprintf(stderr, "kms row %zu: %s vs %s\n", i, kms_rows[i].kms_id,
				d);
		}
		CU_ASSERT_EQUAL(got, kms_rows[i].want);
	}
	CU_ASSERT_FALSE(identity_kms_match(NULL, (const uint8_t *)"a@b", 3));
	CU_ASSERT_FALSE(identity_kms_match("a@b", NULL, 0));
}

/* Operator patterns -> stored form (NULL: refused, the reason holds why). */
static const struct {
	const char *in, *out, *why;
} canon_rows[] = {
	{ "sip:*@Example.org;user=phone", "*@example.org", NULL },
	{ "<sips:*.dept@X.test:5061>", "*.dept@x.test", NULL },
	{ "SIP:alice@Example.ORG", "alice@example.org", NULL },
	{ "sip:a%2541@x", "a%41@x", NULL },
	{ "*@d2.example", "*@d2.example", NULL },
	{ "Alice@Example.ORG", "Alice@Example.ORG", NULL }, /* bare: as given */
	{ "a%41@x", "a%41@x", NULL },			    /* never decoded twice */
	{ "*@*", "*@*", NULL },
	{ "tel:+15551234", NULL, "tel: URI" },
	{ "<tel:+15551234>", NULL, "tel: URI" },
	{ "mailto:a@x", NULL, "other than sip:" },
	{ "a:b@x", NULL, "other than sip:" },
	{ "sip:a%3Ab@x", NULL, "reads as a URI scheme" },
	{ "sip:%2A@x", NULL, "%2A" },
	{ "sip:a@x_y", NULL, "domain" },
	{ "noat", NULL, "user@domain" },
	{ "a b@x", NULL, "user@domain" },
	{ "", NULL, "user@domain" },
};

static void given_operator_patterns_when_canonicalised_then_stored_form(void)
{
	for (size_t i = 0; i < sizeof(canon_rows) / sizeof(canon_rows[0]); i++) {
		char out[IDENTITY_MAX + 1] = "unset", again[IDENTITY_MAX + 1];
		const char *why = NULL, *in = canon_rows[i].in;
		int ret = identity_pattern_canon(in, out, sizeof(out), &why);
		bool ok;
		if (canon_rows[i].out != NULL) {
			ok = ret == KMS_EOK && strcmp(out, canon_rows[i].out) == 0 &&
			     identity_pattern_check(out) == KMS_EOK &&
			     identity_pattern_canon(out, again, sizeof(again), NULL) ==
				 KMS_EOK &&
			     strcmp(again, out) == 0; /* a fixed point */
		} else {
			ok = ret == KMS_EINVAL && why != NULL &&
			     strstr(why, canon_rows[i].why) != NULL &&
			     strcmp(out, "unset") == 0;
		}
		if (!ok) {
			fprintf(stderr, "canon row %zu: %s -> %d '%s' (%s)\n", i, in, ret,
				out, why != NULL ? why : "-");
		}
		CU_ASSERT_TRUE(ok);
	}
	char out[4];
	const char *why = NULL;
	CU_ASSERT_EQUAL(identity_pattern_canon(NULL, out, sizeof(out), &why), KMS_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_EQUAL(identity_pattern_canon("ab@x", out, sizeof(out), NULL),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(identity_pattern_canon("a@x", out, sizeof(out), NULL), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "a@x");
}

/* Random ID Data: the invariants hold (and ASan sees only len bytes read). */
static void given_random_id_data_when_normalised_then_invariants_hold(void)
{
	static const char alpha[] = "sipSIPtel:<>@%2Aa*;?=.-+_ \x01\xc3\xb6\xff";
	unsigned long r = 4242;
	size_t bad = 0, accepted = 0;
	for (int k = 0; k < 50000; k++) {
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		size_t len = (r >> 33) % 24;
		uint8_t *in = malloc(len > 0 ? len : 1); /* exact: overreads trap */
		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		for (size_t i = 0; i < len; i++) {
			r = r * 6364136223846793005UL + 1442695040888963407UL;
			in[i] = (uint8_t)alpha[(r >> 33) % (sizeof(alpha) - 1)];
		}
		if (k % 2 == 0 && len >= 4) {
			memcpy(in, (r >> 40) % 2 ? "sip:" : "SIPS", 4);
		}
		char a[IDENTITY_MAX + 1], b[IDENTITY_MAX + 1];
		size_t an = 0, bn = 0;
		uint8_t type = (uint8_t)((r >> 50) % 4);
		int ra = identity_normalise(type, in, len, a, sizeof(a), &an, NULL);
		int rb =
		    identity_pattern_normalise(type, in, len, b, sizeof(b), &bn, NULL);
		if (ra == KMS_EOK) {
			accepted++;
			bad += strlen(a) != an || an > IDENTITY_MAX || rb != KMS_EOK ||
			       strcmp(a, b) != 0 || memchr(a, '*', an) != NULL;
		}
		if (rb == KMS_EOK) {
			bad += strlen(b) != bn || identity_pattern_check(b) != KMS_EOK;
		}
		(void)identity_kms_match("kms@example.org", in, len);
		free(in);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(accepted > 100); /* the generator reaches the success path */
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_plain_identities_when_matched_then_exact_only),
		UNIT_TEST(given_group_identities_when_matched_then_star_is_one_or_more),
		UNIT_TEST(given_match_table_when_matched_then_expected),
		UNIT_TEST(given_random_patterns_when_matched_then_same_as_reference),
		UNIT_TEST(given_pathological_pattern_when_matched_then_bounded),
		UNIT_TEST(given_sip_uris_when_converted_then_nai),
		UNIT_TEST(given_uri_table_when_converted_then_expected),
		UNIT_TEST(given_long_uris_when_converted_then_capped),
		UNIT_TEST(given_id_data_table_when_normalised_then_expected),
		UNIT_TEST(given_id_data_when_normalised_then_same_as_from_uri),
		UNIT_TEST(given_long_or_odd_id_data_when_normalised_then_capped),
		UNIT_TEST(given_idrkms_when_matched_then_kms_identity_forms_only),
		UNIT_TEST(given_operator_patterns_when_canonicalised_then_stored_form),
		UNIT_TEST(given_random_id_data_when_normalised_then_invariants_hold),
		UNIT_END,
	};
	return unit_run("identity", tests);
}
