build2/src/main.o: src/main.c include/cli.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/config.h include/jwt.h include/migrate.h include/server.h \
 include/shadow.h include/pool.h include/store.h include/request.h \
 include/control.h include/metrics.h include/store.h
include/cli.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/config.h:
include/jwt.h:
include/migrate.h:
include/server.h:
include/shadow.h:
include/pool.h:
include/store.h:
include/request.h:
include/control.h:
include/metrics.h:
include/store.h:
