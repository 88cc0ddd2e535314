build2/migrate/indexes.o: migrate/indexes.c include/migrate.h \
 include/config.h include/arena.h include/json.h include/util.h \
 include/value.h include/store.h
include/migrate.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
