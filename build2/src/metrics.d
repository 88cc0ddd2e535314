build2/src/metrics.o: src/metrics.c include/metrics.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/store.h include/util.h
include/metrics.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
include/util.h:
