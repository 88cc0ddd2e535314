/*
 * request_id.c — pipeline step 1a: every request carries an id.
 *
 * A client's X-Request-Id is kept when it is short and printable (so a
 * trace can cross services); otherwise the gateway makes a random one.
 * The id is echoed in the response and written in the access log.
 */
#include <string.h>

#include "middleware.h"

static bool acceptable(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (id[i] <= 0x20 || id[i] >= 0x7f || id[i] == '"' || id[i] == '\\')
			return false;
	return true;
}

static int request_id_on_request(struct request *req)
{
	const char *given = req_header(req, "X-Request-Id");
	unsigned char raw[16];

	if (given && acceptable(given)) {
		strcpy(req->request_id, given);
	} else {
		fast_random_bytes(raw, sizeof(raw));
		hex_encode(raw, sizeof(raw), req->request_id);
	}
	return MW_CONTINUE;
}

static void request_id_on_response(struct request *req)
{
	req_add_header(req, "X-Request-Id", req->request_id);
}

const struct middleware mw_request_id = {
	.name = "request_id",
	.on_request = request_id_on_request,
	.on_response = request_id_on_response,
};
