build2/src/control.o: src/control.c include/control.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/metrics.h include/store.h include/journal.h include/json.h
include/control.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/metrics.h:
include/store.h:
include/journal.h:
include/json.h:
