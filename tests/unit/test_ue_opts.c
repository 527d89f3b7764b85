/* kms-ue's table-driven option parser (tools/ue_opts.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "tools/ue_opts.h"

#define ARGS_MAX 32

/* What one parse did: the usage printed (and where), the argv after. */
static int usage_calls;
static FILE *usage_to;
static char *argv_after[ARGS_MAX + 1];

static void usage(FILE *f)
{
	usage_calls++;
	usage_to = f;
}

/* The destinations of every kind, with their defaults. */
typedef struct {
	bool flag;
	const char *str;
	const char *list[3];
	size_t nlist;
	uint32_t num;
	int choice;
	const char *req;
} dest_t;

static const char *const words[] = { "one", "two", NULL };
static const int values[] = { 1, 2 };

static int refuse_bad(const char *what, const char *arg)
{
	(void)what;
	return strcmp(arg, "bad") == 0 ? -1 : 0;
}

static void dest_init(dest_t *d)
{
	memset(d, 0, sizeof(*d));
	d->str = "default";
	d->num = 7;
	d->choice = -1;
}

/* Parse "cmd" args... (NULL-ended) with every kind, min..max operands. */
static int parse_all(dest_t *d, bool req, int min_args, int max_args, int *first,
		     const char *const *args)
{
	const ue_opt_t opts[] = {
		{ UE_FLAG("flag", 'f', &d->flag) },
		{ UE_STRING("str", 's', &d->str), .check = refuse_bad },
		{ UE_LIST("item", 0, d->list, &d->nlist, 3), .check = refuse_bad },
		{ UE_U32("num", 'n', &d->num, 1, 600, "seconds") },
		{ UE_CHOICE("choice", 0, &d->choice, words, values, "one or two") },
		{ UE_STRING("req", 0, &d->req), .required = req },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, min_args, max_args };
	int argc = 1;
	argv_after[0] = (char *)"cmd";
	for (; args[argc - 1] != NULL && argc < ARGS_MAX; argc++) {
		argv_after[argc] = (char *)args[argc - 1];
	}
	argv_after[argc] = NULL;
	usage_calls = 0;
	usage_to = NULL;
	*first = -1;
	return ue_opts_parse(&spec, argc, argv_after, first);
}

#define PARSE(d, first, ...)                                                             \
	parse_all((d), false, 0, 0, (first), (const char *const[]){ __VA_ARGS__, NULL })

static void test_given_every_kind_when_parsed_then_each_destination_is_set(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--flag", "--str", "x", "--item", "a", "--num",
			      "600", "--choice", "two", "--req", "r"),
			UE_OPTS_OK);
	CU_ASSERT_TRUE(d.flag);
	CU_ASSERT_STRING_EQUAL(d.str, "x");
	CU_ASSERT_EQUAL(d.nlist, 1);
	CU_ASSERT_STRING_EQUAL(d.list[0], "a");
	CU_ASSERT_EQUAL(d.num, 600);
	CU_ASSERT_EQUAL(d.choice, 2);
	CU_ASSERT_STRING_EQUAL(d.req, "r");
	CU_ASSERT_EQUAL(first, 12);
	CU_ASSERT_EQUAL(usage_calls, 0);
}

static void test_given_short_options_when_parsed_then_they_act_as_long_ones(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "-f", "-s", "y", "-n1"), UE_OPTS_OK);
	CU_ASSERT_TRUE(d.flag);
	CU_ASSERT_STRING_EQUAL(d.str, "y");
	CU_ASSERT_EQUAL(d.num, 1);
}

static void test_given_no_options_when_parsed_then_the_defaults_stay(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(parse_all(&d, false, 0, 0, &first, (const char *const[]){ NULL }),
			UE_OPTS_OK);
	CU_ASSERT_FALSE(d.flag);
	CU_ASSERT_STRING_EQUAL(d.str, "default");
	CU_ASSERT_EQUAL(d.nlist, 0);
	CU_ASSERT_EQUAL(d.num, 7);
	CU_ASSERT_EQUAL(d.choice, -1);
	CU_ASSERT_PTR_NULL(d.req);
	CU_ASSERT_EQUAL(first, 1);
}

static void test_given_help_when_parsed_then_the_usage_goes_to_stdout(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--flag", "--help"), UE_OPTS_HELP);
	CU_ASSERT_EQUAL(usage_calls, 1);
	CU_ASSERT_PTR_EQUAL(usage_to, stdout);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "-h"), UE_OPTS_HELP);
	CU_ASSERT_PTR_EQUAL(usage_to, stdout);
	/* A required option is not needed for --help. */
	CU_ASSERT_EQUAL(
	    parse_all(&d, true, 0, 0, &first, (const char *const[]){ "--help", NULL }),
	    UE_OPTS_HELP);
}

static void test_given_an_unknown_option_when_parsed_then_usage_on_stderr(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--bogus"), UE_OPTS_ERROR);
	CU_ASSERT_EQUAL(usage_calls, 1);
	CU_ASSERT_PTR_EQUAL(usage_to, stderr);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "-x"), UE_OPTS_ERROR);
	CU_ASSERT_PTR_EQUAL(usage_to, stderr);
	/* A flag given an argument is wrong too. */
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--flag=1"), UE_OPTS_ERROR);
	CU_ASSERT_EQUAL(first, -1);
}

static void test_given_a_missing_argument_when_parsed_then_usage_on_stderr(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--str"), UE_OPTS_ERROR);
	CU_ASSERT_PTR_EQUAL(usage_to, stderr);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "-n"), UE_OPTS_ERROR);
	CU_ASSERT_PTR_EQUAL(usage_to, stderr);
	CU_ASSERT_STRING_EQUAL(d.str, "default");
	CU_ASSERT_EQUAL(d.num, 7);
}

static void test_given_a_bad_number_when_parsed_then_refused_unchanged(void)
{
	static const char *const bad[] = {
		"0",  "601",  "4294967296", "99999999999999999999", "12x", "", "-1", "+1",
		" 1", "0x10", "1.0"
	};
	dest_t d;
	int first;
	dest_init(&d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(PARSE(&d, &first, "--num", bad[i]), UE_OPTS_ERROR);
		CU_ASSERT_EQUAL(d.num, 7);
		CU_ASSERT_EQUAL(usage_calls, 0); /* "--num: 1 to 600 seconds" only */
	}
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--num", "1"), UE_OPTS_OK);
	CU_ASSERT_EQUAL(d.num, 1);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--num", "0600"), UE_OPTS_OK);
	CU_ASSERT_EQUAL(d.num, 600);
}

static void test_given_a_bad_choice_or_value_when_parsed_then_refused(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--choice", "three"), UE_OPTS_ERROR);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--choice", "ONE"), UE_OPTS_ERROR);
	CU_ASSERT_EQUAL(d.choice, -1);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--choice", "one"), UE_OPTS_OK);
	CU_ASSERT_EQUAL(d.choice, 1);
	/* The check of a string or list refuses before anything is stored. */
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--str", "bad"), UE_OPTS_ERROR);
	CU_ASSERT_STRING_EQUAL(d.str, "default");
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--item", "bad"), UE_OPTS_ERROR);
	CU_ASSERT_EQUAL(d.nlist, 0);
}

static void test_given_a_repeated_option_when_parsed_then_last_wins_lists_collect(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--str", "a", "--str", "b", "--num", "5", "-n",
			      "6", "--choice", "one", "--choice", "two", "-f", "-f"),
			UE_OPTS_OK);
	CU_ASSERT_STRING_EQUAL(d.str, "b");
	CU_ASSERT_EQUAL(d.num, 6);
	CU_ASSERT_EQUAL(d.choice, 2);
	CU_ASSERT_TRUE(d.flag);
	dest_init(&d);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--item", "a", "--item", "b", "--item", "c"),
			UE_OPTS_OK);
	CU_ASSERT_EQUAL(d.nlist, 3);
	CU_ASSERT_STRING_EQUAL(d.list[2], "c");
	dest_init(&d);
	CU_ASSERT_EQUAL(
	    PARSE(&d, &first, "--item", "a", "--item", "b", "--item", "c", "--item", "d"),
	    UE_OPTS_ERROR);
	CU_ASSERT_EQUAL(d.nlist, 3);
}

static void test_given_double_dash_when_parsed_then_the_rest_are_operands(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(
	    parse_all(&d, false, 0, 2, &first,
		      (const char *const[]){ "--flag", "--", "--str", "x", NULL }),
	    UE_OPTS_OK);
	CU_ASSERT_TRUE(d.flag);
	CU_ASSERT_STRING_EQUAL(d.str, "default");
	CU_ASSERT_EQUAL(first, 3);
	CU_ASSERT_STRING_EQUAL(argv_after[first], "--str");
	CU_ASSERT_STRING_EQUAL(argv_after[first + 1], "x");
	/* A lone "--" ends the options and is no operand. */
	CU_ASSERT_EQUAL(PARSE(&d, &first, "--flag", "--"), UE_OPTS_OK);
	CU_ASSERT_EQUAL(first, 3);
	/* "-" is an operand (stdin), not an option. */
	CU_ASSERT_EQUAL(
	    parse_all(&d, false, 1, 1, &first, (const char *const[]){ "-", NULL }),
	    UE_OPTS_OK);
	CU_ASSERT_STRING_EQUAL(argv_after[first], "-");
}

static void test_given_operands_when_parsed_then_counted_and_moved_last(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(parse_all(&d, false, 1, 1, &first,
				  (const char *const[]){ "file", "--flag", NULL }),
			UE_OPTS_OK);
	CU_ASSERT_TRUE(d.flag);
	CU_ASSERT_EQUAL(first, 2);
	CU_ASSERT_STRING_EQUAL(argv_after[first], "file");
	CU_ASSERT_EQUAL(
	    parse_all(&d, false, 1, 1, &first, (const char *const[]){ "--flag", NULL }),
	    UE_OPTS_ERROR);
	CU_ASSERT_PTR_EQUAL(usage_to, stderr);
	CU_ASSERT_EQUAL(PARSE(&d, &first, "extra"), UE_OPTS_ERROR);
	CU_ASSERT_PTR_EQUAL(usage_to, stderr);
}

static void test_given_a_required_option_missing_when_parsed_then_usage(void)
{
	dest_t d;
	int first;
	dest_init(&d);
	CU_ASSERT_EQUAL(
	    parse_all(&d, true, 0, 0, &first, (const char *const[]){ "--flag", NULL }),
	    UE_OPTS_ERROR);
	CU_ASSERT_EQUAL(usage_calls, 1);
	CU_ASSERT_PTR_EQUAL(usage_to, stderr);
	CU_ASSERT_EQUAL(
	    parse_all(&d, true, 0, 0, &first, (const char *const[]){ "--req", "", NULL }),
	    UE_OPTS_OK);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(test_given_every_kind_when_parsed_then_each_destination_is_set),
		UNIT_TEST(
		    test_given_short_options_when_parsed_then_they_act_as_long_ones),
		UNIT_TEST(test_given_no_options_when_parsed_then_the_defaults_stay),
		UNIT_TEST(test_given_help_when_parsed_then_the_usage_goes_to_stdout),
		UNIT_TEST(test_given_an_unknown_option_when_parsed_then_usage_on_stderr),
		UNIT_TEST(test_given_a_missing_argument_when_parsed_then_usage_on_stderr),
		UNIT_TEST(test_given_a_bad_number_when_parsed_then_refused_unchanged),
		UNIT_TEST(test_given_a_bad_choice_or_value_when_parsed_then_refused),
		UNIT_TEST(
		    test_given_a_repeated_option_when_parsed_then_last_wins_lists_collect),
		UNIT_TEST(test_given_double_dash_when_parsed_then_the_rest_are_operands),
		UNIT_TEST(test_given_operands_when_parsed_then_counted_and_moved_last),
		UNIT_TEST(test_given_a_required_option_missing_when_parsed_then_usage),
		UNIT_END,
	};
	return unit_run("ue_opts", tests);
}
