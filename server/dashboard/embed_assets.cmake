# Writes OUT from TEMPLATE with the dashboard's files (DIR) as string
# literals, so ratelimitd serves them with no file on disk:
#   cmake -DDIR=server/dashboard -DTEMPLATE=assets.cpp.in -DOUT=x.cpp -P embed_assets.cmake
# Run at build time (add_custom_command): editing a file rebuilds the binary.
foreach(_pair "index.html;INDEX_HTML" "dashboard.js;DASHBOARD_JS" "dashboard.css;DASHBOARD_CSS")
  list(GET _pair 0 _file)
  list(GET _pair 1 _var)
  file(READ "${DIR}/${_file}" _text)
  string(FIND "${_text}" ")rl_asset" _clash)
  if(NOT _clash EQUAL -1)
    message(FATAL_ERROR "${DIR}/${_file} contains ')rl_asset', the raw string delimiter")
  endif()
  set(${_var} "${_text}")
endforeach()
configure_file("${TEMPLATE}" "${OUT}" @ONLY)
