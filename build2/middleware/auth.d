build2/middleware/auth.o: middleware/auth.c include/jwt.h include/util.h \
 include/middleware.h include/config.h include/arena.h include/json.h \
 include/value.h include/request.h include/control.h include/metrics.h \
 include/store.h include/pool.h
include/jwt.h:
include/util.h:
include/middleware.h:
include/config.h:
include/arena.h:
include/json.h:
include/value.h:
include/request.h:
include/control.h:
include/metrics.h:
include/store.h:
include/pool.h:
