build2/src/drf.o: src/drf.c include/drf.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/store.h
include/drf.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
