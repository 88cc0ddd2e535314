build2/middleware/limits.o: middleware/limits.c include/middleware.h \
 include/config.h include/arena.h include/json.h include/util.h \
 include/value.h include/request.h include/control.h include/metrics.h \
 include/store.h include/pool.h
include/middleware.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/request.h:
include/control.h:
include/metrics.h:
include/store.h:
include/pool.h:
