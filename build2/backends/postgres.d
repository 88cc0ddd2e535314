build2/backends/postgres.o: backends/postgres.c \
 /usr/include/postgresql/libpq-fe.h \
 /usr/include/postgresql/postgres_ext.h \
 /usr/include/postgresql/pg_config_ext.h include/sql.h include/store.h \
 include/arena.h include/config.h include/json.h include/util.h \
 include/value.h include/store.h
/usr/include/postgresql/libpq-fe.h:
/usr/include/postgresql/postgres_ext.h:
/usr/include/postgresql/pg_config_ext.h:
include/sql.h:
include/store.h:
include/arena.h:
include/config.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
