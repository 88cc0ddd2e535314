/*
 * config_modules.c — the modules whose keys make up the configuration, in
 * the order their checks run (see config.h).  A module that reads a key
 * declares it in its own source and is listed here.
 */
#include "config.h"

extern const struct config_module config_core, model_config, server_config, proxy_config, upstream_config,
	auth_config, cors_config, access_log_config, admin_config, metrics_config, shadow_config, journal_config, control_config,
	mismatch_config, readiness_config, fallback_config,
	resource_config, tls_config, profile_config;

const struct config_module *const config_modules[] = {
	&config_core, &model_config, &proxy_config, &upstream_config, &auth_config, &server_config, &admin_config,
	&resource_config, &cors_config,
	&access_log_config, &metrics_config, &shadow_config, &journal_config, &control_config, &mismatch_config,
	&readiness_config, &fallback_config, &tls_config,
	&profile_config, NULL,
};
