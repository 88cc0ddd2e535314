/*
 * bare_server.c — the benchmark baseline: a libevent HTTP server that
 * answers every request with a fixed JSON body of a given size, shaped like
 * the gateway (one loop per thread, SO_REUSEPORT), so the ratio measures
 * what the gateway's own work costs.
 *
 * usage: bare-server PORT BODY_BYTES THREADS
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static char *body;
static size_t body_len;

static void handle(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evbuffer_new();

	(void)arg;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evbuffer_add(out, body, body_len);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void *run(void *arg)
{
	int port = *(int *)arg, one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct event_base *base = event_base_new();
	struct evhttp *http = evhttp_new(base);

	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 1024) == -1) {
		perror("bare-server: bind");
		exit(1);
	}
	evhttp_set_gencb(http, handle, NULL);
	evhttp_accept_socket(http, fd);
	event_base_dispatch(base);
	return NULL;
}

int main(int argc, char **argv)
{
	int port, threads, i;
	pthread_t *t;

	if (argc != 4) {
		fprintf(stderr, "usage: bare-server PORT BODY_BYTES THREADS\n");
		return 2;
	}
	port = atoi(argv[1]);
	body_len = (size_t)atol(argv[2]);
	threads = atoi(argv[3]);
	body = malloc(body_len + 1);
	memset(body, 'x', body_len);
	if (body_len >= 2) {
		body[0] = '"';
		body[body_len - 1] = '"';
	}
	t = calloc((size_t)threads, sizeof(*t));
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, &port);
	fprintf(stderr, "bare-server: listening on 127.0.0.1:%d\n", port);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
