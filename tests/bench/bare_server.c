/*
 * bare_server.c — the benchmark baseline: a libevent HTTP server that
 * answers every request with a fixed JSON body of a given size, shaped like
 * the gateway (one loop per thread, SO_REUSEPORT), so the ratio measures
 * what the gateway's own work costs.
 *
 * Given a SQLite database and statements, every request first runs them in
 * one read transaction on its loop's own connection (prepared once, every
 * column of every row read as text): the store's own cost of the request,
 * as pgbench is for PostgreSQL, so that ratio says what the gateway adds.
 *
 * usage: bare-server PORT BODY_BYTES THREADS [DATABASE STATEMENT...]
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <sqlite3.h>

static char *body;
static size_t body_len;
static const char *db_path;
static char **sqls;
static int nsqls;

struct loop {
	sqlite3 *db;
	sqlite3_stmt *begin, *commit, **st;
};

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bare-server: %s: %s\n", sql, sqlite3_errmsg(db));
		exit(1);
	}
	return st;
}

static int step_all(sqlite3_stmt *st)
{
	int rc, rows = 0, i;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++)
			if (sqlite3_column_text(st, i))
				rows += sqlite3_column_bytes(st, i) > 0;
		rows++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? rows : -1;
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct loop *l = arg;
	struct evbuffer *out;
	int i, ok = 1;

	if (l->db) {
		ok = step_all(l->begin) >= 0;
		for (i = 0; i < nsqls && ok; i++)
			ok = step_all(l->st[i]) > 0;
		step_all(l->commit);
		if (!ok) {
			evhttp_send_error(req, 500, NULL);
			return;
		}
	}
	out = evbuffer_new();
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
	struct loop l = {0};
	int i;

	if (db_path) {
		if (sqlite3_open_v2(db_path, &l.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			fprintf(stderr, "bare-server: cannot open %s\n", db_path);
			exit(1);
		}
		l.begin = prepare(l.db, "BEGIN");
		l.commit = prepare(l.db, "COMMIT");
		l.st = calloc((size_t)nsqls, sizeof(*l.st));
		for (i = 0; i < nsqls; i++)
			l.st[i] = prepare(l.db, sqls[i]);
	}

	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	/* As the gateway: no answer's tail waits for the client's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 1024) == -1) {
		perror("bare-server: bind");
		exit(1);
	}
	evhttp_set_gencb(http, handle, &l);
	evhttp_accept_socket(http, fd);
	event_base_dispatch(base);
	return NULL;
}

int main(int argc, char **argv)
{
	int port, threads, i;
	pthread_t *t;

	if (argc < 4 || argc == 5) {
		fprintf(stderr, "usage: bare-server PORT BODY_BYTES THREADS [DATABASE STATEMENT...]\n");
		return 2;
	}
	if (argc > 5) {
		db_path = argv[4];
		sqls = argv + 5;
		nsqls = argc - 5;
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
