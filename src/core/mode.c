/*
 * mode.c — the modes' names (see mode.h).
 */
#include <string.h>

#include "mode.h"
#include "util.h"

static const char *const modes[] = {"legacy", "dual-write", "shadow", "live", "rampdown", "mongodb",
                                    "passthrough"};

int mode_parse(const char *s)
{
	size_t i;

	if (strcmp(s, "dual") == 0)
		return MODE_SHADOW;
	for (i = 0; i < ARRAY_LEN(modes); i++)
		if (strcmp(s, modes[i]) == 0)
			return (int)i;
	return -1;
}

const char *mode_name(enum mode m)
{
	return (unsigned)m < ARRAY_LEN(modes) ? modes[m] : "?";
}

