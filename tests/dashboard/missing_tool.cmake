# Fails a test whose tool is missing, with MESSAGE (a test that cannot run
# must not pass silently).
message(FATAL_ERROR "FAIL: ${MESSAGE}")
