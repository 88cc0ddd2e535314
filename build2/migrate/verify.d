build2/migrate/verify.o: migrate/verify.c include/drf.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/store.h include/journal.h include/json.h include/migrate.h \
 include/shadow.h include/pool.h include/request.h include/control.h \
 include/metrics.h include/store.h
include/drf.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
include/journal.h:
include/json.h:
include/migrate.h:
include/shadow.h:
include/pool.h:
include/request.h:
include/control.h:
include/metrics.h:
include/store.h:
