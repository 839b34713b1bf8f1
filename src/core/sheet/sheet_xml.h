/* A streaming scanner for the XML that the big parts of an XLSX file hold
 * (the worksheet, the shared strings): elements, attributes, text, the five
 * predefined entities and character references, CDATA, comments and
 * processing instructions; namespace prefixes are stripped from element
 * names. It reads the inflated part in chunks through a callback into one
 * buffer that holds at most a few chunks, and hands out events with the
 * same shape as expat's (NUL-terminated local names, an attribute array of
 * name/value pairs), so the same handlers serve both. A DOCTYPE is refused
 * (no entity declarations); a part not in UTF-8 is reported as foreign, for
 * expat to read instead. Between the files of the spreadsheet reader only. */
#ifndef WG_SHEET_XML_H
#define WG_SHEET_XML_H

#include <stdbool.h>
#include <stddef.h>

#define SHEET_XML_CHUNK     (64u * 1024)       /* bytes asked of the reader at a time */
#define SHEET_XML_MAX_TOKEN (1024u * 1024)     /* one tag, comment, PI or CDATA section */
#define SHEET_XML_MAX_DEPTH 64u                /* open elements */
#define SHEET_XML_MAX_ATTS  32u                /* attributes of one element */

/* Fills buf with up to cap bytes; returns the count, 0 at the end, < 0 on
 * a failure the caller's context records. */
typedef long (*sheet_xml_read_fn)(void *ctx, char *buf, size_t cap);

struct sheet_xml_handlers {
	/* attributes: names and values alternate, NULL-terminated; a prefixed
	 * name comes as "prefix|local", namespace declarations not at all */
	void (*start)(void *ud, const char *name, const char **atts);
	void (*end)(void *ud, const char *name);
	void (*text)(void *ud, const char *s, int len);
};

enum sheet_xml_status {
	SHEET_XML_DONE,         /* the whole part read, well-formed */
	SHEET_XML_SUSPENDED,    /* a handler asked to pause; run again to go on */
	SHEET_XML_STOPPED,      /* a handler stopped the scan for good */
	SHEET_XML_MALFORMED,    /* sheet_xml_error() says what */
	SHEET_XML_TOO_LARGE,    /* over one of the limits above; sheet_xml_error() says which */
	SHEET_XML_READ_FAILED,  /* the read callback failed */
	SHEET_XML_NOMEM,
	SHEET_XML_FOREIGN,      /* not UTF-8 (a BOM or declaration says so): read it otherwise */
};

struct sheet_xml;

/* NULL when out of memory. */
struct sheet_xml *sheet_xml_new(sheet_xml_read_fn read, void *read_ctx,
                                const struct sheet_xml_handlers *h, void *ud);
/* Reads the first bytes and the XML declaration: SHEET_XML_DONE when the
 * part can be scanned, else FOREIGN, MALFORMED, READ_FAILED or NOMEM. */
enum sheet_xml_status sheet_xml_begin(struct sheet_xml *s);
/* Scans until the end, a handler's stop, or a failure; a failure or stop sticks. */
enum sheet_xml_status sheet_xml_run(struct sheet_xml *s);
/* From a handler: no further event until the next run (resumable), or ever. */
void sheet_xml_stop(struct sheet_xml *s, bool resumable);
/* What was malformed, and the offset in the part's bytes where it was seen. */
void sheet_xml_error(const struct sheet_xml *s, const char **zh, const char **en,
                     unsigned long long *offset);
void sheet_xml_free(struct sheet_xml *s);

#endif
