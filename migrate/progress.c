/*
 * progress.c — the progress lines of migrate, verify and repair (see
 * migrate.h): on a terminal a bar redrawn five times a second, otherwise a
 * line every five seconds, and always the last one.
 */
#include <stdio.h>
#include <unistd.h>

#include "migrate.h"
#include "util.h"

static double now_s(void)
{
	return (double)now_mono_us() / 1e6;
}

void progress_begin(struct progress *p, const char *verb, const char *name, const char *unit, int64_t total,
                    int64_t done)
{
	p->verb = verb;
	p->name = name;
	p->unit = unit;
	p->total = total;
	p->done0 = done;
	p->start = now_s();
	p->printed = 0;
	p->tty = isatty(2);
}

void progress_note(struct progress *p, int64_t done, bool last)
{
	double now = now_s(), rate, pct, eta;

	if (!last && now - p->printed < (p->tty ? 0.2 : 5.0))
		return;
	p->printed = now;
	rate = (double)(done - p->done0) / (now - p->start + 1e-9);
	pct = p->total > 0 ? 100.0 * (double)done / (double)p->total : 100.0;
	eta = rate > 0 && p->total > done ? (double)(p->total - done) / rate : 0;
	if (pct > 100)
		pct = 100;
	if (p->tty) {
		char bar[31];
		int fill = (int)(pct * 30 / 100), i;

		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r%-12s [%s] %5.1f%%  %lld/%lld %s  %.0f %s/s  ETA %.0fs   %s", p->name, bar, pct,
		        (long long)done, (long long)p->total, p->unit, rate, p->unit, eta, last ? "\n" : "");
	} else {
		fprintf(stderr, "%s: %s %lld/%lld %s (%.1f%%), %.0f %s/s, ETA %.0fs\n", p->verb, p->name,
		        (long long)done, (long long)p->total, p->unit, pct, rate, p->unit, eta);
	}
}
