// SPDX-License-Identifier: GPL-2.0-only
/*
 * A PipeWire client that connects one input stream, the way a screen-cast
 * consumer (OBS, Chromium, gst pipewiresrc) or an audio recorder does:
 *   pw_stream_client video    # format param: mediaType video (a screen cast)
 *   pw_stream_client audio    # format param: mediaType audio
 * No daemon is needed: the agent's uprobe sees the pw_stream_connect() call
 * itself; the connection failing afterwards is expected here.
 */
#include <stdio.h>
#include <string.h>

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/video/format-utils.h>

int main(int argc, char **argv)
{
	bool video = argc > 1 && strcmp(argv[1], "video") == 0;
	const struct spa_pod *params[1];
	uint8_t buffer[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buffer, sizeof(buffer));
	static const struct pw_stream_events events = { PW_VERSION_STREAM_EVENTS };
	struct pw_main_loop *loop;
	struct pw_stream *stream;
	int res;

	pw_init(&argc, &argv);
	loop = pw_main_loop_new(NULL);
	stream = pw_stream_new_simple(pw_main_loop_get_loop(loop), "sphinx-test",
		pw_properties_new(PW_KEY_MEDIA_TYPE, video ? "Video" : "Audio",
				  PW_KEY_MEDIA_CATEGORY, "Capture", NULL),
		&events, NULL);
	if (video) {
		struct spa_video_info_raw info = { .format = SPA_VIDEO_FORMAT_BGRx,
			.size = SPA_RECTANGLE(1280, 720), .framerate = SPA_FRACTION(30, 1) };

		params[0] = spa_format_video_raw_build(&b, SPA_PARAM_EnumFormat, &info);
	} else {
		struct spa_audio_info_raw info = { .format = SPA_AUDIO_FORMAT_S16,
			.rate = 48000, .channels = 2 };

		params[0] = spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info);
	}
	res = pw_stream_connect(stream, PW_DIRECTION_INPUT, PW_ID_ANY,
				PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
	printf("pw_stream_connect(%s) = %d\n", video ? "video" : "audio", res);
	pw_stream_destroy(stream);
	pw_main_loop_destroy(loop);
	pw_deinit();
	return 0;
}
