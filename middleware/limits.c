/*
 * limits.c — pipeline step 2: request size limits.
 *
 * Header size and idle time are enforced by the HTTP layer as connections
 * are read (server.c); the body limit is checked here so an oversize body
 * gets a JSON 413 the client can show.
 */
#include "middleware.h"
#include "request.h"

static int limits_on_request(struct request *req)
{
	if (req->body_len > req->cfg->max_body_bytes) {
		req_reply_detail(req, 413, "Request body is too large.");
		return MW_DONE;
	}
	return MW_CONTINUE;
}

const struct middleware mw_limits = {
	.name = "limits",
	.on_request = limits_on_request,
};
