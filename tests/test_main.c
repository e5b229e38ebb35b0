/*
 * test_main.c - the program itself (src/main.c), run as a child process: signals and the
 * start-up warnings.
 */
#include "testlib.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>

static struct tproc proc;

static void kill_leftover(void)
{
	tp_stop(&proc); /* whatever happened in the test, no chatd is left running */
}

Test(main, sighup_is_logged_and_ignored, .timeout = 30, .fini = kill_leftover)
{
	const char *args[] = { "--workers", "1", NULL };
	tp_start(&proc, args);
	cr_assert_eq(kill(proc.pid, SIGHUP), 0);
	cr_assert(tp_wait_log(&proc, "SIGHUP received", 2000), "no log line: %s", proc.log);
	/* still serving */
	struct tclient *a = tc_join(proc.port);
	tc_send(a, "after the hangup\n");
	tc_expect(a, "1:after the hangup");
	tc_close(a);
	cr_assert_eq(tp_signal_wait(&proc, SIGTERM, 5000), 0, "SIGTERM: clean exit");
}

Test(main, root_without_user_is_warned, .timeout = 30, .fini = kill_leftover)
{
	if (geteuid() != 0)
		cr_skip_test("not root");
	const char *args[] = { "--workers", "1", NULL };
	tp_start(&proc, args);
	cr_assert(strstr(proc.log, "WARN  main running as root") != NULL, "%s", proc.log);
	cr_assert_eq(tp_signal_wait(&proc, SIGTERM, 5000), 0);
}
