// SPDX-License-Identifier: GPL-2.0-only
/* The route table: every HTTP API endpoint, its method, flags and handler. */
#include "api.h"
#include "cleanup.h"

const struct route routes[] = {
	{ HM_GET, "/api/health", 0, api_health },
	{ HM_GET, "/api/config", 0, api_config },
	{ HM_POST, "/api/auth/signup", R_JSON | R_CSRF, api_signup },
	{ HM_POST, "/api/auth/login", R_JSON | R_CSRF, api_login },
	{ HM_POST, "/api/auth/logout", R_AUTH | R_CSRF, api_logout },
	{ HM_GET, "/api/me", R_AUTH, api_me },
	{ HM_GET, "/auth/oidc/start", 0, oidc_start },
	{ HM_GET, "/auth/oidc/callback", 0, oidc_callback },
	{ HM_POST, "/api/meetings", R_AUTH | R_JSON | R_CSRF, api_meeting_create },
	{ HM_GET, "/api/meetings", R_AUTH, api_meeting_list },
	{ HM_POST, "/api/meetings/join", R_AUTH | R_JSON | R_CSRF, api_meeting_join },
	{ HM_GET, "/api/meetings/:", R_AUTH, api_meeting_get },
	{ HM_GET, "/api/meetings/:/attendance", R_AUTH, api_meeting_attendance },
	{ HM_GET, "/api/meetings/:/recordings", R_AUTH, api_meeting_recordings },
	{ HM_GET, "/api/meetings/:/chat", R_AUTH, api_meeting_chat_page },
	{ HM_GET, "/api/meetings/:/people", R_AUTH, api_meeting_people },
	{ HM_GET, "/api/meetings/:/monitoring", R_AUTH, api_meeting_monitoring },
	{ HM_POST, "/api/meetings/:/end", R_AUTH | R_CSRF, api_meeting_end },
	{ HM_POST, "/api/meetings/:/organisers", R_AUTH | R_JSON | R_CSRF, api_meeting_add_organiser },
	{ HM_POST, "/api/meetings/:/bans", R_AUTH | R_JSON | R_CSRF, api_meeting_ban },
	{ HM_POST, "/api/admin/machines", R_AUTH | R_JSON | R_CSRF, api_admin_machine_create },
	{ HM_GET, "/api/admin/machines", R_AUTH, api_admin_machine_list },
	{ HM_GET, "/api/admin/machines.csv", R_AUTH, api_admin_machine_csv },
	{ HM_PUT, "/api/admin/machines/:/group", R_AUTH | R_JSON | R_CSRF, api_admin_machine_group },
	{ HM_POST, "/api/admin/policy", R_AUTH | R_JSON | R_CSRF, api_admin_policy_push },
	{ HM_GET, "/api/admin/policy", R_AUTH, api_admin_policy_list },
	{ HM_GET, "/api/admin/policy/rollout", R_AUTH, api_admin_policy_rollout },
	{ HM_POST, "/api/admin/policy/rollback", R_AUTH | R_JSON | R_CSRF, api_admin_policy_rollback },
	{ HM_GET, "/api/admin/policy/:", R_AUTH, api_admin_policy_show },
	{ HM_GET, "/api/admin/observations", R_AUTH, api_admin_observations },
};

const size_t routes_count = ARRAY_SIZE(routes);
