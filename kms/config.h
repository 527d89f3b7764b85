/*
 * kmsd configuration: one schema table (kms/config.c) describes every
 * setting of the libconfig file with its type, default and range; unknown
 * keys and out-of-range values are errors with file:line.  Every setting
 * has an embedded default, so kmsd runs without a file.
 */
#ifndef KMS_KMS_CONFIG_H
#define KMS_KMS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	/* [ua] */
	char listen[64];	   /* address, default "127.0.0.1" */
	uint16_t port;		   /* default 8080 */
	char base_path[64];	   /* default "/kms" */
	unsigned threads;	   /* default (and 0 in the file): number of cores */
	size_t max_body;	   /* bytes, default 16384 (MIKEY_MSG_MAX) */
	unsigned max_conns;	   /* default 1024 */
	unsigned conn_timeout;	   /* seconds, default 10 */
	unsigned max_conns_per_ip; /* default 256; 0 = no per-address limit */
	size_t conn_memory;	   /* bytes per connection (headers), default 32768 */
	/* HTTPS on Ua: PEM certificate (chain) and private key, both or
	 * neither (default ""); the names need a restart, their contents are
	 * re-read on SIGHUP (net/tls.h). */
	char tls_cert[256];
	char tls_key[256];
	/* Rate limits, answered 429 with Retry-After (docs/http-binding.md);
	 * a rate of 0 turns that limit off. */
	uint32_t rate_per_address;   /* requests/s per client address, 50000 */
	uint32_t burst_per_address;  /* bucket size, default 100000 */
	uint32_t rate_per_identity;  /* per authenticated identity, 50000 */
	uint32_t burst_per_identity; /* default 100000 */
	size_t rate_table_entries;   /* buckets per table, default 65536 */

	/* Slow clients (net/conntrack.h): seconds from the request line to
	 * the whole request (default 10); connections sending a request at
	 * once (default 256) and from one address (default 16); 0: no cap. */
	unsigned request_timeout;
	unsigned max_sending;
	unsigned max_sending_per_ip;
	/* Refusals carry X-KMS-Error: KMS_E<NAME> reason (Ua and Zk), default
	 * false; before the MAC check only framing/decoding reasons. */
	bool error_detail;

	/* [kms] */
	char kms_id[256];    /* IDRkms, default "kms.example.org" */
	char state_dir[256]; /* default "./var" */
	char kek_file[256];  /* default "<state_dir>/kek" */
	char keys_db[256];   /* default "<state_dir>/kms.db" (keyring + PSK users) */
	char audit_db[256];  /* default "<state_dir>/audit.db" */
	/* Where both stores live: "sqlite" (default: keys_db and audit_db) or
	 * "postgresql" (one database named by conninfo, a libpq connection
	 * string such as "host=db1 dbname=kms" or "service=kms"; never logged,
	 * so keep passwords in ~/.pgpass or a service file instead). */
	char store[16];
	char conninfo[1024];
	/* This node's name in audit rows; "" (default): the host name. */
	char node[64];
	/* Derived: the sql/db.h locators of the two stores, the node name. */
	char keys_loc[1100];
	char audit_loc[1100];
	char node_name[64];
	char psk_source[16]; /* "static" (default), "gba" or "both" */
	/* Ticket Type issued when a TP asks for none this KMS serves:
	 * "private" (0xF000, default), "1" or "2" (docs/mikey-profile.md). */
	char ticket_type[16];
	/* Also accept a REQUEST_INIT / RESOLVE_INIT without IDRkms whose MAC
	 * covers only the identities present (a deviation from RFC 6043 5.5
	 * and 12.4); default false. */
	bool accept_mac_without_kms_id;
	/* The account kmsd switches to after start-up (kms/privdrop.c): a
	 * name or a decimal id; "" (default) keeps the starting identity. */
	char user[64];
	char group[64]; /* "" (default): the user's primary group */
	/* kmsd's process id, written once the listeners are bound (0644),
	 * removed on a clean stop; "" (default): none. */
	char pidfile[256];
	/* [policy] */
	uint32_t clock_skew;	      /* seconds, default 300 */
	uint32_t ticket_lifetime;     /* default granted lifetime, seconds, 3600 */
	uint32_t max_ticket_lifetime; /* cap, seconds, default 86400 */
	bool allow_reuse;	      /* grant J when requested, default true */
	/* Key forking (flag I): "always" (default, TS 33.328 6.2.3.6) or
	 * "on_request" (not 3GPP: only when asked, or for group responders). */
	char forking[16];
	/* Defaults where no policy rule matches (docs/policy.md). */
	char default_effect[8];		/* "allow" (default) or "deny" */
	bool default_group_tickets;	/* group responders allowed, default true */
	bool default_initiator_keys;	/* grant L when requested, default false */
	bool default_initiator_tickets; /* resolve D = 0 tickets, default false */
	uint32_t reload_interval;	/* seconds between rule-change checks, 2; 0 off */
	size_t replay_entries;		/* replay cache capacity, default 1048576 */
	bool replay_journal;		/* journal accepted entries, default true */
	size_t audit_queue;		/* default 65536 */
	/* [audit]: the audit log (kms/audit.h) */
	char audit_on_failure[8];	   /* "refuse" (default) or "serve" */
	bool audit_durable;		   /* answer after the commit, default false */
	uint32_t audit_durable_timeout_ms; /* longest wait for it, default 2000 */
	uint64_t audit_max_size;	   /* bytes of audit.db, 0 (default): none */
	uint32_t audit_sample_interval;	   /* s, sampled refusals, default 10 */
	/* [replay]: the replay check shared by several nodes
	 * (kms/replay_shared.h); PostgreSQL store only. */
	bool replay_shared;		 /* default false: node-local only */
	char replay_on_store_failure[8]; /* "refuse" (default) or "local" */
	/* [resolve]: the resolve-once record of tickets with J = 0
	 * (kms/resolve_once.h): in the replay store with replay.shared, else
	 * in state_dir/resolve_once.db of this node. */
	bool resolve_once;		 /* default false */
	size_t resolve_once_max_entries; /* SQLite row bound, default 1048576 */
	/* [naf]: the GBA PSK source (Zn client and key cache, kms/naf.c) */
	bool naf_enabled;	 /* default false; needed by psk_source gba/both */
	char naf_bsf_url[256];	 /* Zn URL, default "http://127.0.0.1:8081/zn" */
	char naf_fqdn[256];	 /* NAF_Id FQDN, default "kms.example.org" */
	uint32_t naf_timeout_ms; /* whole Zn request, default 2000 */
	uint32_t naf_connect_timeout_ms; /* default 500 */
	uint32_t naf_retries;		 /* after connection errors / 5xx, default 1 */
	size_t naf_cache_entries;	 /* default 65536 */
	uint32_t naf_negative_ttl;	 /* seconds a refusal is remembered, default 30 */
	char naf_zn[16];		 /* "http" (default, JSON) or "diameter" */
	char naf_diameter_conf[256];	 /* freeDiameter's file, with "diameter" */
	/* [zk]: federation with peer KMSs (docs/federation.md) */
	bool zk_enabled;	/* default false */
	char zk_listen[64];	/* default "127.0.0.1" */
	uint16_t zk_port;	/* default 8443 */
	char zk_path[64];	/* default "/kms" */
	char zk_cert_file[256]; /* this KMS's certificate (server and client), PEM */
	char zk_key_file[256];	/* its private key, PEM */
	char zk_ca_file[256];	/* CA bundle peers' client certificates chain to */
	unsigned zk_threads;	/* Zk listener threads, default 2 */
	unsigned zk_max_conns;	/* default 256 */
	uint32_t zk_timeout_ms; /* one forwarded resolve, default 2000 */
	uint32_t zk_connect_timeout_ms; /* default 500 */
	uint32_t zk_retries;		/* after connection failures, default 1 */
	uint32_t zk_breaker_failures;	/* failures in a row that open it, 3 */
	uint32_t zk_breaker_open_ms;	/* how long it stays open, 5000 */
	uint32_t zk_rate_per_address;	/* per peer address, 50000; 0 off */
	uint32_t zk_burst_per_address;	/* default 100000 */

	/* Slow clients on Zk, as on Ua: defaults 10 s, 64, 16. */
	unsigned zk_request_timeout;
	unsigned zk_max_sending;
	unsigned zk_max_sending_per_ip;

	/* [metrics]: the Prometheus endpoint (docs/metrics.md) */
	char metrics_listen[64]; /* default "127.0.0.1" */
	uint16_t metrics_port;	 /* GET /metrics; default 0 = off */

	/* [log] */
	char log_level[16];  /* default "info" */
	char log_target[16]; /* "stderr" or "syslog", default "stderr" */
	char log_format[8];  /* "text" or "json" (one object a line), default "text" */
	bool log_core_dumps; /* default false: not dumpable, RLIMIT_CORE 0 */
} kms_config_t;

