/*
 * fuzz_config.c — libFuzzer target for the configuration loader
 * (src/core/config.c and every module's keys): the file an operator writes,
 * with ${VAR} interpolation, strict typing and the cross-checks.
 *
 * A text either loads or is refused with at least one problem, each a
 * line naming where; a loaded configuration is freed whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* What the environment may add is fixed, so a run repeats. */
	unsetenv("DATABASE_URL");
	unsetenv("MONGODB_URI");
	unsetenv("DATABASE_MODE");
	unsetenv("CUTOVER_LISTEN");
	setenv("JWT_SECRET", "fuzz-secret-not-real-00000000", 1);
	setenv("FUZZ_VAR", "value", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_problems pr = {0};
	struct config *cfg = config_load_text("fuzz.json", (const char *)data, size, &pr);

	if (cfg) {
		if (pr.count != 0)
			abort();
		config_free(cfg);
	} else if (pr.count <= 0 || !pr.text.len || !memchr(pr.text.p, ':', pr.text.len)) {
		abort();                /* refused without saying why or where */
	}
	config_problems_free(&pr);
	return 0;
}
