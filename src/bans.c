/*
 * bans.c - see bans.h.
 *
 * The file: one ban per line, tab-separated, in the order they were made:
 *     ID <tab> addr|name <tab> VALUE <tab> SINCE_MS <tab> UNTIL_MS <tab> BY <tab> REASON
 * A reason or a "by" never holds a tab or a line end (bans_add refuses control characters in
 * a reason; "by" is made here). Lines starting with '#' are comments.
 */
#include "bans.h"
#include "command.h"
#include "jsonw.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BANS_FILE     "bans"
#define BANS_LINE_MAX (64 + BAN_VALUE_MAX + BAN_BY_MAX + BAN_REASON_MAX)

bool bans_parse_target(const char *s, size_t n, struct ban *b)
{
	if (n == 0 || n >= sizeof(b->value))
		return false;
	if (cidr_parse(s, n, &b->range) == 0)
		b->kind = BAN_ADDR;
	else if (name_valid(s, n))
		b->kind = BAN_NAME;
	else
		return false;
	memcpy(b->value, s, n);
	b->value[n] = '\0';
	return true;
}

static bool ban_live(const struct ban *b, int64_t now_ms)
{
	return b->until_ms == 0 || b->until_ms > now_ms;
}

bool ban_covers(const struct ban *b, const struct cidr_addr *addr, const char *name)
{
	if (b->kind == BAN_ADDR)
		return addr != NULL && cidr_match(&b->range, addr);
	return name != NULL && name_same(b->value, strlen(b->value), name, strlen(name));
}

/* ---- the file ------------------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_bans(int fd, const struct ban_list *l)
{
	static const char head[] = "# chatd bans: ID kind value since_ms until_ms by reason "
				   "(tab-separated; written by chatd, do not edit while it runs)\n";
	int rc = write_all(fd, head, sizeof(head) - 1);
	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		const struct ban *b = &l->v[i];
		char line[BANS_LINE_MAX + 1];
		int k = snprintf(line, sizeof(line),
				 "%" PRIu64 "\t%s\t%s\t%" PRId64 "\t%" PRId64 "\t%s\t%s\n", b->id,
				 b->kind == BAN_ADDR ? "addr" : "name", b->value, b->since_ms,
				 b->until_ms, b->by, b->reason);
		rc =
		    k > 0 && (size_t)k < sizeof(line) ? write_all(fd, line, (size_t)k) : -EOVERFLOW;
	}
	return rc;
}

/* Makes the directory entry of the rename durable. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Writes the list to path.tmp, fsyncs it, renames it over path, fsyncs the directory. With
 * the lock held. Returns 0 or -errno (the old file is then untouched). */
static int bans_save(const struct ban_list *l)
{
	if (l->path[0] == '\0')
		return 0;
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", l->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_bans(fd, l);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, l->path) < 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	return sync_dir(l->path);
}

/* Splits line (NUL-terminated, no line end) at tabs into f[0..7); false unless exactly 7. */
static bool split_fields(char *line, char *f[7])
{
	int n = 0;
	for (char *p = line; n < 7; n++) {
		f[n] = p;
		char *tab = strchr(p, '\t');
		if (tab == NULL) {
			n++;
			break;
		}
		*tab = '\0';
		p = tab + 1;
	}
	return n == 7 && strchr(f[6], '\t') == NULL;
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return false;
	*out = v;
	return true;
}

/* One line of the file into b; the reason why not, or NULL. */
static const char *parse_line(char *line, struct ban *b)
{
	char *f[7];
	int64_t id;
	memset(b, 0, sizeof(*b));
	if (!split_fields(line, f))
		return "not 7 tab-separated fields";
	if (!parse_i64(f[0], &id) || id == 0)
		return "bad id";
	b->id = (uint64_t)id;
	if (!bans_parse_target(f[2], strlen(f[2]), b) ||
	    strcmp(f[1], b->kind == BAN_ADDR ? "addr" : "name") != 0)
		return "bad kind or value";
	if (!parse_i64(f[3], &b->since_ms) || !parse_i64(f[4], &b->until_ms))
		return "bad time";
	if (strlen(f[5]) >= sizeof(b->by) || strlen(f[6]) > BAN_REASON_MAX)
		return "too long";
	snprintf(b->by, sizeof(b->by), "%s", f[5]);
	snprintf(b->reason, sizeof(b->reason), "%s", f[6]);
	return NULL;
}

static int grow(struct ban_list *l)
{
	if (l->n < l->cap)
		return 0;
	size_t cap = l->cap == 0 ? 16 : l->cap * 2;
	struct ban *v = realloc(l->v, cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

static int bans_load(struct ban_list *l, char *why, size_t why_cap)
{
	FILE *f = fopen(l->path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, why_cap, "%s: %s", l->path, strerror(errno));
		return -errno;
	}
	char line[BANS_LINE_MAX + 2];
	int rc = 0;
	for (int no = 1; rc == 0 && fgets(line, sizeof(line), f) != NULL; no++) {
		size_t n = strcspn(line, "\n");
		line[n] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		struct ban b;
		const char *bad = parse_line(line, &b);
		if (bad == NULL && l->n >= l->max)
			bad = "more bans than --max-bans";
		if (bad == NULL)
			rc = grow(l);
		if (bad != NULL || rc != 0) {
			snprintf(why, why_cap, "%s:%d: %s", l->path, no,
				 bad != NULL ? bad : "no memory");
			rc = bad != NULL ? -EINVAL : rc;
			break;
		}
		l->v[l->n++] = b;
		if (b.id >= l->next_id)
			l->next_id = b.id + 1;
	}
	(void)fclose(f); /* read only: nothing to lose */
	return rc;
}

int bans_init(struct ban_list *l, size_t max, const char *dir, char *why, size_t why_cap)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
	l->next_id = 1;
	if (dir != NULL && dir[0] != '\0' &&
	    (size_t)snprintf(l->path, sizeof(l->path), "%s/" BANS_FILE, dir) >= sizeof(l->path)) {
		snprintf(why, why_cap, "--state-dir %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	int rc = pthread_mutex_init(&l->lock, NULL);
	if (rc != 0)
		return -rc;
	if (l->path[0] != '\0')
		rc = bans_load(l, why, why_cap);
	if (rc != 0) {
		bans_destroy(l);
		return rc;
	}
	atomic_store_explicit(&l->count, l->n, memory_order_relaxed);
	return 0;
}

void bans_destroy(struct ban_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	pthread_mutex_destroy(&l->lock);
}

int bans_reload(struct ban_list *l, char *why, size_t why_cap)
{
	if (l->path[0] == '\0')
		return 0;
	struct ban_list next;
	memset(&next, 0, sizeof(next));
	next.max = l->max;
	next.next_id = 1;
	memcpy(next.path, l->path, sizeof(next.path));
	int rc = bans_load(&next, why, why_cap);
	if (rc < 0) {
		free(next.v);
		return rc;
	}
	pthread_mutex_lock(&l->lock);
	free(l->v);
	l->v = next.v;
	l->n = next.n;
	l->cap = next.cap;
	if (next.next_id > l->next_id)
		l->next_id = next.next_id;
	atomic_store_explicit(&l->count, l->n, memory_order_relaxed);
	rc = (int)l->n;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* ---- changes ------------------------------------------------------------------------------- */

/* Drops the bans that ended (lock held). */
static void prune(struct ban_list *l, int64_t now_ms)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (ban_live(&l->v[i], now_ms))
			l->v[k++] = l->v[i];
	l->n = k;
}

int bans_add(struct ban_list *l, struct ban *b, int64_t now_ms)
{
	pthread_mutex_lock(&l->lock);
	prune(l, now_ms);
	int rc = l->n >= l->max ? -ENOSPC : grow(l);
	if (rc == 0) {
		b->id = l->next_id;
		b->since_ms = now_ms;
		l->v[l->n++] = *b;
		rc = bans_save(l);
		if (rc != 0)
			l->n--; /* not saved: not made */
		else
			l->next_id++;
	}
	atomic_store_explicit(&l->count, l->n, memory_order_relaxed);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int bans_remove(struct ban_list *l, uint64_t id, struct ban *removed)
{
	pthread_mutex_lock(&l->lock);
	int rc = -ENOENT;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].id != id)
			continue;
		struct ban keep = l->v[i];
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
		l->n--;
		rc = bans_save(l);
		if (rc != 0) { /* not saved: put it back */
			memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(l->v[0]));
			l->v[i] = keep;
			l->n++;
		} else if (removed != NULL) {
			*removed = keep;
		}
		break;
	}
	atomic_store_explicit(&l->count, l->n, memory_order_relaxed);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int bans_remove_target(struct ban_list *l, const char *value)
{
	pthread_mutex_lock(&l->lock);
	struct ban *keep = malloc((l->n > 0 ? l->n : 1) * sizeof(*keep));
	int rc = keep == NULL ? -ENOMEM : 0;
	size_t gone = 0;
	if (rc == 0) {
		memcpy(keep, l->v, l->n * sizeof(*keep));
		size_t k = 0;
		for (size_t i = 0; i < l->n; i++)
			if (strcmp(l->v[i].value, value) != 0)
				l->v[k++] = l->v[i];
		gone = l->n - k;
		l->n = k;
		rc = gone > 0 ? bans_save(l) : 0;
		if (rc != 0) { /* not saved: put them back */
			l->n += gone;
			memcpy(l->v, keep, l->n * sizeof(*keep));
		}
	}
	free(keep);
	atomic_store_explicit(&l->count, l->n, memory_order_relaxed);
	pthread_mutex_unlock(&l->lock);
	return rc < 0 ? rc : (int)gone;
}

/* ---- checks -------------------------------------------------------------------------------- */

static bool bans_match(struct ban_list *l, const struct cidr_addr *addr, const char *name,
		       int64_t now_ms, struct ban *hit)
{
	if (atomic_load_explicit(&l->count, memory_order_relaxed) == 0)
		return false;
	bool found = false;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n && !found; i++) {
		const struct ban *b = &l->v[i];
		if (ban_live(b, now_ms) && ban_covers(b, addr, name)) {
			found = true;
			if (hit != NULL)
				*hit = *b;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return found;
}

bool bans_match_addr(struct ban_list *l, const struct cidr_addr *addr, int64_t now_ms,
		     struct ban *hit)
{
	return bans_match(l, addr, NULL, now_ms, hit);
}

bool bans_match_name(struct ban_list *l, const char *name, size_t n, int64_t now_ms,
		     struct ban *hit)
{
	char copy[NAME_MAX_LEN + 1];
	if (n > NAME_MAX_LEN)
		return false;
	memcpy(copy, name, n);
	copy[n] = '\0';
	return bans_match(l, NULL, copy, now_ms, hit);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void put_ban(struct jw *j, const struct ban *b)
{
	jw_obj_begin(j);
	jw_u64(j, "id", b->id);
	jw_cstr(j, "kind", b->kind == BAN_ADDR ? "address" : "name");
	jw_cstr(j, "target", b->value);
	jw_i64(j, "since", b->since_ms);
	if (b->until_ms != 0)
		jw_i64(j, "until", b->until_ms);
	else
		jw_null(j, "until");
	jw_cstr(j, "reason", b->reason);
	jw_cstr(j, "by", b->by);
	jw_obj_end(j);
}

size_t ban_render_json(const struct ban *b, char *out, size_t cap)
{
	struct jw j = jw_start(out, cap);
	put_ban(&j, b);
	return j.len;
}

size_t bans_render_json(struct ban_list *l, int64_t now_ms, char *out, size_t cap)
{
	struct jw j = jw_start(out, cap);
	jw_raw(&j, "[", 1);
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++)
		if (ban_live(&l->v[i], now_ms)) {
			jw_sep(&j);
			put_ban(&j, &l->v[i]);
		}
	pthread_mutex_unlock(&l->lock);
	jw_raw(&j, "]", 1);
	return j.len;
}
