build2/src/journal.o: src/journal.c include/journal.h include/store.h \
 include/arena.h include/config.h include/json.h include/util.h \
 include/value.h include/json.h include/value.h
include/journal.h:
include/store.h:
include/arena.h:
include/config.h:
include/json.h:
include/util.h:
include/value.h:
include/json.h:
include/value.h:
