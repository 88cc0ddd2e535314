build2/migrate/progress.o: migrate/progress.c include/migrate.h \
 include/config.h include/arena.h include/json.h include/util.h \
 include/value.h include/util.h
include/migrate.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/util.h:
