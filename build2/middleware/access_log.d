build2/middleware/access_log.o: middleware/access_log.c include/json.h \
 include/arena.h include/util.h include/middleware.h include/config.h \
 include/json.h include/value.h include/request.h include/control.h \
 include/metrics.h include/store.h include/pool.h
include/json.h:
include/arena.h:
include/util.h:
include/middleware.h:
include/config.h:
include/json.h:
include/value.h:
include/request.h:
include/control.h:
include/metrics.h:
include/store.h:
include/pool.h:
