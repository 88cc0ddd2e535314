/*
 * access_log.c — pipeline step 1b: one JSON line per request, written
 * after the response has gone out, with a single write(2) so lines from
 * different loops never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "middleware.h"

static int log_fd = -1;

static int access_log_init(const struct config *cfg, struct error *err)
{
	const char *path = cfg->access_log;

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
	return 0;
}

static void access_log_on_log(const struct request *req)
{
	struct buf b = {0};
	char ts[40];
	ssize_t w;

	if (log_fd == -1)
		return;
	datetime_format_api(datetime_trunc_ms(now_wall_us()), ts);
	buf_printf(&b, "{\"time\":\"%s\",\"request_id\":\"%s\",\"remote\":", ts, req->request_id);
	json_put_cstr(&b, req->remote);
	buf_printf(&b, ",\"method\":\"%s\",\"uri\":", req->method);
	json_put_cstr(&b, req->uri);
	buf_printf(&b, ",\"route\":");
	json_put_cstr(&b, req->route);
	buf_printf(&b, ",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f", req->status,
	           (unsigned long long)(req->out.len + req->sent),
	           (double)(now_mono_us() - req->start_us) / 1000.0);
	if (req->auth == AUTH_OK)
		buf_printf(&b, ",\"user\":%lld", (long long)req->principal);
	buf_puts(&b, "}\n");
	w = write(log_fd, b.p, b.len);
	(void)w;
	buf_free(&b);
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
	.fini = access_log_fini,
};
