/*
 * intake.c - see intake.h.
 */
#include "intake.h"
#include "route.h"
#include "session.h"
#include "worker.h"

#include <stdio.h>

/* Counts, logs (gated) and answers a line that is dropped; `line` is the error line. */
static void intake_reject(struct worker *w, struct conn *c, _Atomic uint64_t *counter,
			  const char *why, const char *line, size_t n)
{
	stat_add(counter, 1);
	worker_log_gated(w, GATE_BAD_LINE, LOG_INFO, c->id, "line dropped: %s", why);
	route_send_line(w, c, line, n);
}

/* A line proto_check_line refused: the counter for its kind, the log, the error line. */
static void intake_refuse_text(struct worker *w, struct conn *c, const struct line_verdict *v)
{
	char line[PROTO_LINE_MAX], why[96];
	size_t n = proto_line_refused(line, sizeof(line), v);
	_Atomic uint64_t *counter = &w->stats.lines_format;
	if (v->kind == LINE_BAD_UTF8) {
		counter = &w->stats.lines_bad_utf8;
		snprintf(why, sizeof(why), "invalid UTF-8 at byte %zu", v->pos);
	} else {
		if (v->kind == LINE_BAD_CONTROL)
			counter = &w->stats.lines_control;
		snprintf(why, sizeof(why), "U+%04X (%s) at character %zu", (unsigned)v->cp,
			 proto_char_name(v->cp), v->pos);
	}
	intake_reject(w, c, counter, why, line, n);
}

/* More than --rate-burst lines refused within one second: the user is disconnected. */
static void intake_cut_flooder(struct worker *w, struct conn *c)
{
	int limit = w->cfg->rate_limit;
	stat_add(&w->stats.flood_disconnects, 1);
	worker_log_gated(w, GATE_RATE, LOG_WARN, c->id,
			 "flooding past --rate-limit %d; disconnecting", limit);
	char line[PROTO_LINE_MAX];
	route_send_line(w, c, line, proto_flooding(line, sizeof(line), limit));
	worker_close_conn(w, c, CLOSE_FLOOD);
}

/*
 * Flood control: a token bucket of --rate-burst lines refilled at --rate-limit lines a
 * second. A line (or a WebSocket control frame) over the rate is refused with an error line;
 * a user who has more than --rate-burst refused within one second is disconnected.
 */
bool intake_rate_take(struct worker *w, struct conn *c)
{
	const struct config *cfg = w->cfg;
	if (cfg->rate_limit == 0)
		return true;
	uint64_t burst = (uint64_t)(cfg->rate_burst ? cfg->rate_burst : 2 * cfg->rate_limit) * 1000;
	int64_t now = w->now_ms;
	if (c->rate_ms == 0) {
		c->rate_ms = now;
		c->rate_tokens = (uint32_t)burst;
	}
	uint64_t tokens = c->rate_tokens + (uint64_t)(now - c->rate_ms) * (uint64_t)cfg->rate_limit;
	c->rate_tokens = (uint32_t)(tokens < burst ? tokens : burst);
	c->rate_ms = now;
	if (c->rate_tokens >= 1000) {
		c->rate_tokens -= 1000;
		return true;
	}
	if (now - c->rate_window_ms >= 1000) {
		c->rate_window_ms = now;
		c->rate_refused = 0;
	}
	stat_add(&w->stats.lines_rate_limited, 1);
	if (++c->rate_refused > burst / 1000) {
		intake_cut_flooder(w, c);
		return false;
	}
	worker_log_gated(w, GATE_RATE, LOG_INFO, c->id, "line refused: over --rate-limit");
	char line[PROTO_LINE_MAX];
	route_send_line(w, c, line, proto_rate_limited(line, sizeof(line), cfg->rate_limit));
	return false;
}

bool intake_take_line(struct worker *w, struct conn *c, enum line_event ev, const char *text,
		      size_t len)
{
	if (c->closing)
		return false;
	if (!intake_rate_take(w, c))
		return !c->closing;
	if (ev == LINE_TOO_LONG) {
		char line[PROTO_LINE_MAX];
		size_t n = proto_line_too_long(line, sizeof(line), w->cfg->max_line);
		intake_reject(w, c, &w->stats.lines_too_long, "over --max-line", line, n);
		return !c->closing;
	}
	struct line_verdict v = proto_check_line(text, len);
	if (v.kind == LINE_VALID)
		session_on_line(w, c, text, len);
	else
		intake_refuse_text(w, c, &v);
	return !c->closing;
}

/* ---- the line protocol -------------------------------------------------------------------- */

struct line_ctx {
	struct worker *w;
	struct conn *c;
};

static bool intake_on_framed(void *arg, enum line_event ev, const char *text, size_t len)
{
	struct line_ctx *ctx = arg;
	return intake_take_line(ctx->w, ctx->c, ev, text, len);
}

static void intake_feed(struct worker *w, struct conn *c, const char *buf, size_t n)
{
	struct line_ctx ctx = { w, c };
	if (framer_feed(&c->in, w->cfg->max_line, buf, n, intake_on_framed, &ctx) < 0)
		worker_close_conn(w, c, CLOSE_NOMEM);
}

static void intake_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	intake_feed(w, c, buf, n);
}

/* Last words: a line cut mid-way is ended first, so the error is a line of its own. */
static void intake_say_last(struct worker *w, struct conn *c, const char *line, size_t n, bool mid)
{
	(void)w;
	if (mid)
		conn_send_now(c, "\n", 1);
	conn_send_now(c, line, n);
}

const struct conn_ops intake_line_ops = {
	.name = "line",
	.on_bytes = intake_on_bytes,
	.on_close = session_on_close,
	.on_shutdown = session_on_shutdown,
	.say_last = intake_say_last,
};

void intake_start_line_user(struct worker *w, struct conn *c, const char *kept, size_t n)
{
	worker_set_ops(w, c, &intake_line_ops);
	if (session_start(w, c, NULL) < 0)
		worker_close_conn(w, c, CLOSE_NOMEM);
	else if (n > 0)
		intake_feed(w, c, kept, n);
}
