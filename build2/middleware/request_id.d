build2/middleware/request_id.o: middleware/request_id.c \
 include/middleware.h include/config.h include/arena.h include/json.h \
 include/util.h include/value.h include/request.h include/control.h \
 include/metrics.h include/store.h include/pool.h
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
