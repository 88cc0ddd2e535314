build2/src/pool.o: src/pool.c include/pool.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/store.h
include/pool.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
