/*
 * kms-ue state file: what a UE remembers between the steps of a
 * MIKEY-TICKET exchange (messages it sent or received, keys, the cache
 * flag), as named byte strings.
 *
 * File format (text, one entry a line):
 *   kms-ue-state 1
 *   NAME HEX
 *   ...
 * NAME is [a-z0-9_] (1 to 31 characters), HEX an even-length lower-case
 * hex string (at least one byte); each NAME appears once.  The file holds
 * secrets: it is written to a new file created with O_EXCL and mode 0600
 * and renamed over the old one, and loading refuses a file that group or
 * others can access.  Entry values live in wiped-on-free memory.
 */
#ifndef KMS_TOOLS_UE_STATE_H
#define KMS_TOOLS_UE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"

#define UE_STATE_VERSION 1
#define UE_STATE_MAGIC "kms-ue-state"
#define UE_STATE_NAME_MAX 31
#define UE_STATE_ENTRIES_MAX 48
#define UE_STATE_VALUE_MAX MIKEY_MSG_MAX
#define UE_STATE_FILE_MAX (256 * 1024)

typedef struct ue_state ue_state_t;

ue_state_t *ue_state_new(void);
void ue_state_free(ue_state_t *st); /* wipes every value; NULL is a no-op */

/*
 * Load path.  KMS_ENOENT when it does not exist, KMS_EACCES when it is not
 * a regular file or group/others may access it, KMS_EIO on read errors
 * (errno kept), KMS_EMALFORMED (with *line set, 0 for the size) when the
 * content is not a version-1 state file.
 */
int ue_state_load(const char *path, ue_state_t **out, size_t *line);

/* Write st to path atomically (temporary file with O_EXCL, 0600, rename). */
int ue_state_save(const ue_state_t *st, const char *path);

/* Set (replace) an entry; len 1..UE_STATE_VALUE_MAX. */
int ue_state_set(ue_state_t *st, const char *name, const uint8_t *data, size_t len);
int ue_state_set_str(ue_state_t *st, const char *name, const char *s);
void ue_state_del(ue_state_t *st, const char *name);

/* The entry, or NULL.  Points into st; valid until it is set or freed. */
const mikey_bytes_t *ue_state_get(const ue_state_t *st, const char *name);
/* True when the entry exists and equals the text s. */
int ue_state_is(const ue_state_t *st, const char *name, const char *s);

#endif
