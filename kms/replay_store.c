/*
 * Replay state files (kms/replay_store.h): header and record codec, the
 * loader (bounded, damaged files set aside), the snapshot writer, the
 * journal hook and its compaction.
 *
 * Concurrency: request threads append under a read lock on the journal
 * mapping, each into the slot an atomic fetch-add gave it; a rotation
 * swaps the mapping under the write lock (held for the pointer swap only,
 * never for the scan).  A compaction rotates
 * first and scans second, so an entry added before the rotation is in the
 * cache when its shard is scanned and one added after is in the new
 * journal: every entry is in a file that survives.  One compaction at a
 * time (busy flag); the request that crosses the threshold runs it.
 */
#include "kms/replay_store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/log.h"

#define MAGIC "KMSRPLAY"
#define SNAP_VERSION 1u	   /* tag 16 | expiry 8, count in the header */
#define JOURNAL_VERSION 2u /* pre-sized, mapped; zero expiry: empty slot */
#define KIND_SNAP 1u
#define KIND_JOURNAL 2u
#define FLAG_CLEAN 1u
#define REC_LEN REPLAY_ENTRY_BYTES
#define CHUNK 512	 /* records per read or write */
#define LOAD_SLACK 65536 /* records past the journal cap a file may hold */
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define PATH_LEN 512

typedef struct {
	uint32_t kind, flags;
	uint8_t boot_id[REPLAY_BOOT_ID_LEN];
	int64_t created, guard;
	uint64_t count; /* records (snapshot) or slots (journal) that follow */
} hdr_t;

struct replay_store {
	replay_t *r;
	char dir[PATH_LEN], snap[PATH_LEN], tmp[PATH_LEN], jnl[PATH_LEN], old[PATH_LEN];
	bool journal;
	uint8_t boot_id[REPLAY_BOOT_ID_LEN];
	int64_t guard;		/* written into every header */
	pthread_rwlock_t lock;	/* map: appenders read, rotation writes */
	uint8_t *map;		/* the journal, mapped; NULL when none */
	atomic_size_t next;	/* the journal's next free slot */
	size_t slots;		/* records a journal holds */
	atomic_size_t appends;	/* records appended since the start */
	atomic_size_t next_try; /* appends at which to compact next */
	size_t compact_every;	/* records between compactions */
	size_t load_max;	/* records a file read at start may hold */
	atomic_bool busy;	/* a compaction (or recovery) is running */
	pthread_mutex_t mu;	/* with cv: a full journal waits for the next */
	pthread_cond_t cv;
	uint64_t gen;	    /* journals started (under mu) */
	atomic_bool broken; /* appends fail until a compaction succeeds */
	_Atomic int64_t retry_at;
	bool old_pending; /* "old" holds entries no snapshot has yet */
	atomic_size_t compactions;
};

/* --- codec --------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

/* magic 8 | version 4 | kind 4 | flags 4 | record length 4 | boot id 16 |
 * created 8 | guard 8 | count 8, little-endian: 64 bytes. */
static uint32_t version_of(uint32_t kind)
{
	return kind == KIND_JOURNAL ? JOURNAL_VERSION : SNAP_VERSION;
}

static void hdr_encode(const hdr_t *h, uint8_t b[REPLAY_FILE_HEADER])
{
	memcpy(b, MAGIC, 8);
	put32(b + 8, version_of(h->kind));
	put32(b + 12, h->kind);
	put32(b + 16, h->flags);
	put32(b + 20, REC_LEN);
	memcpy(b + 24, h->boot_id, REPLAY_BOOT_ID_LEN);
	put64(b + 40, (uint64_t)h->created);
	put64(b + 48, (uint64_t)h->guard);
	put64(b + 56, h->count);
}

static const char *hdr_decode(const uint8_t b[REPLAY_FILE_HEADER], uint32_t kind,
			      hdr_t *h)
{
	if (memcmp(b, MAGIC, 8) != 0) {
		return "not a replay state file";
	}
	if (get32(b + 8) != version_of(kind) || get32(b + 20) != REC_LEN) {
		return "unknown version";
	}
	h->kind = get32(b + 12);
	h->flags = get32(b + 16);
	if (h->kind != kind || (h->flags & ~FLAG_CLEAN) != 0) {
		return "wrong kind or flags";
	}
	memcpy(h->boot_id, b + 24, REPLAY_BOOT_ID_LEN);
	h->created = (int64_t)get64(b + 40);
	h->guard = (int64_t)get64(b + 48);
	h->count = get64(b + 56);
	return NULL;
}

static void rec_encode(const replay_rec_t *r, uint8_t *b)
{
	memcpy(b, r->tag, REPLAY_TAG_LEN);
	put64(b + REPLAY_TAG_LEN, (uint64_t)r->expires);
}

static void rec_decode(const uint8_t *b, replay_rec_t *r)
{
	memcpy(r->tag, b, REPLAY_TAG_LEN);
	r->expires = (int64_t)get64(b + REPLAY_TAG_LEN);
}

static void hdr_for(const replay_store_t *st, uint32_t kind, uint32_t flags, int64_t now,
		    hdr_t *h)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->flags = flags;
	memcpy(h->boot_id, st->boot_id, REPLAY_BOOT_ID_LEN);
	h->created = now;
	h->guard = st->guard;
}

/* --- plain I/O ------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return w < 0 ? -errno : KMS_EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return KMS_EOK;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t got = read(fd, p, n);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			return got < 0 ? -errno : KMS_EIO;
		}
		p += got;
		n -= (size_t)got;
	}
	return KMS_EOK;
}

/* fsync the directory, so that a rename survives a machine crash. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	int ret = fsync(fd) == 0 ? KMS_EOK : -errno;
	close(fd);
	return ret;
}

/* --- snapshot ------------------------------------------------------------ */

static int write_records(replay_store_t *st, int fd, int64_t now, uint64_t *count)
{
	replay_rec_t recs[CHUNK];
	uint8_t buf[CHUNK * REC_LEN];
	size_t cursor = 0, n;
	int ret = KMS_EOK;

	*count = 0;
	do {
		n = replay_live(st->r, &cursor, now, recs, CHUNK);
		for (size_t i = 0; i < n; i++) {
			rec_encode(&recs[i], buf + i * REC_LEN);
		}
		ret = write_all(fd, buf, n * REC_LEN);
		*count += n;
	} while (ret == KMS_EOK && n == CHUNK); /* fewer: the walk is done */
	return ret;
}

/*
 * The live entries into st->snap: a temporary file, renamed over it.
 * sync: fsync the file and the directory (start and clean stop; a
 * compaction does not: only a machine crash loses page-cache writes, and
 * after one the journal is not trusted anyway).
 */
static int snapshot(replay_store_t *st, int64_t now, bool clean, bool sync)
{
	uint8_t b[REPLAY_FILE_HEADER] = { 0 };
	hdr_t h;
	int fd =
	    open(st->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		return -errno;
	}
	int ret = write_all(fd, b, sizeof(b)); /* the header comes last */
	if (ret == KMS_EOK) {
		hdr_for(st, KIND_SNAP, clean ? FLAG_CLEAN : 0, now, &h);
		ret = write_records(st, fd, now, &h.count);
	}
	if (ret == KMS_EOK) {
		hdr_encode(&h, b);
		ret =
		    pwrite(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b) ? KMS_EOK : KMS_EIO;
	}
	if (ret == KMS_EOK && sync && fsync(fd) != 0) {
		ret = -errno;
	}
	if (close(fd) != 0 && ret == KMS_EOK) {
		ret = -errno;
	}
	if (ret == KMS_EOK && rename(st->tmp, st->snap) != 0) {
		ret = -errno;
	}
	if (ret != KMS_EOK) {
		unlink(st->tmp);
		return ret;
	}
	return sync ? sync_dir(st->dir) : KMS_EOK;
}

/* --- loading ------------------------------------------------------------- */

typedef enum {
	FILE_MISSING = 0,
	FILE_OK = 1,
	FILE_BAD = 2,
} fstate_t;

typedef struct {
	fstate_t state;
	const char *why; /* FILE_BAD: what is wrong */
	hdr_t hdr;
	size_t records, restored, expired, lost;
	size_t torn; /* journal slots with a tag but no expiry yet */
} loaded_t;

/* A journal slot whose expiry (stored last) is still zero: empty, or an
 * append cut short by a kill (its message was not answered). */
static bool slot_empty(const uint8_t *b, loaded_t *l)
{
	static const uint8_t zero[REC_LEN];
	if (memcmp(b + REPLAY_TAG_LEN, zero, 8) != 0) {
		return false;
	}
	l->torn += memcmp(b, zero, REPLAY_TAG_LEN) != 0;
	return true;
}

