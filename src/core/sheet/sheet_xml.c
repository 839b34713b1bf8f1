/* The streaming XML scanner of sheet_xml.h. One buffer: the unread bytes
 * sit at [pos, end); a token (a tag, comment, PI or CDATA section) is
 * parsed only once it is whole in the buffer, and in place (names and
 * values are decoded and NUL-terminated where they lie, which is safe
 * because decoding never lengthens and the bytes are consumed at once);
 * text is handed out as it comes, a run at a time, keeping back only an
 * entity or a CR cut off by the end of the buffer. Well-formedness is
 * checked as far as the readers need it: tags close in order, one root,
 * known entities, characters XML allows, whole tokens at the end. */
#include "core/sheet/sheet_xml.h"

#include "core/lib/mem.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define NAME_BYTES 4096u   /* the qualified names of the open elements, together */
#define ENTITY_MAX 32      /* from & to ; ("&#x10FFFF;" and leading zeros) */

enum step { STEP_OK, STEP_MORE, STEP_FAIL };

struct sheet_xml {
	sheet_xml_read_fn read;
	void *read_ctx;
	const struct sheet_xml_handlers *h;
	void *ud;

	char *buf;
	size_t cap, pos, end;
	unsigned long long consumed;        /* bytes dropped from the buffer's front */
	bool eof, begun, root_seen, stop_asked, stop_resumable;
	enum sheet_xml_status sticky;       /* DONE while the scan may go on */

	unsigned depth;
	size_t names_len;
	unsigned name_off[SHEET_XML_MAX_DEPTH], name_len[SHEET_XML_MAX_DEPTH];
	char names[NAME_BYTES];
	const char *atts[2 * SHEET_XML_MAX_ATTS + 1];

	const char *err_zh, *err_en;
	unsigned long long err_at;
};

struct sheet_xml *sheet_xml_new(sheet_xml_read_fn read, void *read_ctx,
                                const struct sheet_xml_handlers *h, void *ud)
{
	assert(read && h && h->start && h->end && h->text);
	struct sheet_xml *s = wg_calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cap = 4 * SHEET_XML_CHUNK;
	s->buf = wg_malloc(s->cap);
	if (!s->buf) {
		wg_free(s);
		return NULL;
	}
	s->read = read;
	s->read_ctx = read_ctx;
	s->h = h;
	s->ud = ud;
	s->sticky = SHEET_XML_DONE;
	return s;
}

void sheet_xml_free(struct sheet_xml *s)
{
	if (!s)
		return;
	wg_free(s->buf);
	wg_free(s);
}

void sheet_xml_stop(struct sheet_xml *s, bool resumable)
{
	s->stop_asked = true;
	s->stop_resumable = resumable;
}

void sheet_xml_error(const struct sheet_xml *s, const char **zh, const char **en,
                     unsigned long long *offset)
{
	*zh = s->err_zh ? s->err_zh : "XML格式错误";
	*en = s->err_en ? s->err_en : "malformed XML";
	*offset = s->err_at;
}

/* Records what is malformed at p (a position in the buffer). */
static enum step bad(struct sheet_xml *s, const char *p, const char *zh, const char *en)
{
	s->err_zh = zh;
	s->err_en = en;
	s->err_at = s->consumed + (unsigned long long)(p - s->buf);
	s->sticky = SHEET_XML_MALFORMED;
	return STEP_FAIL;
}

/* Records which of the scanner's limits the part goes over, at p. */
static enum step over(struct sheet_xml *s, const char *p, const char *zh, const char *en)
{
	bad(s, p, zh, en);
	s->sticky = SHEET_XML_TOO_LARGE;
	return STEP_FAIL;
}

/* Moves the unread bytes to the front and reads more behind them. */
static enum sheet_xml_status refill(struct sheet_xml *s)
{
	if (s->pos) {
		memmove(s->buf, s->buf + s->pos, s->end - s->pos);
		s->consumed += s->pos;
		s->end -= s->pos;
		s->pos = 0;
	}
	if (s->cap - s->end < SHEET_XML_CHUNK) {
		if (s->end >= SHEET_XML_MAX_TOKEN) {
			over(s, s->buf, "标记过长", "a tag, comment or CDATA section too long");
			return SHEET_XML_TOO_LARGE;
		}
		char *grown = wg_realloc(s->buf, s->cap * 2);
		if (!grown)
			return s->sticky = SHEET_XML_NOMEM;
		s->buf = grown;
		s->cap *= 2;
	}
	long got = s->read(s->read_ctx, s->buf + s->end, SHEET_XML_CHUNK);
	if (got < 0)
		return s->sticky = SHEET_XML_READ_FAILED;
	if (got == 0)
		s->eof = true;
	s->end += (size_t)got;
	return SHEET_XML_DONE;
}

/* ---- characters, entities ---------------------------------------------- */

static bool xml_char_ok(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static size_t put_utf8(char *w, uint32_t c)
{
	if (c < 0x80) {
		w[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		w[0] = (char)(0xC0 | c >> 6);
		w[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		w[0] = (char)(0xE0 | c >> 12);
		w[1] = (char)(0x80 | (c >> 6 & 0x3F));
		w[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	w[0] = (char)(0xF0 | c >> 18);
	w[1] = (char)(0x80 | (c >> 12 & 0x3F));
	w[2] = (char)(0x80 | (c >> 6 & 0x3F));
	w[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/* "#65" or "#x41" (between & and ;) → the character; false if malformed. */
static bool char_ref(const char *p, size_t n, uint32_t *out)
{
	uint32_t c = 0;
	bool hex = n > 1 && p[1] == 'x';
	size_t i = hex ? 2 : 1;
	if (i == n)
		return false;
	for (; i < n; i++) {
		int d;
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (hex && p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (hex && p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return false;
		c = c * (hex ? 16 : 10) + (uint32_t)d;
		if (c > 0x10FFFF)
			return false;
	}
	*out = c;
	return xml_char_ok(c);
}

/* The entity at p ('&' up to ';' before end): its text written at w; the
 * bytes read in *used. false if unknown or malformed. */
static bool entity(const char *p, const char *end, char *w, size_t *used, size_t *wrote)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	const char *semi = memchr(p + 1, ';', (size_t)(end - p - 1));
	if (!semi || semi - p > ENTITY_MAX)
		return false;
	size_t n = (size_t)(semi - p - 1);
	*used = n + 2;
	if (n && p[1] == '#') {
		uint32_t c;
		if (!char_ref(p + 1, n, &c))
			return false;
		*wrote = put_utf8(w, c);
		return true;
	}
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		if (strlen(named[i].name) == n && memcmp(named[i].name, p + 1, n) == 0) {
			*w = named[i].c;
			*wrote = 1;
			return true;
		}
	return false;
}

enum decode { DECODE_TEXT, DECODE_CDATA, DECODE_ATTR };

/* The bytes text keeps as they are: not a control character, '&' or '<'. */
static const bool plain[256] = {
	[0x20 ... 0x25] = true, [0x27 ... 0x3B] = true, [0x3D ... 0xFF] = true,
};

/* Decodes [p, p+n) in place: line ends to LF, entities (not in CDATA),
 * white space to spaces in attribute values. The new length, or -1 when
 * malformed (then bad() has been called). */
static long decode(struct sheet_xml *s, char *p, size_t n, enum decode how)
{
	size_t i = 0, w;
	/* the common run: nothing to rewrite */
	while (i < n && plain[(unsigned char)p[i]])
		i++;
	for (w = i; i < n;) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c != '&' && c != '<') {
			p[w++] = (char)c;
			i++;
		} else if (c == '&' && how != DECODE_CDATA) {
			size_t used, wrote;
			char tmp[4];
			if (!entity(p + i, p + n, tmp, &used, &wrote))
				return bad(s, p + i, "未知或错误的实体引用", "unknown or malformed entity reference"), -1;
			memcpy(p + w, tmp, wrote);
			w += wrote;
			i += used;
		} else if (c == '&' || (c == '<' && how == DECODE_CDATA)) {
			p[w++] = (char)c;
			i++;
		} else if (c == '<') {
			return bad(s, p + i, "属性值中不能有<", "'<' in an attribute value"), -1;
		} else if (c == '\r' || c == '\n' || c == '\t') {
			if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
			p[w++] = how == DECODE_ATTR ? ' ' : c == '\t' ? '\t' : '\n';
			i++;
		} else {
			return bad(s, p + i, "含有XML不允许的控制字符", "a control character XML does not allow"), -1;
		}
	}
	return (long)w;
}

/* ---- text -------------------------------------------------------------- */

static bool all_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* Where a run of text that the buffer cuts off may be handed out up to:
 * before an entity or a CR the next bytes may complete. */
static size_t safe_text_end(const char *p, size_t n)
{
	size_t back = n > ENTITY_MAX ? n - ENTITY_MAX : 0;
	for (size_t i = n; i > back; i--) {
		if (p[i - 1] == ';')
			break;
		if (p[i - 1] == '&')
			return i - 1;
	}
	if (n && p[n - 1] == '\r')
		return n - 1;
	return n;
}

static enum step text(struct sheet_xml *s)
{
	char *p = s->buf + s->pos;
	size_t avail = s->end - s->pos;
	char *lt = memchr(p, '<', avail);
	size_t n = lt ? (size_t)(lt - p) : s->eof ? avail : safe_text_end(p, avail);
	if (n == 0)
		return STEP_MORE;
	if (s->depth == 0) {
		if (!all_space(p, n))
			return bad(s, p, "根元素之外有文字", "text outside the root element");
		s->pos += n;
		return STEP_OK;
	}
	long len = decode(s, p, n, DECODE_TEXT);
	if (len < 0)
		return STEP_FAIL;
	s->pos += n;
	if (len)
		s->h->text(s->ud, p, (int)len);
	return STEP_OK;
}

/* ---- markup ------------------------------------------------------------ */

/* The bytes that end a name. */
static const bool name_stop[256] = {
	[' '] = true, ['\t'] = true, ['\r'] = true, ['\n'] = true, ['/'] = true, ['>'] = true,
	['='] = true, ['"'] = true, ['\''] = true, ['<'] = true, ['&'] = true, ['\0'] = true,
};

/* The end of the name at p (before end); *local after its last ':'. */
static char *name_end(char *p, char *end, char **local)
{
	*local = p;
	for (; p < end && !name_stop[(unsigned char)*p]; p++)
		if (*p == ':')
			*local = p + 1;
	return p;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && is_space(*p))
		p++;
	return p;
}

/* memchr for the few bytes of a name or an attribute value: no call. */
static inline char *find_byte(char *p, const char *end, char c)
{
	for (; p < end; p++)
		if (*p == c)
			return p;
	return NULL;
}

static enum step push_name(struct sheet_xml *s, const char *name, size_t n)
{
	if (s->depth == SHEET_XML_MAX_DEPTH || s->names_len + n + 1 > NAME_BYTES)
		return over(s, name, "元素嵌套过深", "elements nested too deep");
	s->name_len[s->depth] = (unsigned)n;
	s->name_off[s->depth++] = (unsigned)s->names_len;
	memcpy(s->names + s->names_len, name, n);
	s->names_len += n;
	s->names[s->names_len++] = '\0';
	return STEP_OK;
}

/* Closes the innermost element, which must be called name. */
static enum step pop_name(struct sheet_xml *s, const char *name, size_t n)
{
	if (s->depth == 0)
		return bad(s, name, "多余的结束标签", "an end tag with no start tag");
	const char *open = s->names + s->name_off[s->depth - 1];
	bool same = s->name_len[s->depth - 1] == n;
	for (size_t i = 0; same && i < n; i++)
		same = open[i] == name[i];
	if (!same)
		return bad(s, name, "结束标签与开始标签不符", "an end tag that does not match its start tag");
	s->names_len = s->name_off[--s->depth];
	return STEP_OK;
}

/* An attribute as found: its name, where the name stops, its local part,
 * its value's first byte and closing quote. */
struct att_at {
	char *name, *stop, *local, *value, *close;
};

/* Finds the attributes of the start tag whose name ends at q, and the end
 * of the tag: STEP_MORE if the buffer ends first (nothing is changed yet). */
static enum step find_attributes(struct sheet_xml *s, char *q, char *end, struct att_at *at, size_t *n,
                                 char **gt, bool *empty)
{
	*n = 0;
	*empty = false;
	for (;;) {
		char *a = (char *)skip_space(q, end);
		if (a == end)
			return STEP_MORE;
		if (*a == '>') {
			*gt = a;
			return STEP_OK;
		}
		if (*a == '/') {
			if (a + 1 == end)
				return STEP_MORE;
			if (a[1] != '>')
				return bad(s, a, "标签中有多余的/", "a stray '/' in a tag");
			*empty = true;
			*gt = a + 1;
			return STEP_OK;
		}
		if (a == q)
			return bad(s, a, "属性之间缺少空白", "attributes not separated by white space");
		struct att_at *t = &at[*n];
		t->name = a;
		t->stop = name_end(a, end, &t->local);
		a = (char *)skip_space(t->stop, end);
		if (a == end)
			return STEP_MORE;
		if (t->stop == t->name || *a != '=')
			return bad(s, t->name, "属性格式错误", "a malformed attribute");
		a = (char *)skip_space(a + 1, end);
		if (a == end)
			return STEP_MORE;
		if (*a != '"' && *a != '\'')
			return bad(s, t->name, "属性值缺少引号", "an attribute value without quotes");
		t->value = a + 1;
		t->close = find_byte(a + 1, end, *a);
		if (!t->close)
			return STEP_MORE;
		if (*n == SHEET_XML_MAX_ATTS)
			return over(s, t->name, "属性过多", "too many attributes");
		++*n;
		q = t->close + 1;
	}
}

/* Decodes and terminates the attributes found, in place, into s->atts. */
static enum step attributes(struct sheet_xml *s, struct att_at *at, size_t n)
{
	size_t na = 0;
	for (size_t i = 0; i < n; i++) {
		struct att_at *t = &at[i];
		const char *v = t->value;
		while (v < t->close && plain[(unsigned char)*v])
			v++;
		long len = v == t->close ? (long)(v - t->value)   /* nothing to decode, the usual case */
		                         : decode(s, t->value, (size_t)(t->close - t->value), DECODE_ATTR);
		if (len < 0)
			return STEP_FAIL;
		t->value[len] = '\0';
		*t->stop = '\0';
		char *name = t->name;
		if (name[0] == 'x' && strncmp(name, "xmlns", 5) == 0 && (name[5] == '\0' || name[5] == ':'))
			continue;   /* as expat with namespaces: declarations are not attributes */
		if (t->local != name)
			t->local[-1] = '|';   /* "prefix|local", as expat's "uri|local" */
		s->atts[na++] = name;
		s->atts[na++] = t->value;
	}
	s->atts[na] = NULL;
	return STEP_OK;
}

static enum step start_tag(struct sheet_xml *s)
{
	char *p = s->buf + s->pos, *end = s->buf + s->end;
	char *name = p + 1, *local, *gt;
	struct att_at at[SHEET_XML_MAX_ATTS];
	size_t nat;
	bool empty;
	char *q = name_end(name, end, &local);
	size_t n = (size_t)(q - name);
	if (q == end)
		return STEP_MORE;
	if (n == 0 || (!is_space(*q) && *q != '/' && *q != '>'))
		return bad(s, p, "标签名无效", "an invalid tag name");
	enum step st = find_attributes(s, q, end, at, &nat, &gt, &empty);
	if (st != STEP_OK)
		return st;
	if (s->depth == 0 && s->root_seen)
		return bad(s, p, "根元素之后还有元素", "an element after the root element");
	if (push_name(s, name, n) != STEP_OK || attributes(s, at, nat) != STEP_OK)
		return STEP_FAIL;
	s->root_seen = true;
	name[n] = '\0';
	s->pos = (size_t)(gt + 1 - s->buf);
	s->h->start(s->ud, local, s->atts);
	if (empty) {
		s->depth--;
		s->names_len = s->name_off[s->depth];
		if (!(s->stop_asked && !s->stop_resumable))
			s->h->end(s->ud, local);
	}
	return STEP_OK;
}

static enum step end_tag(struct sheet_xml *s)
{
	char *p = s->buf + s->pos, *end = s->buf + s->end;
	char *gt = find_byte(p + 2, end, '>');
	if (!gt)
		return STEP_MORE;
	char *name = p + 2, *local;
	char *q = name_end(name, gt, &local);
	size_t n = (size_t)(q - name);
	if (n == 0 || skip_space(q, gt) != gt)
		return bad(s, p, "结束标签格式错误", "a malformed end tag");
	if (pop_name(s, name, n) != STEP_OK)
		return STEP_FAIL;
	name[n] = '\0';
	s->pos = (size_t)(gt + 1 - s->buf);
	s->h->end(s->ud, local);
	return STEP_OK;
}

/* Skips a comment or PI, or hands out a CDATA section as text. */
static enum step special(struct sheet_xml *s)
{
	char *p = s->buf + s->pos;
	size_t avail = s->end - s->pos;
	static const char cdata[] = "<![CDATA[";
	if (avail < sizeof cdata - 1 && !s->eof)
		return STEP_MORE;
	if (p[1] == '?' || (avail >= 4 && memcmp(p, "<!--", 4) == 0)) {
		const char *close = p[1] == '?' ? "?>" : "-->";
		char *e = memmem(p + 2, avail - 2, close, strlen(close));
		if (!e)
			return STEP_MORE;
		s->pos = (size_t)(e + strlen(close) - s->buf);
		return STEP_OK;
	}
	if (avail >= sizeof cdata - 1 && memcmp(p, cdata, sizeof cdata - 1) == 0) {
		char *body = p + sizeof cdata - 1;
		char *e = memmem(body, (size_t)(s->buf + s->end - body), "]]>", 3);
		if (!e)
			return STEP_MORE;
		if (s->depth == 0)
			return bad(s, p, "根元素之外有CDATA", "CDATA outside the root element");
		long len = decode(s, body, (size_t)(e - body), DECODE_CDATA);
		if (len < 0)
			return STEP_FAIL;
		s->pos = (size_t)(e + 3 - s->buf);
		if (len)
			s->h->text(s->ud, body, (int)len);
		return STEP_OK;
	}
	if (avail >= 9 && memcmp(p, "<!DOCTYPE", 9) == 0)
		return bad(s, p, "不允许DOCTYPE", "DOCTYPE not allowed");
	return bad(s, p, "无法识别的标记", "unrecognised markup");
}

static enum step markup(struct sheet_xml *s)
{
	if (s->end - s->pos < 2)
		return STEP_MORE;
	char c = s->buf[s->pos + 1];
	if (c == '/')
		return end_tag(s);
	if (c == '!' || c == '?')
		return special(s);
	return start_tag(s);
}

/* ---- the declaration and the scan -------------------------------------- */

/* The encoding the XML declaration at p names is UTF-8 (or ASCII, its subset). */
static bool declared_utf8(const char *p, size_t n)
{
	const char *e = memmem(p, n, "encoding", 8);
	if (!e)
		return true;
	const char *q = skip_space(e + 8, p + n);
	if (q == p + n || *q != '=')
		return false;
	q = skip_space(q + 1, p + n);
	if (q == p + n || (*q != '"' && *q != '\''))
		return false;
	const char *close = memchr(q + 1, *q, (size_t)(p + n - q - 1));
	size_t len = close ? (size_t)(close - q - 1) : 0;
	return close && ((len == 5 && strncasecmp(q + 1, "UTF-8", 5) == 0) ||
	                 (len == 8 && strncasecmp(q + 1, "US-ASCII", 8) == 0));
}

enum sheet_xml_status sheet_xml_begin(struct sheet_xml *s)
{
	enum sheet_xml_status st;
	assert(!s->begun);
	s->begun = true;
	while (!s->eof && s->end < 256)
		if ((st = refill(s)) != SHEET_XML_DONE)
			return st;
	const unsigned char *u = (const unsigned char *)s->buf;
	if (s->end >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
		s->pos = 3;
	else if (s->end >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE)))
		return SHEET_XML_FOREIGN;
	else if ((s->end >= 1 && u[0] == 0) || (s->end >= 2 && u[1] == 0))
		return SHEET_XML_FOREIGN;   /* UTF-16 or UTF-32 without a BOM */
	const char *p = s->buf + s->pos;
	size_t avail = s->end - s->pos;
	if (avail >= 6 && memcmp(p, "<?xml", 5) == 0 && is_space(p[5])) {
		const char *e = memmem(p, avail, "?>", 2);
		if (!e) {
			bad(s, p, "XML声明格式错误", "a malformed XML declaration");
			return SHEET_XML_MALFORMED;
		}
		if (!declared_utf8(p, (size_t)(e - p)))
			return SHEET_XML_FOREIGN;
		s->pos = (size_t)(e + 2 - s->buf);
	}
	return SHEET_XML_DONE;
}

/* At the end of the bytes: the document must be whole. */
static enum sheet_xml_status finish(struct sheet_xml *s)
{
	if (s->depth || !s->root_seen) {
		bad(s, s->buf + s->end, s->depth ? "文件在元素未结束时截止" : "没有根元素",
		    s->depth ? "the part ends inside an element" : "no root element");
		return SHEET_XML_MALFORMED;
	}
	return SHEET_XML_DONE;
}

enum sheet_xml_status sheet_xml_run(struct sheet_xml *s)
{
	assert(s->begun);
	if (s->sticky != SHEET_XML_DONE)
		return s->sticky;
	for (;;) {
		enum step st = STEP_MORE;
		if (s->pos < s->end)
			st = s->buf[s->pos] == '<' ? markup(s) : text(s);
		if (st == STEP_FAIL)
			return s->sticky;
		if (st == STEP_MORE) {
			if (s->eof) {
				if (s->pos == s->end)
					return finish(s);
				bad(s, s->buf + s->pos, "文件在标记未结束时截止", "the part ends inside a tag");
				return SHEET_XML_MALFORMED;
			}
			enum sheet_xml_status rs = refill(s);
			if (rs != SHEET_XML_DONE)
				return rs;
			continue;
		}
		if (s->stop_asked) {
			s->stop_asked = false;
			if (s->stop_resumable)
				return SHEET_XML_SUSPENDED;
			return s->sticky = SHEET_XML_STOPPED;
		}
	}
}
