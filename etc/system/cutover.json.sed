# The installed configuration: etc/cutover.json with every path absolute
# and every secret from the environment, none with a default.
s|"\${DATABASE_URL:-[^}]*}"|"${DATABASE_URL}"|
s|"\${JWT_SECRET:-[^}]*}"|"${JWT_SECRET}"|
s|"\${CUTOVER_JOURNAL:-[^}]*}"|"${CUTOVER_JOURNAL:-@STATEDIR@/journal.sqlite3}"|
