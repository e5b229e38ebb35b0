/*
 * oom_main.c - the driver of `make test-oom`: proves that chatd survives the failure of any
 * one of its allocations.
 *
 *   1. record: a child process runs the scenario (oom_scenario.c) with nothing failing and
 *      sends back every allocation path it saw (oom_alloc.c: phase, call site, five callers)
 *      with its number of calls;
 *   2. for every path of the start-up, phase A and shutdown, a child runs the scenario again
 *      with the path's first call failing, and another with its middle call failing when it
 *      had two or more (so a steady state is hit, not only a first use);
 *   3. each child is judged: its verdict (oom_scenario.c), its exit status (ASan and UBSan
 *      stop it at the first report; LeakSanitizer fails its exit when anything leaked: the
 *      child returns through exit() after server_wait, so the leak check runs), and its time
 *      (killed by PID past the timeout: a hang).
 *
 * Each run's output goes to DIR/run-N.log, kept and shown when the run fails. Children run
 * JOBS at a time. Call sites are named with addr2line (the binary is linked without PIE, and
 * every child is a fork of this process, so an address means the same in all of them).
 *
 * usage: oom_test [-j JOBS] [-t SECONDS] [-l DIR] [-k TEXT] [-n] [-v]
 *   -k TEXT  only the paths whose description contains TEXT;  -n  list the runs, run none;
 *   -v  print every run's log
 */
#include "oom.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PATHS 2048
#define MAX_NAMES ((size_t)MAX_PATHS * OOM_DEPTH)
#define DESC_MAX  320

/* What a child sends back through its pipe. */
struct report {
	enum outcome outcome;
	bool fired;
	char text[1024];
	uint32_t npaths; /* followed by that many struct oom_path (record mode) */
};

struct plan {
	struct oom_path path;
	uint64_t nth;
	char desc[DESC_MAX];
};

struct job {
	const struct plan *plan; /* NULL: the record run */
	pid_t pid;
	int rfd;
	int64_t started;
	char log[256];
	char *data; /* what came through the pipe */
	size_t len, cap;
	int status;
	bool eof, exited, killed;
};

struct options {
	int jobs;
	int timeout_s;
	const char *logdir;
	const char *only;
	bool list;
	bool verbose;
};

static const char *const phase_names[OOM_PHASES] = { "start", "phase A", "phase B", "stop" };

/* ---- children ------------------------------------------------------------------------------- */

static void write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the parent is gone: nothing to report to */
		s += w;
		n -= (size_t)w;
	}
}

/* The child's whole life: run, report, exit through exit() so LeakSanitizer checks. */
static void child_main(const struct plan *pl, int wfd, const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if (pl != NULL)
		oom_arm(&pl->path, pl->nth);
	struct verdict v;
	memset(&v, 0, sizeof(v));
	scenario_run(&v);
	static struct oom_path paths[MAX_PATHS];
	size_t n = pl == NULL ? oom_paths(paths, MAX_PATHS) : 0;
	struct report rep;
	memset(&rep, 0, sizeof(rep));
	rep.outcome = v.outcome;
	rep.fired = oom_fired();
	memcpy(rep.text, v.text, sizeof(rep.text));
	rep.npaths = (uint32_t)(n < MAX_PATHS ? n : MAX_PATHS);
	write_all(wfd, &rep, sizeof(rep));
	write_all(wfd, paths, rep.npaths * sizeof(paths[0]));
	close(wfd);
	exit(0);
}

static int job_start(struct job *j, const struct plan *pl, int index, const struct options *o)
{
	memset(j, 0, sizeof(*j));
	j->plan = pl;
	snprintf(j->log, sizeof(j->log), "%s/run-%d.log", o->logdir, index);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	(void)fflush(stdout);
	(void)fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(pl, fds[1], j->log);
	}
	close(fds[1]);
	j->pid = pid;
	j->rfd = fds[0];
	j->started = oom_now_ms();
	return 0;
}

static void job_read(struct job *j)
{
	if (j->len == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 65536;
		char *d = realloc(j->data, cap);
		if (d == NULL) {
			j->eof = true; /* the report is cut short: judged as broken */
			return;
		}
		j->data = d;
		j->cap = cap;
	}
	ssize_t n = read(j->rfd, j->data + j->len, j->cap - j->len);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0)
		j->eof = true;
	else
		j->len += (size_t)n;
}

/* Waits for every job in js[0..n) that is running: reads pipes, reaps, kills past timeout. */
static void jobs_poll(struct job *js, int n, const struct options *o)
{
	struct pollfd pfd[16];
	int idx[16], k = 0;
	for (int i = 0; i < n && k < 16; i++)
		if (js[i].pid > 0 && !js[i].eof) {
			pfd[k] = (struct pollfd){ .fd = js[i].rfd, .events = POLLIN };
			idx[k++] = i;
		}
	if (k > 0 && poll(pfd, (nfds_t)k, 100) > 0)
		for (int i = 0; i < k; i++)
			if (pfd[i].revents != 0)
				job_read(&js[idx[i]]);
	if (k == 0)
		oom_sleep_ms(10);
	for (int i = 0; i < n; i++) {
		struct job *j = &js[i];
		if (j->pid <= 0 || j->exited)
			continue;
		if (waitpid(j->pid, &j->status, WNOHANG) == j->pid) {
			j->exited = true;
			while (!j->eof)
				job_read(j);
			continue;
		}
		if (oom_now_ms() - j->started > (int64_t)o->timeout_s * 1000 && !j->killed) {
			kill(j->pid, SIGKILL);
			j->killed = true;
		}
	}
}

/* ---- naming call sites --------------------------------------------------------------------- */

struct site_name {
	uintptr_t pc;
	char text[120]; /* "src/FILE.c:LINE (function)" */
};

static struct site_name names[MAX_NAMES];
static size_t nnames;

static const char *name_of(uintptr_t pc)
{
	for (size_t i = 0; i < nnames; i++)
		if (names[i].pc == pc)
			return names[i].text;
	return "?";
}

static void add_pc(uintptr_t pc)
{
	if (pc == 0 || nnames == MAX_NAMES || strcmp(name_of(pc), "?") != 0)
		return;
	names[nnames].pc = pc;
	snprintf(names[nnames].text, sizeof(names[0].text), "?");
	nnames++;
}

/* "0x401234: fn at /work/x/src/map.c:30 (discriminator 2)" -> "src/map.c:30 (fn)" */
static void parse_addr2line(const char *line, char *out, size_t cap)
{
	char fn[96], file[512];
	if (sscanf(line, "%*[^:]: %95s at %511s", fn, file) != 2) {
		snprintf(out, cap, "%.100s", line);
		return;
	}
	const char *rel = strstr(file, "src/");
	if (rel == NULL)
		rel = strstr(file, "tests/");
	snprintf(out, cap, "%.60s (%.50s)", rel != NULL ? rel : file, fn);
}

/* Names every pc with one addr2line call: the innermost (inlined) function and line. */
static int resolve_names(void)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	size_t cap = 64 + (size_t)n + nnames * 24;
	char *cmd = malloc(cap);
	if (cmd == NULL)
		return -1;
	size_t len = (size_t)snprintf(cmd, cap, "addr2line -a -f -i -p -e '%s'", exe);
	for (size_t i = 0; i < nnames; i++) /* a return address: the call is the byte before */
		len += (size_t)snprintf(cmd + len, cap - len, " %#lx",
					(unsigned long)(names[i].pc - 1));
	/* NOLINTNEXTLINE(cert-env33-c): addr2line on our own binary, addresses we formatted */
	FILE *f = popen(cmd, "r");
	free(cmd);
	if (f == NULL)
		return -1;
	char line[1024];
	size_t at = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0x", 2) != 0 || at == nnames)
			continue; /* " (inlined by) ..." lines: the innermost one is enough */
		parse_addr2line(line, names[at].text, sizeof(names[at].text));
		at++;
	}
	return pclose(f) == 0 && at == nnames ? 0 : -1;
}

static void describe(const struct oom_path *p, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "%s: %s", phase_names[p->phase], name_of(p->pc[0]));
	for (int i = 1; i < OOM_DEPTH && p->pc[i] != 0 && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, " < %s", name_of(p->pc[i]));
}

/* ---- the plan ------------------------------------------------------------------------------- */

static int by_desc(const void *a, const void *b)
{
	const struct plan *x = a, *y = b;
	if (x->path.phase != y->path.phase)
		return (int)x->path.phase - (int)y->path.phase;
	int c = strcmp(x->desc, y->desc);
	if (c != 0)
		return c;
	return x->nth < y->nth ? -1 : x->nth > y->nth;
}

/* Two runs per path (the first call, and the middle one when there are two or more), none
 * for phase B. Returns how many plans were made. */
static size_t make_plans(const struct oom_path *paths, size_t n, struct plan *plans,
			 const struct options *o)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct oom_path *p = &paths[i];
		if (p->phase == OOM_CHECK)
			continue;
		char desc[DESC_MAX];
		describe(p, desc, sizeof(desc));
		if (o->only != NULL && strstr(desc, o->only) == NULL)
			continue;
		/* the first call, and the middle one (the second of two) */
		const uint64_t nths[2] = { 1, p->calls >= 2 ? p->calls / 2 + 1 : 0 };
		for (int j = 0; j < 2 && nths[j] != 0; j++) {
			plans[k].path = *p;
			plans[k].nth = nths[j];
			snprintf(plans[k].desc, sizeof(plans[k].desc), "%s", desc);
			k++;
		}
	}
	qsort(plans, k, sizeof(plans[0]), by_desc);
	return k;
}

/* ---- judging -------------------------------------------------------------------------------- */

static void show_log(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	char line[1024];
	int shown = 0;
	while (fgets(line, sizeof(line), f) != NULL && shown++ < 120)
		printf("    | %s", line);
	(void)fclose(f);
}

static bool log_has_report(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "ERROR: AddressSanitizer") != NULL ||
			strstr(line, "ERROR: LeakSanitizer") != NULL ||
			strstr(line, "runtime error:") != NULL;
	(void)fclose(f);
	return found;
}

/* The job's outcome; *why says what went wrong when it is OUT_FAIL. */
static enum outcome job_judge(const struct job *j, char *why, size_t cap)
{
	const struct report *rep = (const struct report *)j->data;
	bool whole = j->len >= sizeof(*rep);
	if (j->killed) {
		snprintf(why, cap, "hung: killed after its time limit");
		return OUT_FAIL;
	}
	if (WIFSIGNALED(j->status)) {
		snprintf(why, cap, "crashed: signal %d", WTERMSIG(j->status));
		return OUT_FAIL;
	}
	if (WEXITSTATUS(j->status) != 0 || log_has_report(j->log)) {
		snprintf(why, cap,
			 "exit status %d: sanitizer report (leak, memory error or UB)%s%s",
			 WEXITSTATUS(j->status), whole ? "; the scenario said: " : "",
			 whole ? rep->text : "");
		return OUT_FAIL;
	}
	if (!whole) {
		snprintf(why, cap, "no report from the child");
		return OUT_FAIL;
	}
	snprintf(why, cap, "%s", rep->text);
	if (rep->outcome != OUT_FAIL && j->plan != NULL && !rep->fired)
		return OUT_UNREACHED;
	return rep->outcome;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .jobs = 2, .timeout_s = 60, .logdir = "build/oom/logs" };
	int opt;
	while ((opt = getopt(argc, argv, "j:t:l:k:nv")) != -1) {
		switch (opt) {
		case 'j':
			o->jobs = (int)strtol(optarg, NULL, 10);
			break;
		case 't':
			o->timeout_s = (int)strtol(optarg, NULL, 10);
			break;
		case 'l':
			o->logdir = optarg;
			break;
		case 'k':
			o->only = optarg;
			break;
		case 'n':
			o->list = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		default:
			return -1;
		}
	}
	if (o->jobs < 1 || o->jobs > 16 || o->timeout_s < 1)
		return -1;
	return 0;
}

/* Runs the scenario once with nothing failing; fills paths, returns how many (or -1). */
static long record(struct oom_path *paths, const struct options *o)
{
	struct job j;
	if (job_start(&j, NULL, 0, o) < 0)
		return -1;
	while (!j.exited)
		jobs_poll(&j, 1, o);
	close(j.rfd);
	char why[1200];
	enum outcome out = job_judge(&j, why, sizeof(why));
	long n = -1;
	if (out == OUT_CLEAN) {
		const struct report *rep = (const struct report *)j.data;
		n = rep->npaths;
		if (j.len < sizeof(*rep) + (size_t)n * sizeof(paths[0])) {
			n = -1;
		} else {
			memcpy(paths, j.data + sizeof(*rep), (size_t)n * sizeof(paths[0]));
			unlink(j.log);
		}
	} else {
		printf("test-oom: the scenario fails with nothing failing: %s\n", why);
		show_log(j.log);
	}
	free(j.data);
	return n;
}

struct tally {
	int clean, told, start, unreached, failed;
};

