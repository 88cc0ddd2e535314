build2/src/sql.o: src/sql.c include/sql.h include/store.h include/arena.h \
 include/config.h include/json.h include/util.h include/value.h
include/sql.h:
include/store.h:
include/arena.h:
include/config.h:
include/json.h:
include/util.h:
include/value.h:
