/*
 * The Zn dictionary (TS 29.109 section 6), defined in code: Debian's
 * freeDiameter has no 3GPP Zn extension.
 *
 * AVP flags: TS 29.109 table 6.3.1 gives the Zn AVPs (400-410) the flag
 * rules "Must: M, V"; the `pages` search for the table ("29.109
 * Bootstrapping-Info-Request AVP flag rules") found only the table of
 * contents of TS 29.109 (6.3.1 Common AVPs), not the table itself, and
 * Wireshark's dictionary.xml (installed with tshark) marks all of them
 * vendor-bit="must" and leaves M open.  We send V and M and require both:
 * a peer that clears M on a Zn AVP is refused with
 * DIAMETER_INVALID_AVP_BITS by freeDiameter's parser.
 *
 * Every fd_dict_new() tolerates EEXIST: the object (the 3GPP vendor, or
 * everything on a second call) is then looked up by its identity.
 */
#include "dia/zn_msg.h"

#include "common/errcode.h"

#include <string.h>

#define ZN_FLAGS (AVP_FLAG_VENDOR | AVP_FLAG_MANDATORY)

/* The object dict_new() is about to define, if it exists already. */
static struct dict_object *existing(struct dictionary *dict, enum dict_object_type type,
				    void *data, struct dict_object *parent)
{
	struct dict_object *o = NULL;
	switch (type) {
	case DICT_TYPE:
		fd_dict_search(dict, type, TYPE_BY_NAME,
			       ((struct dict_type_data *)data)->type_name, &o, ENOENT);
		break;
	case DICT_ENUMVAL: {
		struct dict_enumval_request rq = { .type_obj = parent };
		rq.search.enum_name = ((struct dict_enumval_data *)data)->enum_name;
		fd_dict_search(dict, type, ENUMVAL_BY_STRUCT, &rq, &o, ENOENT);
		break;
	}
	case DICT_AVP: {
		struct dict_avp_data *ad = data;
		struct dict_avp_request rq = { ad->avp_vendor, ad->avp_code, NULL };
		fd_dict_search(dict, type, AVP_BY_CODE_AND_VENDOR, &rq, &o, ENOENT);
		break;
	}
	case DICT_COMMAND:
		fd_dict_search(dict, type, CMD_BY_NAME,
			       ((struct dict_cmd_data *)data)->cmd_name, &o, ENOENT);
		break;
	case DICT_APPLICATION:
		fd_dict_search(dict, type, APPLICATION_BY_ID,
			       &((struct dict_application_data *)data)->application_id,
			       &o, ENOENT);
		break;
	default:
		break;
	}
	return o;
}

/*
 * fd_dict_new, or the existing object: looked up first, because
 * freeDiameter 1.2.1 leaks the copied name when fd_dict_new answers
 * EEXIST; EEXIST with the object is accepted too.
 */
static int dict_new(struct dictionary *dict, enum dict_object_type type, void *data,
		    struct dict_object *parent, struct dict_object **ref)
{
	*ref = existing(dict, type, data, parent);
	if (*ref != NULL)
		return 0;
	int rc = fd_dict_new(dict, type, data, parent, ref);
	if (rc == EEXIST && *ref != NULL)
		return 0;
	return rc;
}

static int base_avp(struct dictionary *dict, const char *name, struct dict_object **out)
{
	return fd_dict_search(dict, DICT_AVP, AVP_BY_NAME, name, out, ENOENT);
}