/* Put back n records; count the outcomes. */
static void restore_chunk(replay_store_t *st, const uint8_t *buf, size_t n, int64_t now,
			  loaded_t *l)
{
	for (size_t i = 0; i < n; i++) {
		replay_rec_t rec;
		if (l->hdr.kind == KIND_JOURNAL && slot_empty(buf + i * REC_LEN, l)) {
			continue;
		}
		rec_decode(buf + i * REC_LEN, &rec);
		int ret = replay_restore(st->r, &rec, now);
		if (ret == KMS_EOK) {
			l->restored++;
		} else if (ret == KMS_ETS && rec.expires < now) {
			l->expired++;
		} else if (ret != KMS_EREPLAY) {
			l->lost++; /* cache full, or an implausible expiry */
		}
	}
}

/* Header and size checks of an open file; the record count into l. */
static const char *check_file(replay_store_t *st, int fd, uint32_t kind, loaded_t *l)
{
	struct stat sb;
	uint8_t b[REPLAY_FILE_HEADER];
	const uint64_t cap = (uint64_t)st->load_max + LOAD_SLACK;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		return "not a regular file";
	}
	if ((uint64_t)sb.st_size < sizeof(b) || read_all(fd, b, sizeof(b)) != KMS_EOK) {
		return "shorter than its header";
	}
	const char *why = hdr_decode(b, kind, &l->hdr);
	if (why != NULL) {
		return why;
	}
	uint64_t body = (uint64_t)sb.st_size - sizeof(b);
	if (body / REC_LEN > cap) {
		return "larger than 4 x policy.replay_entries records";
	}
	l->records = (size_t)(body / REC_LEN);
	/* A journal is sized to its slots when created: any other size is
	 * damage, never a short append. */
	if (body % REC_LEN != 0 || l->hdr.count != l->records) {
		return "size does not match its record count";
	}
	return NULL;
}

static void load_records(replay_store_t *st, int fd, int64_t now, loaded_t *l)
{
	uint8_t buf[CHUNK * REC_LEN];
	size_t left = l->records;
	while (left > 0) {
		size_t n = left < CHUNK ? left : CHUNK;
		if (read_all(fd, buf, n * REC_LEN) != KMS_EOK) {
			l->state = FILE_BAD;
			l->why = "read error";
			return;
		}
		restore_chunk(st, buf, n, now, l);
		left -= n;
	}
}

/* Read one file into the cache; a damaged one is renamed to NAME.bad. */
static void load_file(replay_store_t *st, const char *path, uint32_t kind, int64_t now,
		      loaded_t *l)
{
	memset(l, 0, sizeof(*l));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		return; /* FILE_MISSING */
	}
	l->state = FILE_OK;
	l->why = fd < 0 ? strerror(errno) : check_file(st, fd, kind, l);
	if (l->why == NULL) {
		load_records(st, fd, now, l);
	} else {
		l->state = FILE_BAD;
	}
	if (fd >= 0) {
		close(fd);
	}
	if (l->state == FILE_BAD) {
		char bad[PATH_LEN + 8];
		snprintf(bad, sizeof(bad), "%s.bad", path);
		bool moved = rename(path, bad) == 0;
		log_warning("replay state: %s: %s: %s%s", path, l->why,
			    moved ? "set aside as " : "ignored", moved ? bad : "");
	} else if (l->torn > 0) {
		log_notice("replay state: %s: %zu unfinished records (messages not "
			   "answered): ignored",
			   path, l->torn);
	}
}

/* --- the start: which case applies ---------------------------------------- */

static bool boot_known(const uint8_t id[REPLAY_BOOT_ID_LEN])
{
	static const uint8_t zero[REPLAY_BOOT_ID_LEN];
	return memcmp(id, zero, sizeof(zero)) != 0;
}

/* Written since this boot of the kernel: its page cache is the file's. */
static bool this_boot(const replay_store_t *st, const loaded_t *l)
{
	return l->state != FILE_OK ||
	       (boot_known(st->boot_id) &&
		memcmp(l->hdr.boot_id, st->boot_id, REPLAY_BOOT_ID_LEN) == 0);
}

