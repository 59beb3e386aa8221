// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent/proc_table on its common/hashtab: an exec record is found by pid
 * with its argv split and joined, a second exec replaces the first, exit
 * forgets it; an unknown pid is read from the real /proc; a scan seeds the
 * table with running processes; iteration visits each entry once; and the
 * PROC_TABLE_MAX bound refuses the entry past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc_table.h"

static const char args[] = "ffmpeg\0-f\0x11grab\0-i\0:0";

static void test_exec_get_remove(void **state)
{
	struct proc_table t;
	struct proc *p;

	assert_int_equal(proc_table_init(&t), 0);
	assert_null(proc_table_get(&t, 4242));
	p = proc_table_exec(&t, 4242, 1, 0, 7, "ffmpeg", "/usr/bin/ffmpeg", args, sizeof(args));
	assert_non_null(p);
	assert_ptr_equal(proc_table_get(&t, 4242), p);
	assert_int_equal(p->ppid, 1);
	assert_string_equal(p->exe, "/usr/bin/ffmpeg");
	assert_int_equal(p->argc, 5);
	assert_string_equal(p->argv[2], "x11grab");
	assert_null(p->argv[5]);
	assert_string_equal(p->cmdline, "ffmpeg -f x11grab -i :0");
	assert_string_equal(p->user, "root");

	/* a second exec of the same pid replaces what was known */
	p = proc_table_exec(&t, 4242, 2, 0, 8, "sh", "/bin/sh", "sh", 3);
	assert_non_null(p);
	assert_ptr_equal(proc_table_get(&t, 4242), p);
	assert_string_equal(p->exe, "/bin/sh");
	assert_int_equal(p->ppid, 2);
	assert_int_equal(hashtab_count(&t.procs), 1);

	proc_table_remove(&t, 4242);
	assert_null(proc_table_get(&t, 4242));
	proc_table_remove(&t, 4242);	/* unknown: no-op */
	assert_int_equal(hashtab_count(&t.procs), 0);
	proc_table_free(&t);
}

static void test_load_and_scan(void **state)
{
	struct proc_table t;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct proc *p;
	int found = 0, visits = 0;

	assert_true(n > 0);
	exe[n] = '\0';
	proc_table_init(&t);
	p = proc_table_load(&t, getpid());
	assert_non_null(p);
	assert_string_equal(p->exe, exe);
	assert_int_equal(p->ppid, getppid());
	assert_ptr_equal(proc_table_load(&t, getpid()), p);	/* known now: not read again */

	assert_true(proc_table_scan(&t) >= 1);
	assert_non_null(proc_table_get(&t, 1));
	proc_table_for_each(&t, i, q) {
		visits++;
		if (q->pid == (uint32_t)getpid())
			found++;
	}
	assert_int_equal(found, 1);
	assert_int_equal(visits, (int)hashtab_count(&t.procs));
	proc_table_free(&t);
	assert_null(proc_table_get(&t, 1));
}

static void test_bound(void **state)
{
	struct proc_table t;

	proc_table_init(&t);
	for (uint32_t pid = 1; pid <= PROC_TABLE_MAX; pid++)
		assert_non_null(proc_table_exec(&t, pid, 0, 0, 0, "x", "/x", "x", 2));
	assert_null(proc_table_exec(&t, PROC_TABLE_MAX + 1, 0, 0, 0, "x", "/x", "x", 2));
	assert_null(proc_table_get(&t, PROC_TABLE_MAX + 1));
	/* re-exec of a tracked pid still works at the bound */
	assert_non_null(proc_table_exec(&t, 7, 0, 0, 0, "y", "/y", "y", 2));
	assert_string_equal(proc_table_get(&t, 7)->exe, "/y");
	proc_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_get_remove),
		cmocka_unit_test(test_load_and_scan),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
