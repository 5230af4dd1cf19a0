# Install rules and the exported CMake package (filled in with the install test).