/* Whether the previous run's entries are all back; if not, why. */
static replay_start_t decide(const replay_store_t *st, const loaded_t f[3],
			     const char **why)
{
	const loaded_t *snap = &f[0], *old = &f[1], *jnl = &f[2];
	size_t lost = snap->lost + old->lost + jnl->lost;
	*why = NULL;
	if (lost > 0) {
		*why = "entries could not be put back (cache full, or an implausible "
		       "expiry: a damaged file or the clock set back)";
		return REPLAY_START_GUARDED;
	}
	if (snap->state == FILE_OK && (snap->hdr.flags & FLAG_CLEAN) != 0) {
		return REPLAY_START_CLEAN;
	}
	if (snap->state == FILE_BAD || old->state == FILE_BAD || jnl->state == FILE_BAD) {
		*why = "a replay state file is damaged";
	} else if (jnl->state == FILE_MISSING && snap->state == FILE_MISSING) {
		*why = "no replay state (first start, or the files were removed)";
	} else if (jnl->state == FILE_MISSING) {
		*why = "the previous run did not stop cleanly and left no journal "
		       "(policy.replay_journal off, or the file was removed)";
	} else if (!boot_known(st->boot_id)) {
		*why = "the previous run did not stop cleanly and the kernel's boot "
		       "id is unknown";
	} else if (!this_boot(st, snap) || !this_boot(st, old) || !this_boot(st, jnl)) {
		*why = "the previous run did not stop cleanly and the machine has "
		       "restarted since (the journal's last writes may be lost)";
	} else {
		return REPLAY_START_JOURNAL;
	}
	return REPLAY_START_GUARDED;
}

/* The guard: the one saved, while it still matters; now when guarded. */
static int64_t guard_for(const loaded_t f[3], replay_start_t how, uint32_t skew,
			 int64_t now)
{
	int64_t g = 0;
	for (int i = 0; i < 3; i++) {
		if (f[i].state == FILE_OK && f[i].hdr.guard > g) {
			g = f[i].hdr.guard;
		}
	}
	if (how == REPLAY_START_GUARDED && now > g) {
		g = now;
	}
	/* Stamps before now - skew are out of the window anyway. */
	return g > now - (int64_t)skew ? g : 0;
}

static void log_start(const replay_store_t *st, const replay_start_info_t *in,
		      uint32_t skew)
{
	if (in->how == REPLAY_START_CLEAN) {
		log_notice("replay state: the previous run stopped cleanly: %zu "
			   "entries restored from %s (%zu expired)",
			   in->restored, st->snap, in->expired);
	} else if (in->how == REPLAY_START_JOURNAL) {
		log_notice("replay state: the previous run did not stop cleanly; its "
			   "journal is whole (same boot): %zu entries restored (%zu "
			   "expired)",
			   in->restored, in->expired);
	} else {
		log_warning("replay state: %s: %zu entries restored, %zu lost; "
			    "messages stamped before %lld are refused",
			    in->why, in->restored, in->lost, (long long)in->guard);
	}
	if (in->guard != 0 && in->how != REPLAY_START_GUARDED) {
		log_notice("replay state: a guard saved by the previous run still "
			   "applies: messages stamped before %lld are refused",
			   (long long)in->guard);
	}
	if (in->guard != 0) {
		log_notice("replay state: the guard ends at %lld (+%u s skew)",
			   (long long)(in->guard + skew), skew);
	}
}

/* --- the journal ------------------------------------------------------------ */

static size_t journal_bytes(const replay_store_t *st)
{
	return REPLAY_FILE_HEADER + st->slots * REC_LEN;
}

/*
 * A new journal: its header, then st->slots zeroed records, allocated on
 * disk (so that a store into the mapping never meets a full disk), mapped
 * shared.  *map, or -errno (the file is removed again).
 */
static int journal_create(replay_store_t *st, int64_t now, uint8_t **map)
{
	uint8_t b[REPLAY_FILE_HEADER];
	hdr_t h;
	int fd = open(st->jnl, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		return -errno;
	}
	hdr_for(st, KIND_JOURNAL, 0, now, &h);
	h.count = st->slots;
	hdr_encode(&h, b);
	int ret = write_all(fd, b, sizeof(b));
	if (ret == KMS_EOK) {
		ret = -posix_fallocate(fd, 0, (off_t)journal_bytes(st));
	}
	if (ret == KMS_EOK) {
		*map = mmap(NULL, journal_bytes(st), PROT_READ | PROT_WRITE, MAP_SHARED,
			    fd, 0);
		ret = *map == MAP_FAILED ? -errno : KMS_EOK;
	}
	close(fd); /* the mapping keeps the file */
	if (ret != KMS_EOK) {
		unlink(st->jnl);
	}
	return ret;
}