static void report_job(const struct job *j, int index, struct tally *t, const struct options *o)
{
	char why[1200];
	enum outcome out = job_judge(j, why, sizeof(why));
	static const char *const words[] = { "absorbed", "reported", "start refused", "not reached",
					     "FAIL" };
	printf("[%3d] %-6s call %-4llu %s\n      -> %s: %s (%.1f s)\n", index,
	       out == OUT_FAIL ? "FAIL" : "ok", (unsigned long long)j->plan->nth, j->plan->desc,
	       words[out], why, (double)(oom_now_ms() - j->started) / 1000.0);
	int *counts[] = { &t->clean, &t->told, &t->start, &t->unreached, &t->failed };
	(*counts[out])++;
	if (out == OUT_FAIL || o->verbose)
		show_log(j->log);
	if (out != OUT_FAIL)
		unlink(j->log);
	(void)fflush(stdout);
}

/* Runs every plan, JOBS at a time; a run whose armed call was not reached gets a second go. */
static void run_plans(const struct plan *plans, size_t n, struct tally *t, const struct options *o)
{
	struct job js[16];
	int index[16] = { 0 };
	bool retried[16] = { false };
	memset(js, 0, sizeof(js));
	size_t next = 0;
	int running = 0;
	while (next < n || running > 0) {
		for (int s = 0; s < o->jobs && next < n; s++) {
			if (js[s].pid > 0)
				continue;
			if (job_start(&js[s], &plans[next], (int)next + 1, o) < 0) {
				printf("test-oom: cannot fork: %s\n", strerror(errno));
				t->failed++;
				next = n;
				break;
			}
			index[s] = (int)next + 1;
			retried[s] = false;
			next++;
			running++;
		}
		jobs_poll(js, o->jobs, o);
		for (int s = 0; s < o->jobs; s++) {
			struct job *j = &js[s];
			if (j->pid <= 0 || !j->exited)
				continue;
			close(j->rfd);
			char why[1200];
			if (job_judge(j, why, sizeof(why)) == OUT_UNREACHED && !retried[s]) {
				const struct plan *pl = j->plan;
				free(j->data);
				unlink(j->log);
				if (job_start(j, pl, index[s], o) == 0) {
					retried[s] = true;
					continue;
				}
			}
			report_job(j, index[s], t, o);
			free(j->data);
			j->data = NULL;
			j->pid = 0;
			running--;
		}
	}
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: %s [-j JOBS] [-t SECONDS] [-l DIR] [-k TEXT] [-n] [-v]\n",
			argv[0]);
		return 2;
	}
	if (mkdir(o.logdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "test-oom: %s: %s\n", o.logdir, strerror(errno));
		return 2;
	}
	int64_t t0 = oom_now_ms();
	static struct oom_path paths[MAX_PATHS];
	long npaths = record(paths, &o);
	if (npaths < 0)
		return 1;
	size_t sites = 0;
	for (long i = 0; i < npaths; i++) {
		bool seen = false;
		for (long k = 0; k < i && !seen; k++)
			seen = paths[k].phase != OOM_CHECK && paths[k].pc[0] == paths[i].pc[0];
		sites += !seen && paths[i].phase != OOM_CHECK;
		for (int d = 0; d < OOM_DEPTH; d++)
			add_pc(paths[i].pc[d]);
	}
	if (resolve_names() < 0)
		printf("test-oom: addr2line failed; sites are shown as '?'\n");
	static struct plan plans[MAX_PATHS * 2];
	size_t nplans = make_plans(paths, (size_t)npaths, plans, &o);
	printf("test-oom: %zu allocation sites, %ld paths (site and five callers, per phase); "
	       "%zu runs, %d at a time\n",
	       sites, npaths, nplans, o.jobs);
	if (o.list) {
		for (size_t i = 0; i < nplans; i++)
			printf("[%3zu] call %llu of %llu: %s\n", i + 1,
			       (unsigned long long)plans[i].nth,
			       (unsigned long long)plans[i].path.calls, plans[i].desc);
		return 0;
	}
	(void)fflush(stdout);
	struct tally t = { 0 };
	run_plans(plans, nplans, &t, &o);
	printf("test-oom: %zu runs in %.0f s: %d absorbed, %d reported to the user, %d refused at "
	       "start, %d not reached, %d failed\n",
	       nplans, (double)(oom_now_ms() - t0) / 1000.0, t.clean, t.told, t.start, t.unreached,
	       t.failed);
	printf("test-oom: %d passed, %d failed\n", t.clean + t.told + t.start + t.unreached,
	       t.failed);
	return t.failed == 0 ? 0 : 1;
}
