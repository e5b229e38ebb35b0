/*
 * http.c - see http.h.
 */
#include "http.h"
#include "base64.h"
#include "common.h"
#include "sha1.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The starts of an HTTP request: an upper-case method, one space, '/' (see http.h). */
static const char *const request_starts[] = { "GET /",    "HEAD /",    "POST /", "PUT /",
					      "DELETE /", "OPTIONS /", "PATCH /" };

enum http_sniff http_sniff(const char *buf, size_t len)
{
	bool maybe = false;
	for (size_t i = 0; i < ARRAY_LEN(request_starts); i++) {
		size_t n = strlen(request_starts[i]);
		size_t k = len < n ? len : n;
		if (k > 0 && memcmp(buf, request_starts[i], k) != 0)
			continue;
		if (len >= n)
			return HTTP_YES;
		maybe = true;
	}
	return maybe ? HTTP_MAYBE : HTTP_NO;
}

bool http_query_param(struct http_slice target, const char *name, struct http_slice *value)
{
	const char *q = memchr(target.p, '?', target.n);
	const char *end = target.p + target.n;
	size_t name_len = strlen(name);
	for (const char *p = q != NULL ? q + 1 : end; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp != NULL ? amp : end;
		if ((size_t)(stop - p) > name_len && memcmp(p, name, name_len) == 0 &&
		    p[name_len] == '=') {
			value->p = p + name_len + 1;
			value->n = (size_t)(stop - value->p);
			return true;
		}
		p = stop + 1;
	}
	return false;
}

bool http_slice_is(struct http_slice s, const char *text)
{
	return s.n == strlen(text) && memcmp(s.p, text, s.n) == 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_tchar(unsigned char c)
{
	/* RFC 9110 token characters */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Finds the end of the line starting at p: returns a pointer to its '\n' or NULL. Sets *text
 * to the line's length without "\r\n" / "\n". */
static const char *line_end(const char *p, const char *end, size_t *text)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return NULL;
	*text = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
	return nl;
}

static int fail(struct http_request *req, int status)
{
	req->status = status;
	return PARSE_ERROR;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3): 1.0 and 1.1 are served, any
 * other well-formed version is 505, anything else (trailing bytes included) is 400. */
static int parse_version(const char *v, size_t n, struct http_request *req)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' ||
	    !is_digit(v[7]))
		return fail(req, 400);
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return fail(req, 505);
	req->minor = v[7] - '0';
	return 0;
}

static int parse_request_line(const char *p, size_t n, struct http_request *req)
{
	const char *end = p + n, *sp1 = memchr(p, ' ', n);
	if (sp1 == NULL || sp1 == p)
		return fail(req, 400);
	for (const char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return fail(req, 400);
	const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return fail(req, 400);
	for (const char *q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7F)
			return fail(req, 400);
	if (parse_version(sp2 + 1, (size_t)(end - sp2 - 1), req) < 0)
		return PARSE_ERROR;
	req->method = (struct http_slice){ p, (size_t)(sp1 - p) };
	req->target = (struct http_slice){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	return 0;
}

static int parse_header(const char *p, size_t n, struct http_request *req)
{
	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return fail(req, 400); /* obsolete line folding */
	const char *colon = memchr(p, ':', n);
	if (colon == NULL || colon == p)
		return fail(req, 400);
	for (const char *q = p; q < colon; q++)
		if (!is_tchar((unsigned char)*q))
			return fail(req, 400); /* includes a space before the colon */
	const char *v = colon + 1, *end = p + n;
	for (const char *q = v; q < end; q++)
		if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7F)
			return fail(req, 400);
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (req->nheaders == HTTP_MAX_HEADERS)
		return fail(req, 431);
	req->headers[req->nheaders++] = (struct http_header){
		{ p, (size_t)(colon - p) },
		{ v, (size_t)(end - v) },
	};
	return 0;
}

static bool name_is(const struct http_header *h, const char *name, size_t n)
{
	return h->name.n == n && strncasecmp(h->name.p, name, n) == 0;
}

static int header_count(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);
	int count = 0;
	for (int i = 0; i < req->nheaders; i++)
		count += name_is(&req->headers[i], name, n);
	return count;
}

int http_parse_request(const char *buf, size_t len, size_t max_head, struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	const char *p = buf, *end = buf + (len < max_head ? len : max_head);
	size_t n;
	const char *nl = line_end(p, end, &n);
	if (nl == NULL)
		return len >= max_head ? fail(req, 431) : PARSE_AGAIN;
	if (parse_request_line(p, n, req) < 0)
		return PARSE_ERROR;
	for (p = nl + 1;; p = nl + 1) {
		nl = line_end(p, end, &n);
		if (nl == NULL)
			return len >= max_head ? fail(req, 431) : PARSE_AGAIN;
		if (n == 0)
			break; /* the blank line */
		if (parse_header(p, n, req) < 0)
			return PARSE_ERROR;
	}
	/* RFC 9112 section 3.2: Host is required in HTTP/1.1 and never allowed twice */
	int hosts = header_count(req, "Host");
	if (hosts > 1 || (req->minor == 1 && hosts == 0))
		return fail(req, 400);
	return (int)(nl + 1 - buf);
}

