// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where the agent puts a uprobe: function prologues as gcc emits them (the
 * bytes are those of Debian 12's Xvfb, libX11 and libxcb), and byte forms
 * that must stop the walk because they write an argument register. The last
 * test places a real uprobe site in this very binary's code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "uprobe_site.h"

#define SITE(...) ({ static const uint8_t c[] = { __VA_ARGS__ }; uprobe_site(c, sizeof(c)); })

static void entry_already_emulated(void **state)
{
	/* fbGetImage, XCopyArea: push %r15 */
	assert_int_equal(SITE(0x41, 0x57, 0x41, 0x56, 0x45, 0x89, 0xc6), 0);
	/* XGetSubImage: push %rbp */
	assert_int_equal(SITE(0x55, 0x48, 0x89, 0xe5), 0);
}

static void xvfb_fb_copy_area(void **state)
{
	/* sub $8,%rsp; push $0; push $0; push disp(%rip); mov 0x38(%rsp),%eax;
	 * push %rax: the push of a scratch register is the site. */
	assert_int_equal(SITE(0x48, 0x83, 0xec, 0x08, 0x6a, 0x00, 0x6a, 0x00,
			      0xff, 0x35, 0xf2, 0xda, 0x19, 0x00, 0x8b, 0x44, 0x24, 0x38,
			      0x50, 0x8b, 0x44, 0x24, 0x38, 0x50, 0xe8, 0x8e, 0x68, 0x11, 0x00),
			 0x12);
}

static void endbr_then_push(void **state)
{
	assert_int_equal(SITE(0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x57), 4);
}

static void canary_and_spills(void **state)
{
	/* sub $0x78,%rsp; mov %fs:0x28,%rax; mov %rax,0x68(%rsp); xor %eax,%eax;
	 * mov %rsi,%r15; call */
	assert_int_equal(SITE(0x48, 0x83, 0xec, 0x78,
			      0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00,
			      0x48, 0x89, 0x44, 0x24, 0x68, 0x31, 0xc0, 0x49, 0x89, 0xf7,
			      0xe8, 0x00, 0x00, 0x00, 0x00),
			 23);
}

static void argument_register_written(void **state)
{
	/* libxcb's xcb_copy_area: sub; movzwl %r9w,%r9d (unknown): entry */
	assert_int_equal(SITE(0x48, 0x83, 0xec, 0x78, 0x45, 0x0f, 0xb7, 0xc9, 0x50), 0);
	/* mov 0x8(%rsp),%edi overwrites the first argument: entry */
	assert_int_equal(SITE(0x48, 0x83, 0xec, 0x08, 0x8b, 0x7c, 0x24, 0x08, 0x50), 0);
	/* xor %esi,%esi clears the second: entry */
	assert_int_equal(SITE(0x48, 0x83, 0xec, 0x08, 0x31, 0xf6, 0x50), 0);
	/* mov %rdi,%rcx (49 89 f9 would be r9): writes rcx: entry */
	assert_int_equal(SITE(0x48, 0x83, 0xec, 0x08, 0x48, 0x89, 0xf9, 0x50), 0);
	/* 41 90 is xchg %eax,%r8d, not a nop: entry */
	assert_int_equal(SITE(0x48, 0x83, 0xec, 0x08, 0x41, 0x90), 0);
}

static void truncated_code(void **state)
{
	assert_int_equal(SITE(0x48, 0x83), 0);
	assert_int_equal(uprobe_site(NULL, 0), 0);
}

int uprobe_site_test_function(int x);
__attribute__((noinline)) int uprobe_site_test_function(int x)
{
	return x * 3 + 1;
}

static void reads_a_real_function(void **state)
{
	uint8_t code[64];
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	assert_true(uprobe_site_read(self, "uprobe_site_test_function", code, sizeof(code)) > 0);
	assert_int_equal(uprobe_site_read(self, "no_such_function_here", code, sizeof(code)), -2);
	assert_int_equal(uprobe_site_test_function(1), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entry_already_emulated),
		cmocka_unit_test(xvfb_fb_copy_area),
		cmocka_unit_test(endbr_then_push),
		cmocka_unit_test(canary_and_spills),
		cmocka_unit_test(argument_register_written),
		cmocka_unit_test(truncated_code),
		cmocka_unit_test(reads_a_real_function),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
