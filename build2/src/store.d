build2/src/store.o: src/store.c include/store.h include/arena.h \
 include/config.h include/json.h include/util.h include/value.h
include/store.h:
include/arena.h:
include/config.h:
include/json.h:
include/util.h:
include/value.h:
