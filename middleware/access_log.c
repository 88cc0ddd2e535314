/*
 * access_log.c — pipeline step 1b: one JSON line per request, written
 * after the response has gone out.
 *
 * Lines are built without printf (known fields appended directly, the
 * time's seconds formatted once per second) and gathered per loop: the
 * loop writes what it holds when it has nothing else to do, or when a
 * chunk is full, each chunk whole lines in one write(2), so lines from
 * different loops never interleave.  A chunk is at most PIPE_BUF bytes
 * when the log is a pipe or terminal (what the kernel writes atomically
 * there), 64 KiB for a file (appends are atomic).  A thread without a
 * loop writes its lines at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "json.h"
#include "middleware.h"
#include "request.h"

static int log_fd = -1;
static size_t chunk = PIPE_BUF;

static _Thread_local struct {
	struct buf lines;           /* whole lines, not written yet */
	struct event *flush;        /* the loop's idle-time write */
	int64_t sec;                /* the second of stamp */
	char stamp[40];             /* "2026-12-03T06:16:17", of sec */
	size_t stamp_len;
} T = {.sec = -1};

static int access_log_init(const struct config *cfg, struct error *err)
{
	const char *path = cfg->access_log;
	struct stat st;

	if (!path || !*path) {
		log_fd = -1;
	} else if (strcmp(path, "-") == 0) {
		log_fd = 2;
	} else {
		log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (log_fd == -1) {
			error_set(err, errno, "cannot open access log %s: %s", path, strerror(errno));
			return -1;
		}
	}
	chunk = log_fd != -1 && fstat(log_fd, &st) == 0 && S_ISREG(st.st_mode) ? 64 * 1024 : PIPE_BUF;
	return 0;
}

/* Write the lines held, in chunks of whole lines. */
static void flush_lines(void)
{
	size_t off = 0;

	while (off < T.lines.len) {
		size_t n = T.lines.len - off;
		ssize_t w;

		if (n > chunk) {
			/* up to the last line end within the chunk; a longer line alone */
			const char *end = memrchr(T.lines.p + off, '\n', chunk);

			n = end ? (size_t)(end - (T.lines.p + off)) + 1
			        : (size_t)((const char *)memchr(T.lines.p + off, '\n', n) - (T.lines.p + off)) + 1;
		}
		do
			w = write(log_fd, T.lines.p + off, n);
		while (w == -1 && errno == EINTR);
		if (w <= 0)
			break;              /* the log is gone: what it holds is dropped */
		off += (size_t)w;
	}
	T.lines.len = 0;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	flush_lines();
}

/* ".ddd": thousandths (n mod 1000). */
static void put_thousandths(struct buf *b, int64_t n)
{
	char frac[4] = {'.'};

	put_digits(frac + 1, (unsigned)(n % 1000), 3);
	buf_put(b, frac, 4);
}

/* "…T06:16:17" then ".mmm000Z", or "Z" on the second: the API's format of
 * the time to the millisecond. */
static void put_time(struct buf *b, int64_t us)
{
	int64_t sec = us / 1000000, ms = us / 1000 % 1000;

	if (sec != T.sec) {
		T.stamp_len = datetime_format_api(sec * 1000000, T.stamp) - 1;      /* without the Z */
		T.sec = sec;
	}
	buf_put(b, T.stamp, T.stamp_len);
	if (ms) {
		put_thousandths(b, ms);
		buf_puts(b, "000Z");
	} else {
		buf_putc(b, 'Z');
	}
}

static void access_log_on_log(const struct request *req)
{
	struct buf *b = &T.lines;
	size_t start = b->len;
	int64_t us;

	if (log_fd == -1)
		return;
	us = now_mono_us() - req->start_us;
	buf_reserve(b, 512);
	buf_puts(b, "{\"time\":\"");
	put_time(b, now_wall_us());
	buf_puts(b, "\",\"request_id\":\"");
	buf_puts(b, req->request_id);
	buf_puts(b, "\",\"remote\":");
	json_put_cstr(b, req->remote);
	buf_puts(b, ",\"method\":\"");
	buf_puts(b, req->method);
	buf_puts(b, "\",\"uri\":");
	json_put_cstr(b, req->uri);
	buf_puts(b, ",\"route\":");
	json_put_cstr(b, req->route);
	buf_puts(b, ",\"status\":");
	buf_put_int(b, req->status);
	buf_puts(b, ",\"bytes\":");
	buf_put_int(b, (int64_t)(req->out.len + req->sent));
	buf_puts(b, ",\"duration_ms\":");
	buf_put_int(b, us / 1000);
	put_thousandths(b, us);
	if (req->auth == AUTH_OK) {
		buf_puts(b, ",\"user\":");
		buf_put_int(b, req->principal);
	}
	buf_puts(b, "}\n");
	if (!T.flush) {
		flush_lines();
		buf_free(b);
	} else if (b->len >= chunk) {
		flush_lines();
	} else if (start == 0) {
		event_active(T.flush, EV_WRITE, 0);
	}
}

static void access_log_loop_start(struct event_base *base)
{
	/* The lowest priority: it runs once the loop has served what is ready. */
	T.flush = event_new(base, -1, 0, on_flush, NULL);
	if (T.flush)
		event_priority_set(T.flush, MW_IDLE_PRIORITY);
}

static void access_log_loop_end(void)
{
	flush_lines();
	if (T.flush)
		event_free(T.flush);
	T.flush = NULL;
	buf_free(&T.lines);
}

static void access_log_fini(void)
{
	if (log_fd > 2)
		close(log_fd);
	log_fd = -1;
}

const struct middleware mw_access_log = {
	.name = "access_log",
	.init = access_log_init,
	.on_log = access_log_on_log,
	.loop_start = access_log_loop_start,
	.loop_end = access_log_loop_end,
	.fini = access_log_fini,
};

static const struct config_key keys[] = {
	{NULL, "access_log", CFG_STRING, CFG_FIELD(access_log), 0, 0, "-", NULL, NULL,
	 "- for standard error, \"\" for none, or a file (JSON lines)"},
};

const struct config_module access_log_config = {"access_log", keys, ARRAY_LEN(keys), NULL};