/* Swap in map (may be NULL) as the journal; the previous one is unmapped. */
static void journal_swap(replay_store_t *st, uint8_t *map)
{
	pthread_rwlock_wrlock(&st->lock);
	uint8_t *prev = st->map;
	st->map = map;
	atomic_store(&st->next, 0);
	pthread_rwlock_unlock(&st->lock);
	pthread_mutex_lock(&st->mu);
	st->gen++;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (prev != NULL) {
		munmap(prev, journal_bytes(st));
	}
}

/* The journal becomes "old" and a new one takes the appends. */
static int rotate(replay_store_t *st, int64_t now)
{
	uint8_t *map = NULL;
	if (rename(st->jnl, st->old) != 0) {
		return -errno;
	}
	int ret = journal_create(st, now, &map);
	if (ret != KMS_EOK) {
		(void)rename(st->old, st->jnl); /* the mapping never changed */
		return ret;
	}
	journal_swap(st, map);
	st->old_pending = true;
	return KMS_EOK;
}

/*
 * Rotate, snapshot, drop the old journal.  After a compaction that failed
 * past its rotation, "old" is still needed: a snapshot covers it first.
 */
static int compact(replay_store_t *st, int64_t now)
{
	int ret = KMS_EOK;
	if (st->old_pending) {
		ret = snapshot(st, now, false, false);
		if (ret != KMS_EOK) {
			return ret;
		}
		unlink(st->old);
		st->old_pending = false;
	}
	ret = rotate(st, now);
	if (ret == KMS_EOK) {
		ret = snapshot(st, now, false, false);
	}
	if (ret == KMS_EOK) {
		unlink(st->old);
		st->old_pending = false;
		atomic_fetch_add(&st->compactions, 1);
	}
	return ret;
}

/* One compaction at a time, by the request that finds it due. */
static bool try_compact(replay_store_t *st, int64_t now, const char *why)
{
	bool idle = false;
	if (!atomic_compare_exchange_strong(&st->busy, &idle, true)) {
		return false;
	}
	atomic_store(&st->next_try, atomic_load(&st->appends) + st->compact_every);
	int ret = compact(st, now);
	if (ret != KMS_EOK) {
		log_warning("replay journal: %s in %s failed: %s", why, st->dir,
			    strerror(-ret));
	}
	pthread_mutex_lock(&st->mu);
	atomic_store(&st->busy, false);
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return ret == KMS_EOK;
}

/* An append failed, or the journal is full: refuse until a compaction
 * (tried at most once a second) starts a fresh journal. */
static void journal_broke(replay_store_t *st, const char *what)
{
	if (!atomic_exchange(&st->broken, true)) {
		log_error("replay journal %s: %s: refusing accepted messages (503) "
			  "until it can be written again",
			  st->jnl, what);
	}
}

static bool journal_recover(replay_store_t *st, int64_t now)
{
	int64_t at = atomic_load(&st->retry_at);
	if (now < at || !atomic_compare_exchange_strong(&st->retry_at, &at, now + 1)) {
		return false;
	}
	if (!try_compact(st, now, "recovery")) {
		return false;
	}
	atomic_store(&st->broken, false);
	log_notice("replay journal %s: written again", st->jnl);
	return true;
}

/*
 * Store rec into slot i of map: the tag first, then the expiry with a
 * release store (8-byte aligned: header 64 + 24 i + 16), so that a slot
 * read back after a kill with a non-zero expiry has its whole tag.
 */
static void slot_store(uint8_t *map, size_t i, const replay_rec_t *rec)
{
	uint8_t *p = map + REPLAY_FILE_HEADER + i * REC_LEN;
	uint8_t le[8];
	uint64_t v;
	memcpy(p, rec->tag, REPLAY_TAG_LEN);
	put64(le, (uint64_t)rec->expires);
	memcpy(&v, le, sizeof(v)); /* little-endian in the file on any host */
	atomic_store_explicit((_Atomic uint64_t *)(void *)(p + REPLAY_TAG_LEN), v,
			      memory_order_release);
}

/* Into the next free slot: KMS_EOK; 1 when the slots ran out (*gen:
 * that journal's), or KMS_EUNAVAIL when there is none. */
static int journal_store(replay_store_t *st, const replay_rec_t *rec, uint64_t *gen)
{
	int ret = KMS_EOK;
	pthread_rwlock_rdlock(&st->lock);
	size_t i = atomic_fetch_add_explicit(&st->next, 1, memory_order_relaxed);
	if (st->map == NULL) {
		ret = KMS_EUNAVAIL;
	} else if (i >= st->slots) {
		pthread_mutex_lock(&st->mu);
		*gen = st->gen;
		pthread_mutex_unlock(&st->mu);
		ret = 1;
	} else {
		slot_store(st->map, i, rec);
	}
	pthread_rwlock_unlock(&st->lock);
	return ret;
}

/* The slots ran out (a burst while a compaction rotates, or a failed
 * one): compact now, or wait for the compaction that is running. */
static void journal_wait_room(replay_store_t *st, uint64_t gen, int64_t now)
{
	if (try_compact(st, now, "compaction")) {
		return;
	}
	pthread_mutex_lock(&st->mu);
	while (st->gen == gen && atomic_load(&st->busy)) {
		pthread_cond_wait(&st->cv, &st->mu);
	}
	pthread_mutex_unlock(&st->mu);
}

/* The hook: the entry is stored into the mapped journal before the answer
 * (the page cache keeps it if the process is killed). */
static int journal_append(void *ctx, const replay_rec_t *rec, int64_t now)
{
	replay_store_t *st = ctx;
	uint64_t gen = 0;

	if (atomic_load_explicit(&st->broken, memory_order_relaxed) &&
	    !journal_recover(st, now)) {
		return KMS_EUNAVAIL;
	}
	if (rec->expires == 0) {
		return KMS_EINVAL; /* a zero expiry marks an empty slot */
	}
	int ret = journal_store(st, rec, &gen);
	if (ret == 1) {
		journal_wait_room(st, gen, now);
		ret = journal_store(st, rec, &gen);
	}
	if (ret != KMS_EOK) {
		journal_broke(st, ret == 1 ? "full, and no new journal could be "
					     "started"
					   : "closed");
		return KMS_EUNAVAIL;
	}
	if (atomic_fetch_add(&st->appends, 1) + 1 >= atomic_load(&st->next_try)) {
		(void)try_compact(st, now, "compaction");
	}
	return KMS_EOK;
}

/* --- lifecycle --------------------------------------------------------------- */

static replay_store_t *store_new(replay_t *r, const replay_store_cfg_t *cfg)
{
	replay_store_t *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		return NULL;
	}
	struct {
		char *dst;
		const char *name;
	} p[] = {
		{ st->dir, "" },
		{ st->snap, "/" REPLAY_SNAP_FILE },
		{ st->tmp, "/" REPLAY_SNAP_FILE ".tmp" },
		{ st->jnl, "/" REPLAY_JOURNAL_FILE },
		{ st->old, "/" REPLAY_JOURNAL_OLD_FILE },
	};
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		int n = snprintf(p[i].dst, PATH_LEN, "%s%s", cfg->dir, p[i].name);
		if (n < 0 || n >= PATH_LEN) {
			free(st);
			return NULL;
		}
	}
	st->r = r;
	st->journal = cfg->journal;
	memcpy(st->boot_id, cfg->boot_id, REPLAY_BOOT_ID_LEN);
	st->compact_every =
	    cfg->compact_every != 0 ? cfg->compact_every : replay_capacity(r);
	/* Room for the appends made while a compaction rotates (a rename,
	 * an allocation, a mapping) after the threshold was crossed. */
	st->slots = st->compact_every +
		    (st->compact_every / 4 > 256 ? st->compact_every / 4 : 256);
	st->load_max =
	    4 * replay_capacity(r) > st->slots ? 4 * replay_capacity(r) : st->slots;
	atomic_store(&st->next_try, st->compact_every);
	pthread_rwlock_init(&st->lock, NULL);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	return st;
}

/* The new run's files: the start snapshot (all that was restored, no
 * longer flagged clean), no old journal, an empty journal (or none). */