static int load_base(struct dictionary *dict, dia_zn_dict_t *d)
{
	static const struct {
		const char *name;
		size_t off;
	} names[] = {
#define B(n, f) { n, offsetof(dia_zn_dict_t, f) }
		B("Session-Id", session_id),
		B("Auth-Session-State", auth_session_state),
		B("Vendor-Specific-Application-Id", vsai),
		B("Vendor-Id", vendor_id),
		B("Auth-Application-Id", auth_app_id),
		B("Origin-Host", origin_host),
		B("Origin-Realm", origin_realm),
		B("Destination-Realm", dest_realm),
		B("Destination-Host", dest_host),
		B("User-Name", user_name),
		B("Result-Code", result_code),
		B("Experimental-Result", exp_result),
		B("Experimental-Result-Code", exp_result_code),
#undef B
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct dict_object **slot =
		    (struct dict_object **)(void *)((char *)d + names[i].off);
		int rc = base_avp(dict, names[i].name, slot);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* An Integer32-based enumerated type with its named values. */
static int enum_type(struct dictionary *dict, const char *tname, const char *const *vals,
		     int n, struct dict_object **type)
{
	struct dict_type_data td = { .type_base = AVP_TYPE_INTEGER32,
				     .type_name = (char *)tname };
	int rc = dict_new(dict, DICT_TYPE, &td, NULL, type);
	for (int i = 0; rc == 0 && i < n; i++) {
		struct dict_enumval_data ev = { .enum_name = (char *)vals[i] };
		ev.enum_value.i32 = i;
		struct dict_object *o = NULL;
		rc = dict_new(dict, DICT_ENUMVAL, &ev, *type, &o);
	}
	return rc;
}

static int zn_avp(dia_zn_dict_t *d, unsigned code, const char *name,
		  enum dict_avp_basetype base, struct dict_object *type)
{
	struct dict_avp_data ad = {
		.avp_code = code,
		.avp_vendor = DIA_VENDOR_3GPP,
		.avp_name = (char *)name,
		.avp_flag_mask = ZN_FLAGS,
		.avp_flag_val = ZN_FLAGS,
		.avp_basetype = base,
	};
	return dict_new(d->dict, DICT_AVP, &ad, type, &d->zn[code - 400]);
}

static int load_avps(dia_zn_dict_t *d)
{
	static const char *const yes_no[] = { "NO", "YES" };
	static const char *const gba_type[] = { "3G_GBA", "2G_GBA" };
	struct dict_object *time_t_ = NULL, *t407 = NULL, *t410 = NULL, *t403 = NULL;
	int rc =
	    fd_dict_search(d->dict, DICT_TYPE, TYPE_BY_NAME, "Time", &time_t_, ENOENT);
	if (rc == 0)
		rc = enum_type(d->dict, "Enumerated(3GPP/GBA_U-Awareness-Indicator)",
			       yes_no, 2, &t407);
	if (rc == 0)
		rc = enum_type(d->dict, "Enumerated(3GPP/GBA-Type)", gba_type, 2, &t410);
	if (rc == 0)
		rc = enum_type(d->dict, "Enumerated(3GPP/GAA-Service-Identifier)", NULL,
			       0, &t403);
	const enum dict_avp_basetype os = AVP_TYPE_OCTETSTRING, i32 = AVP_TYPE_INTEGER32;
	if (rc == 0)
		rc = zn_avp(d, 400, "GBA-UserSecSettings", os, NULL);
	if (rc == 0)
		rc = zn_avp(d, 401, "Transaction-Identifier", os, NULL);
	if (rc == 0)
		rc = zn_avp(d, 402, "NAF-Id", os, NULL);
	if (rc == 0)
		rc = zn_avp(d, 403, "GAA-Service-Identifier", i32, t403);
	if (rc == 0)
		rc = zn_avp(d, 404, "Key-ExpiryTime", os, time_t_);
	if (rc == 0)
		rc = zn_avp(d, 405, "ME-Key-Material", os, NULL);
	if (rc == 0)
		rc = zn_avp(d, 406, "UICC-Key-Material", os, NULL);
	if (rc == 0)
		rc = zn_avp(d, 407, "GBA_U-Awareness-Indicator", i32, t407);
	if (rc == 0)
		rc = zn_avp(d, 408, "BootstrapInfoCreationTime", os, time_t_);
	if (rc == 0)
		rc = zn_avp(d, 409, "GUSS-Timestamp", os, time_t_);
	if (rc == 0)
		rc = zn_avp(d, 410, "GBA-Type", i32, t410);
	return rc;
}

struct rule {
	struct dict_object *avp;
	enum rule_position pos;
	int min, max;
};

static int add_rules(struct dictionary *dict, struct dict_object *cmd,
		     const struct rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct dict_rule_data rd = {
			.rule_avp = r[i].avp,
			.rule_position = r[i].pos,
			.rule_order = r[i].pos == RULE_FIXED_HEAD ? 1 : 0,
			.rule_min = r[i].min,
			.rule_max = r[i].max,
		};
		int rc = fd_dict_new(dict, DICT_RULE, &rd, cmd, NULL);
		if (rc != 0 && rc != EEXIST)
			return rc;
	}
	return 0;
}

#define REQ(a)                                                                           \
	{                                                                                \
		(a), RULE_REQUIRED, -1, 1                                                \
	}
#define OPT(a)                                                                           \
	{                                                                                \
		(a), RULE_OPTIONAL, -1, 1                                                \
	}

/* TS 29.109 section 5.2.1: Bootstrapping-Info-Request and -Answer. */
static int load_cmds(dia_zn_dict_t *d)
{
	struct dict_cmd_data rq = { DIA_ZN_CMD_BI, "Bootstrapping-Info-Request",
				    CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE |
					CMD_FLAG_ERROR,
				    CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE };
	struct dict_cmd_data an = { DIA_ZN_CMD_BI, "Bootstrapping-Info-Answer",
				    CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE,
				    CMD_FLAG_PROXIABLE };
	int rc = dict_new(d->dict, DICT_COMMAND, &rq, d->app, &d->cmd_bir);
	if (rc == 0)
		rc = dict_new(d->dict, DICT_COMMAND, &an, d->app, &d->cmd_bia);
	if (rc != 0)
		return rc;
	const struct rule bir[] = {
		{ d->session_id, RULE_FIXED_HEAD, -1, 1 },
		REQ(d->vsai),
		REQ(d->origin_host),
		REQ(d->origin_realm),
		REQ(d->dest_realm),
		OPT(d->dest_host),
		REQ(d->auth_session_state),
		REQ(d->zn[401 - 400]),
		REQ(d->zn[402 - 400]),
		OPT(d->zn[403 - 400]),
		OPT(d->zn[407 - 400]),
	};
	const struct rule bia[] = {
		{ d->session_id, RULE_FIXED_HEAD, -1, 1 },
		REQ(d->vsai),
		OPT(d->result_code),
		OPT(d->exp_result),
		REQ(d->auth_session_state),
		REQ(d->origin_host),
		REQ(d->origin_realm),
		OPT(d->user_name),
		OPT(d->zn[405 - 400]),
		OPT(d->zn[406 - 400]),
		OPT(d->zn[404 - 400]),
		OPT(d->zn[408 - 400]),
		OPT(d->zn[400 - 400]),
		OPT(d->zn[410 - 400]),
	};
	rc = add_rules(d->dict, d->cmd_bir, bir, sizeof(bir) / sizeof(bir[0]));
	if (rc == 0)
		rc = add_rules(d->dict, d->cmd_bia, bia, sizeof(bia) / sizeof(bia[0]));
	return rc;
}

int dia_zn_dict_load(struct dictionary *dict, dia_zn_dict_t *d)
{
	memset(d, 0, sizeof(*d));
	d->dict = dict;
	int rc = load_base(dict, d);
	if (rc != 0)
		return rc;
	/* The 3GPP vendor may come from another dictionary extension. */
	vendor_id_t vid = DIA_VENDOR_3GPP;
	rc = fd_dict_search(dict, DICT_VENDOR, VENDOR_BY_ID, &vid, &d->vendor, ENOENT);
	if (rc == ENOENT) {
		struct dict_vendor_data vd = { DIA_VENDOR_3GPP, "3GPP" };
		rc = dict_new(dict, DICT_VENDOR, &vd, NULL, &d->vendor);
	}
	if (rc != 0)
		return rc;
	struct dict_application_data ad = { DIA_ZN_APP_ID, "3GPP Zn" };
	rc = dict_new(dict, DICT_APPLICATION, &ad, d->vendor, &d->app);
	if (rc == 0)
		rc = load_avps(d);
	if (rc == 0)
		rc = load_cmds(d);
	return rc;
}
