/*
 * request_id.c — pipeline step 1a: every request carries an id.
 *
 * A client's X-Request-Id is kept when it is short and printable (so a
 * trace can cross services); otherwise the gateway makes a random one.
 * The id is echoed in the response and written in the access log.
 */
#include <string.h>

#include "middleware.h"
#include "request.h"

void request_id_choose(const char *given, size_t n, char out[72])
{
	unsigned char raw[16];
	size_t i;

	for (i = 0; given && i < n && n <= 64; i++)
		if (given[i] <= 0x20 || given[i] >= 0x7f || given[i] == '"' || given[i] == '\\')
			break;
	if (given && n > 0 && i == n && n <= 64) {
		memcpy(out, given, n);
		out[n] = '\0';
	} else {
		fast_random_bytes(raw, sizeof(raw));
		hex_encode(raw, sizeof(raw), out);
	}
}

static int request_id_on_request(struct request *req)
{
	const char *given = req_header(req, "X-Request-Id");

	request_id_choose(given, given ? strlen(given) : 0, req->request_id);
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
