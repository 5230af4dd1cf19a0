# Writes OUT from TEMPLATE with @VAR@ replaced by the text of IN (a file).
#   cmake -DIN=lua/decide.lua -DVAR=RATELIMIT_DECIDE_LUA -DTEMPLATE=x.cpp.in -DOUT=x.cpp -P EmbedText.cmake
# Run at build time (add_custom_command), so editing IN rebuilds what embeds it.
file(READ "${IN}" _text)
set(${VAR} "${_text}")
configure_file("${TEMPLATE}" "${OUT}" @ONLY)