const struct http_slice *http_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < req->nheaders; i++)
		if (name_is(&req->headers[i], name, n))
			return &req->headers[i].value;
	return NULL;
}

bool http_header_has_token(const struct http_request *req, const char *name, const char *token)
{
	size_t tn = strlen(token), nn = strlen(name);
	for (int i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		if (!name_is(h, name, nn))
			continue;
		const char *p = h->value.p, *end = p + h->value.n;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			const char *w = p;
			while (p < end && *p != ',')
				p++;
			const char *we = p;
			while (we > w && (we[-1] == ' ' || we[-1] == '\t'))
				we--;
			if ((size_t)(we - w) == tn && strncasecmp(w, token, tn) == 0)
				return true;
		}
	}
	return false;
}

int http_ws_accept(const struct http_request *req, char accept[HTTP_WS_ACCEPT_LEN + 1])
{
	if (!http_slice_is(req->method, "GET"))
		return 405;
	const struct http_slice *version = http_header(req, "Sec-WebSocket-Version");
	if (!http_header_has_token(req, "Upgrade", "websocket") ||
	    (version != NULL && !http_slice_is(*version, "13")))
		return 426;
	const struct http_slice *key = http_header(req, "Sec-WebSocket-Key");
	uint8_t nonce[64];
	/* RFC 6455 section 11.3.1: the key appears once */
	if (req->minor < 1 || version == NULL || key == NULL || key->n != 24 ||
	    header_count(req, "Sec-WebSocket-Key") != 1 ||
	    !http_header_has_token(req, "Connection", "upgrade") ||
	    base64_decode(key->p, key->n, nonce) != 16)
		return 400;
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	struct sha1_ctx c;
	uint8_t digest[SHA1_DIGEST_LEN];
	sha1_init(&c);
	sha1_update(&c, key->p, key->n);
	sha1_update(&c, guid, sizeof(guid) - 1);
	sha1_final(&c, digest);
	base64_encode(digest, sizeof(digest), accept);
	return 0;
}

/* ---- Origin (RFC 6454 section 6.2: scheme "://" host [ ":" port ]) ----------------------- */

struct authority {
	struct http_slice host; /* an IPv6 literal keeps its brackets */
	int port;               /* -1 when not given */
};

struct origin {
	struct http_slice scheme;
	struct authority at;
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* What a browser puts in a host name: letters, digits, '-', '.', '_' (IDNs as punycode). */
static bool is_host_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

static bool slice_case_eq(struct http_slice a, struct http_slice b)
{
	return a.n == b.n && strncasecmp(a.p, b.p, a.n) == 0;
}

static bool slice_case_is(struct http_slice s, const char *text)
{
	return slice_case_eq(s, (struct http_slice){ text, strlen(text) });
}

/* Parses host[:port] (a Host header, or an origin after its "://"). */
static bool parse_authority(const char *p, size_t n, struct authority *a)
{
	const char *end = p + n, *q = p;
	if (q < end && *q == '[') {
		while (++q < end && (is_xdigit(*q) || *q == ':' || *q == '.'))
			;
		if (q == end || *q != ']' || q == p + 1)
			return false;
		q++;
	} else {
		while (q < end && is_host_char(*q))
			q++;
		if (q == p)
			return false;
	}
	a->host = (struct http_slice){ p, (size_t)(q - p) };
	a->port = -1;
	if (q == end)
		return true;
	if (*q++ != ':' || q == end || end - q > 5)
		return false; /* a path, user info, or an empty or overlong port */
	int port = 0;
	for (; q < end; q++) {
		if (!is_digit(*q))
			return false;
		port = port * 10 + (*q - '0');
	}
	if (port > 65535)
		return false;
	a->port = port;
	return true;
}

/* The length of the scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )) at p. */
static size_t scheme_len(const char *p, size_t n)
{
	if (n == 0 || !is_alpha(p[0]))
		return 0;
	size_t k = 1;
	while (k < n &&
	       (is_alpha(p[k]) || is_digit(p[k]) || p[k] == '+' || p[k] == '-' || p[k] == '.'))
		k++;
	return k;
}

static bool parse_origin(struct http_slice s, struct origin *o)
{
	size_t k = scheme_len(s.p, s.n);
	if (k == 0 || s.n - k < 3 || memcmp(s.p + k, "://", 3) != 0)
		return false;
	o->scheme = (struct http_slice){ s.p, k };
	return parse_authority(s.p + k + 3, s.n - k - 3, &o->at);
}

/* The port a scheme implies, or -1 for a scheme chatd cannot be reached by. */
static int default_port(struct http_slice scheme)
{
	if (slice_case_is(scheme, "http") || slice_case_is(scheme, "ws"))
		return 80;
	if (slice_case_is(scheme, "https") || slice_case_is(scheme, "wss"))
		return 443;
	return -1;
}

static int origin_port(const struct origin *o)
{
	return o->at.port >= 0 ? o->at.port : default_port(o->scheme);
}

/* The page is chatd's own: an http(s) or ws(s) Origin names the host and port the request
 * was sent to. */
static bool same_host(const struct http_request *req, const struct origin *o)
{
	const struct http_slice *h = http_header(req, "Host");
	struct authority host;
	int scheme_port = default_port(o->scheme);
	if (h == NULL || scheme_port < 0 || !parse_authority(h->p, h->n, &host))
		return false;
	int host_port = host.port >= 0 ? host.port : scheme_port;
	return origin_port(o) == host_port && slice_case_eq(o->at.host, host.host);
}

/* The entry of a comma-separated list at *cur, spaces around it trimmed; *cur moves past it
 * and is NULL after the last entry. */
static struct http_slice list_next(const char **cur)
{
	const char *p = *cur, *comma = strchr(p, ',');
	const char *end = comma ? comma : p + strlen(p);
	*cur = comma ? comma + 1 : NULL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (struct http_slice){ p, (size_t)(end - p) };
}

static bool allow_entry_valid(struct http_slice e, struct origin *o)
{
	return parse_origin(e, o) &&
	       (slice_case_is(o->scheme, "http") || slice_case_is(o->scheme, "https"));
}

const char *http_origin_list_check(const char *list)
{
	if (strcmp(list, "*") == 0)
		return NULL;
	for (const char *cur = list; cur != NULL;) {
		struct http_slice e = list_next(&cur);
		struct origin o;
		if (!allow_entry_valid(e, &o))
			return e.p;
	}
	return NULL;
}

static bool listed(const char *allow, const struct origin *o)
{
	if (allow == NULL || *allow == '\0')
		return false;
	for (const char *cur = allow; cur != NULL;) {
		struct origin e;
		if (allow_entry_valid(list_next(&cur), &e) && slice_case_eq(e.scheme, o->scheme) &&
		    slice_case_eq(e.at.host, o->at.host) && origin_port(&e) == origin_port(o))
			return true;
	}
	return false;
}

enum http_origin http_origin_check(const struct http_request *req, const char *allow)
{
	if (allow != NULL && strcmp(allow, "*") == 0)
		return HTTP_ORIGIN_ALLOWED;
	int count = header_count(req, "Origin");
	if (count == 0)
		return HTTP_ORIGIN_ALLOWED; /* not a browser */
	if (count > 1)
		return HTTP_ORIGIN_REPEATED;
	const struct http_slice *value = http_header(req, "Origin");
	struct origin o;
	if (http_slice_is(*value, "null"))
		return HTTP_ORIGIN_FOREIGN; /* an opaque origin: sandboxed frame, file, data: */
	if (!parse_origin(*value, &o))
		return HTTP_ORIGIN_MALFORMED;
	if (same_host(req, &o) || listed(allow, &o))
		return HTTP_ORIGIN_ALLOWED;
	return HTTP_ORIGIN_FOREIGN;
}

const char *http_origin_why(enum http_origin verdict)
{
	switch (verdict) {
	case HTTP_ORIGIN_ALLOWED:
		return "origin allowed";
	case HTTP_ORIGIN_FOREIGN:
		return "origin not allowed";
	case HTTP_ORIGIN_MALFORMED:
		return "malformed Origin";
	case HTTP_ORIGIN_REPEATED:
		return "more than one Origin header";
	}
	return "origin not allowed";
}

const char *http_reason(int status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

size_t http_format_head(char *out, size_t cap, int status, const char *content_type,
			size_t content_length, bool keep, const char *extra)
{
	assert(content_type == NULL || strlen(content_type) <= HTTP_TYPE_MAX);
	assert(extra == NULL || strlen(extra) <= HTTP_EXTRA_MAX);
	char type[sizeof("Content-Type: \r\n") + HTTP_TYPE_MAX] = "";
	if (content_type != NULL)
		snprintf(type, sizeof(type), "Content-Type: %s\r\n", content_type);
	int n = snprintf(out, cap,
			 "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n%s%s"
			 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n",
			 status, http_reason(status), type, content_length,
			 keep ? "" : "Connection: close\r\n", extra ? extra : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t http_format_upgrade(char *out, size_t cap, const char *accept)
{
	int n = snprintf(out, cap, HTTP_UPGRADE_HEAD "%s\r\n\r\n", accept);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t http_format_error_body(char *out, size_t cap, int status, const char *why)
{
	int n = snprintf(out, cap, "%d %s%s%s\n", status, http_reason(status), why ? ": " : "",
			 why ? why : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
