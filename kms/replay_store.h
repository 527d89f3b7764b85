/*
 * The replay cache across restarts (SECURITY.md, "Replay protection across
 * restarts").  In the state directory:
 *
 *   replay.snap         the live entries: written at every start (after the
 *                       files below were read) and at a clean stop (then
 *                       flagged clean), to a temporary file, fsync'ed,
 *                       renamed; also by each compaction (not fsync'ed)
 *   replay.journal      every entry accepted since the start or the last
 *                       compaction, stored before the answer into a slot
 *                       of the file, which is allocated to its full size
 *                       when created and mapped shared; no system call,
 *                       no fsync: a killed process loses nothing, the
 *                       kernel's page cache keeps the stores
 *   replay.journal.old  the journal before a compaction's rotation, until
 *                       that compaction's snapshot is in place
 *
 * Every file starts with a 64-byte versioned header that names the kernel's
 * boot id and the guard in force.  At start all three are read (a union:
 * expired entries dropped, duplicates merged).  The previous run's entries
 * are all back when its last snapshot is flagged clean, or when its journal
 * was written since this boot of the machine (the page cache survived).
 * Otherwise (machine restart, journal off, missing or damaged file, or an
 * entry that does not fit) messages stamped before this start are refused
 * until they are outside the skew window (replay_set_guard), and the guard
 * is saved in the headers so a quick second restart keeps it.
 *
 * Everything read is bounded: a file over 4 x capacity records (plus slack),
 * with a bad header, a size that does not match, or that is not a regular
 * file is renamed to NAME.bad and logged; entries are only ever put into
 * the fixed cache.  A journal slot whose expiry (stored last) is zero is
 * empty or was cut short by a kill before its answer: skipped.  When the
 * journal's slots run out (no compaction could create the next one: disk
 * full, file size limit) appends refuse their message (KMS_EUNAVAIL, fail
 * closed) until a compaction starts a fresh journal.
 */
#ifndef KMS_KMS_REPLAY_STORE_H
#define KMS_KMS_REPLAY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/replay.h"

#define REPLAY_BOOT_ID_LEN 16
#define REPLAY_SNAP_FILE "replay.snap"
#define REPLAY_JOURNAL_FILE "replay.journal"
#define REPLAY_JOURNAL_OLD_FILE "replay.journal.old"
#define REPLAY_FILE_HEADER 64 /* bytes before the 24-byte records */

typedef struct replay_store replay_store_t;

typedef struct {
	const char *dir; /* where the files are (kms.state_dir) */
	bool journal;	 /* journal every accepted entry (policy.replay_journal) */
	/* This boot of the kernel (replay_store_boot_id); zeros: unknown,
	 * then no journal is trusted after an unclean stop. */
	uint8_t boot_id[REPLAY_BOOT_ID_LEN];
	/* Records between compactions; 0: the cache's capacity (kmsd). */
	size_t compact_every;
} replay_store_cfg_t;

typedef enum {
	REPLAY_START_CLEAN = 0,	  /* the previous run stopped cleanly */
	REPLAY_START_JOURNAL = 1, /* it did not; its journal is whole */
	REPLAY_START_GUARDED = 2, /* not all of its entries are known */
} replay_start_t;

typedef struct {
	replay_start_t how;
	const char *why; /* REPLAY_START_GUARDED: why (a static string) */
	size_t restored; /* entries put back (duplicates across files once) */
	size_t expired;	 /* records skipped as expired */
	size_t lost;	 /* live records that could not be put back */
	size_t torn;	 /* journal slots cut short by a kill: skipped */
	int64_t guard;	 /* messages stamped before it are refused; 0 none */
} replay_start_info_t;

/*
 * Restore r (not yet shared) from cfg->dir at now, write the new start
 * snapshot, start the journal and install r's hook.  Logs which case
 * applied.  info may be NULL.  Fails only when the new state cannot be
 * written (kmsd then does not start: it could not keep its promise).
 */
int replay_store_open(replay_t *r, const replay_store_cfg_t *cfg, int64_t now,
		      replay_store_t **out, replay_start_info_t *info);

/* Clean stop, after the last request: snapshot (flagged clean,
 * fsync'ed), journal removed, st freed.  NULL is a no-op. */
int replay_store_close(replay_store_t *st, int64_t now);

/* Free st without a snapshot: what a killed process leaves (tests). */
void replay_store_free(replay_store_t *st);

/* Appends and compactions done so far (tests, logs). */
size_t replay_store_appends(const replay_store_t *st);
size_t replay_store_compactions(const replay_store_t *st);

/* Records a journal file holds: compact_every + max(compact_every / 4, 256). */
size_t replay_store_slots(const replay_store_t *st);

/* kmsd: replay_store_open() with this boot's id (read here) for dir. */
int replay_store_start(replay_t *r, const char *dir, bool journal, int64_t now,
		       replay_store_t **out);

/* The kernel's boot id (/proc/sys/kernel/random/boot_id); KMS_EOK, or an
 * error with out zeroed. */
int replay_store_boot_id(uint8_t out[REPLAY_BOOT_ID_LEN]);

#endif
