build2/backends/sqlite.o: backends/sqlite.c include/sql.h include/store.h \
 include/arena.h include/config.h include/json.h include/util.h \
 include/value.h include/store.h
include/sql.h:
include/store.h:
include/arena.h:
include/config.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
