/*
 * dashboard.c — the dashboard's files, embedded with the assembler's
 * .incbin (the paths are the repository's; the Makefile rebuilds this file
 * when one of them changes).
 */
#include <string.h>

#include "dashboard.h"

#define EMBED(sym, file)                                                  \
	__asm__(".section .rodata\n"                                        \
	        ".global " #sym "\n" #sym ":\n"                             \
	        ".incbin \"" file "\"\n"                                    \
	        ".global " #sym "_end\n" #sym "_end:\n"                     \
	        ".previous\n");                                             \
	extern const char sym[], sym##_end[]

EMBED(dashboard_html, "src/ops/dashboard/index.html");
EMBED(dashboard_js, "src/ops/dashboard/dashboard.js");
EMBED(dashboard_css, "src/ops/dashboard/dashboard.css");
EMBED(dashboard_icon, "src/ops/dashboard/favicon.svg");

bool dashboard_file(const char *name, const char **type, const char **body, size_t *len)
{
	static const struct {
		const char *name, *type, *start, *end;
	} files[] = {
		{"", "text/html; charset=utf-8", dashboard_html, dashboard_html_end},
		{"dashboard", "text/html; charset=utf-8", dashboard_html, dashboard_html_end},
		{"dashboard.js", "text/javascript; charset=utf-8", dashboard_js, dashboard_js_end},
		{"dashboard.css", "text/css; charset=utf-8", dashboard_css, dashboard_css_end},
		{"favicon.svg", "image/svg+xml", dashboard_icon, dashboard_icon_end},
	};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(name, files[i].name) == 0) {
			*type = files[i].type;
			*body = files[i].start;
			*len = (size_t)(files[i].end - files[i].start);
			return true;
		}
	}
	return false;
}
