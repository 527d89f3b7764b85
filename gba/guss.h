/*
 * The GBA User Security Settings (GUSS) of TS 29.109 Annex A, as the
 * GBA-UserSecSettings AVP carries them: an XML document
 *
 *   <guss xmlns="urn:3gpp:gba:GBAGUSSSchema-R9:2010-02" id="IMPI">
 *     <bsfInfo><uiccType>GBA|GBA_U</uiccType><lifeTime>seconds</lifeTime></bsfInfo>
 *     <ussList>
 *       <uss id="..." type="N" nafGroup="G">
 *         <uids><uid>sip:alice@example.org</uid>...</uids>
 *         <flags><flag>N</flag>...</flags>
 *       </uss>...
 *     </ussList>
 *     <extension><timestamp>dateTime</timestamp></extension>
 *   </guss>
 *
 * The parser also accepts the pre-Release 9 namespace uri:3gpp-gba; the
 * builder writes the Release 9 one.  gba/guss.c says which parts are
 * required, accepted and skipped, and where the layout comes from.
 *
 * Parsed with expat, with a DOCTYPE (and so any entity declaration)
 * refused, every count and length capped, and unknown elements (the
 * schema's extension points) skipped.  Pure functions: no I/O.
 */
#ifndef KMS_GBA_GUSS_H
#define KMS_GBA_GUSS_H

#include <stddef.h>
#include <stdint.h>

#define GBA_GUSS_MAX 16384    /* bytes of XML */
#define GBA_GUSS_USS_MAX 16   /* USS in one GUSS */
#define GBA_GUSS_UIDS_MAX 32  /* uids in one USS */
#define GBA_GUSS_UID_MAX 512  /* bytes of one uid */
#define GBA_GUSS_FLAGS_MAX 16 /* flags in one USS */
#define GBA_GUSS_NAME_MAX 64  /* bytes of an id or a nafGroup */
#define GBA_GUSS_DEPTH_MAX 16 /* element nesting */

typedef struct {
	char id[GBA_GUSS_NAME_MAX + 1];
	uint32_t type;			       /* the uss type attribute */
	char naf_group[GBA_GUSS_NAME_MAX + 1]; /* "" when absent */
	size_t nuids;
	char *uids[GBA_GUSS_UIDS_MAX]; /* malloc'd, NUL-terminated */
	size_t nflags;
	uint32_t flags[GBA_GUSS_FLAGS_MAX];
} gba_uss_t;

/* A zeroed gba_guss_t passed through gba_guss_clear() is an empty GUSS
 * to fill for gba_guss_build(). */
typedef struct {
	int uicc_type;	  /* -1 absent, 0 GBA (GBA_ME), 1 GBA_U */
	int64_t lifetime; /* bsfInfo lifeTime: key lifetime in seconds
			     (0..UINT32_MAX, a duration), -1 absent */
	size_t nuss;
	gba_uss_t uss[GBA_GUSS_USS_MAX];
	char id[GBA_GUSS_UID_MAX + 1]; /* guss id attribute (the IMPI), "" absent */
	int64_t timestamp; /* extension timestamp (last change) as Unix s, 0 absent */
} gba_guss_t;

/*
 * Parse len bytes of XML into *out (free with gba_guss_clear() whatever
 * the result; on an error *out is left empty).  KMS_EOK; KMS_ELIMIT over a
 * cap; KMS_EMALFORMED when not well-formed, not a <guss> in the GUSS
 * namespace, a DOCTYPE, a required element or attribute missing, or a
 * value out of range; KMS_ENOMEM.
 */
int gba_guss_parse(const char *xml, size_t len, gba_guss_t *out);

/* Free the uids; *g is then an empty GUSS. */
void gba_guss_clear(gba_guss_t *g);

/* The XML of g (malloc'd, NUL-terminated, *len without the NUL), every
 * text and attribute escaped; parses back to g.  KMS_EINVAL when g could
 * not parse back (no USS, a USS without uids, a uid empty, over
 * GBA_GUSS_UID_MAX or not whitespace-collapsed, bytes that are not UTF-8
 * XML characters, a value out of range); KMS_ELIMIT when the XML would
 * exceed GBA_GUSS_MAX; KMS_ENOMEM. */
int gba_guss_build(const gba_guss_t *g, char **out, size_t *len);

#endif