/* The Ticket Type of cfg->ticket_type (0xF000, 1 or 2). */
uint16_t kms_config_ticket_type(const kms_config_t *cfg);

/* True when cfg->forking is "always". */
bool kms_config_forking_always(const kms_config_t *cfg);

/* kms.user and kms.group resolved to ids (kms_config_runas). */
typedef struct {
	bool set; /* kms.user is set */
	uid_t uid;
	gid_t gid; /* kms.group, or the user's primary group */
} kms_config_runas_t;

/*
 * Resolve kms.user and kms.group (names through the system's user and
 * group databases, or decimal ids, which need no entry) into *out; with
 * kms.user empty, out->set is false.  KMS_ENOENT: an unknown name;
 * KMS_EINVAL: kms.group without kms.user, uid or gid 0 (root is not a
 * service account), or a user id without an entry and no kms.group.  On
 * error why (may be NULL, why_len bytes) says which; *out is set only on
 * success.  kms_config_load() checks this already.
 */
int kms_config_runas(const kms_config_t *cfg, kms_config_runas_t *out, char *why,
		     size_t why_len);

/* Fill cfg with the embedded defaults. */
void kms_config_defaults(kms_config_t *cfg);

/*
 * Load path over the defaults (cfg need not be initialised).  On error
 * returns KMS_ECONFIG, leaves cfg untouched and writes a message naming
 * file:line and the setting into err (err_len bytes).  kek_file, keys_db
 * and audit_db that the file does not set are derived from state_dir.
 */
int kms_config_load(const char *path, kms_config_t *cfg, char *err, size_t err_len);

/* What to call the kms store (audit: the audit store) in a message: its
 * file, or the PostgreSQL store (a connection string is never shown). */
const char *kms_config_store_label(const kms_config_t *cfg, bool audit);
/* kms.store is "postgresql". */
bool kms_config_uses_pg(const kms_config_t *cfg);

/* naf.zn = "diameter": Zn over Diameter (the process's freeDiameter peer). */
bool kms_config_zn_diameter(const kms_config_t *cfg);

/* The largest text kms_config_load_buffer() reads. */
#define KMS_CONFIG_TEXT_MAX (1024 * 1024)

/*
 * As kms_config_load(), on the text of a file already in memory (len
 * bytes, no NUL byte, at most KMS_CONFIG_TEXT_MAX); name stands for the
 * file in error messages.  What the text @includes is read from files as
 * kms_config_load() would.
 */
int kms_config_load_buffer(const char *text, size_t len, const char *name,
			   kms_config_t *cfg, char *err, size_t err_len);

/* One setting of the schema, as kms_config_item() describes it. */
typedef enum {
	KMS_CONFIG_STR = 0,
	KMS_CONFIG_UINT = 1,
	KMS_CONFIG_BOOL = 2,
} kms_config_type_t;

typedef struct {
	const char *name; /* "group.name", as in the file */
	kms_config_type_t type;
	char def[64];	   /* the default as text: the string, decimal, true/false */
	uint64_t min, max; /* KMS_CONFIG_UINT: the range */
	bool restart;	   /* a reload does not apply it: it needs a restart */
} kms_config_item_t;

/* The number of settings in the schema. */
size_t kms_config_item_count(void);

/* Setting i of the schema (in file order) into *out; false past the end. */
bool kms_config_item(size_t i, kms_config_item_t *out);

/*
 * The settings whose values differ between a and b (all, or only those
 * flagged restart): their dotted names, in schema order, go to names (at
 * most max; names may be NULL).  Returns how many differ, which may exceed
 * max.  The names are static strings.  A path the file left to follow
 * kms.state_dir (kek_file, keys_db, audit_db) is not named itself when it
 * moved with kms.state_dir: "kms.state_dir" is, once (with restart_only
 * too, since audit_db moves only on a restart).
 */
size_t kms_config_diff(const kms_config_t *a, const kms_config_t *b, const char **names,
		       size_t max, bool restart_only);

/*
 * Where path sets the setting name ("group.name"): its line (0 when the
 * file does not set it, or cannot be read) and the file it is in (path,
 * or a file it @includes) into file (file_len bytes).
 */
unsigned kms_config_line(const char *path, const char *name, char *file, size_t file_len);

/* What kmsd's command line puts over the file (-l, -p, -u); it applies
 * on every reload too, so that a reload does not see them as changed. */
typedef struct {
	char listen[64]; /* ua.listen; "": the file's */
	uint16_t port;	 /* ua.port; 0: the file's */
	char user[64];	 /* kms.user; "": the file's */
} kms_config_override_t;

/* Put ov over cfg, checked as the file's values are (kms.user resolved);
 * KMS_ECONFIG with "OPTION: reason" in err, cfg untouched on error. */
int kms_config_override(kms_config_t *cfg, const kms_config_override_t *ov, char *err,
			size_t err_len);

/* Copy every setting flagged restart from running into cfg: what a reload
 * applies is then cfg, while the listeners and the process-wide parts keep
 * the values they started with. */
void kms_config_keep_restart(kms_config_t *cfg, const kms_config_t *running);

#endif
