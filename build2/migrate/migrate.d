build2/migrate/migrate.o: migrate/migrate.c include/json.h \
 include/arena.h include/util.h include/migrate.h include/config.h \
 include/json.h include/value.h include/store.h
include/json.h:
include/arena.h:
include/util.h:
include/migrate.h:
include/config.h:
include/json.h:
include/value.h:
include/store.h:
