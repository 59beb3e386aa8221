// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which layer a kernel capture record belongs to (api_layer()), and that
 * the api table has a row for every enum sphinx_api value. The glamor
 * reads happen inside the X server: a capture seen there is layer
 * "xserver", never "api" (main decided by an enum range that ended at
 * CompositePicture, so glamor captures were reported as "api").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api_names.h"
#include "layer.h"
#include "sphinx.h"

static void glamor_reads_are_the_xserver_layer(void **state)
{
	assert_int_equal(api_layer(SPHINX_API_XSERVER_GLAMOR_GET_IMAGE), LAYER_XSERVER);
	assert_int_equal(api_layer(SPHINX_API_XSERVER_GLAMOR_COPY_AREA), LAYER_XSERVER);
	assert_int_equal(api_layer(SPHINX_API_XSERVER_GLAMOR_COMPOSITE), LAYER_XSERVER);
}

static void fb_reads_are_the_xserver_layer(void **state)
{
	assert_int_equal(api_layer(SPHINX_API_XSERVER_GET_IMAGE), LAYER_XSERVER);
	assert_int_equal(api_layer(SPHINX_API_XSERVER_COPY_AREA), LAYER_XSERVER);
	assert_int_equal(api_layer(SPHINX_API_XSERVER_COMPOSITE), LAYER_XSERVER);
}

static void device_ioctls_are_the_device_layer(void **state)
{
	assert_int_equal(api_layer(SPHINX_API_DRM_GETFB), LAYER_DEVICE);
	assert_int_equal(api_layer(SPHINX_API_DRM_GETFB2), LAYER_DEVICE);
	assert_int_equal(api_layer(SPHINX_API_FBIOGET_VSCREENINFO), LAYER_DEVICE);
}

static void library_calls_are_the_api_layer(void **state)
{
	assert_int_equal(api_layer(SPHINX_API_XCB_SHM_GET_IMAGE), LAYER_API);
	assert_int_equal(api_layer(SPHINX_API_X_GET_IMAGE), LAYER_API);
	assert_int_equal(api_layer(SPHINX_API_PW_STREAM_CONNECT), LAYER_API);
	assert_int_equal(api_layer(SPHINX_API_WL_SCREENCOPY), LAYER_API);
	assert_int_equal(api_layer(SPHINX_API_X_COMPOSITE_NAME_WINDOW_PIXMAP), LAYER_API);
	/* Out of range: the library layer, never an index past the table. */
	assert_int_equal(api_layer(SPHINX_API__MAX), LAYER_API);
}

/* A row left out in the middle of the table would have no name. */
static void every_api_has_a_name(void **state)
{
	for (unsigned api = 0; api < SPHINX_API__MAX; api++) {
		const char *name = api_name(api);

		if (strcmp(name, "unknown") == 0)
			fail_msg("enum sphinx_api value %u has no row in api_names.c", api);
	}
	assert_string_equal(api_name(SPHINX_API__MAX), "unknown");
	for (unsigned t = 0; t < SPHINX_TARGET__MAX; t++)
		if (strcmp(target_name(t), "unknown") == 0)
			fail_msg("enum sphinx_target value %u has no name", t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(glamor_reads_are_the_xserver_layer),
		cmocka_unit_test(fb_reads_are_the_xserver_layer),
		cmocka_unit_test(device_ioctls_are_the_device_layer),
		cmocka_unit_test(library_calls_are_the_api_layer),
		cmocka_unit_test(every_api_has_a_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