static int start_files(replay_store_t *st, int64_t now)
{
	int ret = snapshot(st, now, false, true);
	if (ret != KMS_EOK) {
		return ret;
	}
	unlink(st->old);
	if (!st->journal) {
		unlink(st->jnl);
		return KMS_EOK;
	}
	ret = journal_create(st, now, &st->map);
	if (ret != KMS_EOK) {
		st->map = NULL;
		return ret;
	}
	replay_set_hook(st->r, journal_append, st);
	return KMS_EOK;
}

int replay_store_open(replay_t *r, const replay_store_cfg_t *cfg, int64_t now,
		      replay_store_t **out, replay_start_info_t *info)
{
	replay_start_info_t in = { 0 };
	loaded_t f[3];
	replay_store_t *st = store_new(r, cfg);
	if (st == NULL) {
		return KMS_ENOMEM;
	}
	load_file(st, st->snap, KIND_SNAP, now, &f[0]);
	load_file(st, st->old, KIND_JOURNAL, now, &f[1]);
	load_file(st, st->jnl, KIND_JOURNAL, now, &f[2]);
	in.how = decide(st, f, &in.why);
	in.guard = guard_for(f, in.how, replay_skew(r), now);
	for (int i = 0; i < 3; i++) {
		in.restored += f[i].restored;
		in.expired += f[i].expired;
		in.lost += f[i].lost;
		in.torn += f[i].torn;
	}
	st->guard = in.guard;
	replay_set_guard(r, in.guard);
	log_start(st, &in, replay_skew(r));
	int ret = start_files(st, now);
	if (ret != KMS_EOK) {
		log_error("replay state: cannot write %s: %s", st->dir, strerror(-ret));
		replay_store_free(st);
		return ret;
	}
	if (info != NULL) {
		*info = in;
	}
	*out = st;
	return KMS_EOK;
}

void replay_store_free(replay_store_t *st)
{
	if (st == NULL) {
		return;
	}
	replay_set_hook(st->r, NULL, NULL);
	if (st->map != NULL) {
		munmap(st->map, journal_bytes(st));
	}
	pthread_rwlock_destroy(&st->lock);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	free(st);
}

int replay_store_close(replay_store_t *st, int64_t now)
{
	if (st == NULL) {
		return KMS_EOK;
	}
	replay_set_hook(st->r, NULL, NULL);
	journal_swap(st, NULL); /* a late append fails: its message is refused */
	int ret = snapshot(st, now, true, true);
	if (ret == KMS_EOK) {
		unlink(st->jnl);
		unlink(st->old);
		log_notice("replay state: saved to %s (clean stop)", st->snap);
	} else {
		log_error("replay state: cannot write %s: %s (the journal stays for "
			  "the next start)",
			  st->snap, strerror(-ret));
	}
	replay_store_free(st);
	return ret;
}

size_t replay_store_appends(const replay_store_t *st)
{
	return atomic_load(&st->appends);
}

size_t replay_store_compactions(const replay_store_t *st)
{
	return atomic_load(&st->compactions);
}

size_t replay_store_slots(const replay_store_t *st)
{
	return st->slots;
}

static int hex(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int replay_store_boot_id(uint8_t out[REPLAY_BOOT_ID_LEN])
{
	char text[64] = { 0 };
	size_t nib = 0;
	memset(out, 0, REPLAY_BOOT_ID_LEN);
	int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	for (ssize_t i = 0; i < n && nib < 2 * REPLAY_BOOT_ID_LEN; i++) {
		int v = hex((unsigned char)text[i]);
		if (v >= 0) {
			out[nib / 2] |= (uint8_t)(nib % 2 == 0 ? v << 4 : v);
			nib++;
		} else if (text[i] != '-') {
			break;
		}
	}
	if (nib != 2 * REPLAY_BOOT_ID_LEN) {
		memset(out, 0, REPLAY_BOOT_ID_LEN);
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

int replay_store_start(replay_t *r, const char *dir, bool journal, int64_t now,
		       replay_store_t **out)
{
	replay_store_cfg_t cfg = { .dir = dir, .journal = journal };
	int ret = replay_store_boot_id(cfg.boot_id);
	if (ret != KMS_EOK) {
		log_warning("replay state: cannot read the boot id (%s): %s; after an "
			    "unclean stop the journal will not be trusted",
			    BOOT_ID_PATH, strerror(-ret));
	}
	if (!journal) {
		log_notice("replay journal off (policy.replay_journal): after an "
			   "unclean stop, messages stamped before the restart are "
			   "refused instead");
	}
	return replay_store_open(r, &cfg, now, out, NULL);
}
