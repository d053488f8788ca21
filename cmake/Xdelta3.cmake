# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the xdelta3 3.0.11 library (encoder + decoder, no command-line main) from the
# Debian source package that scripts/fetch-xdelta3.sh unpacks into third_party/.
# 64-bit file offsets; the secondary compressors DJW, FGK and LZMA are compiled in
# because stock xdelta3 on Debian writes LZMA-compressed sections by default, and
# deltas made by the older pve-patches add-on must decode.
if(NOT EXISTS "${PVEDIFF_XDELTA3_DIR}/xdelta3.c")
  message(FATAL_ERROR "xdelta3 source not found in ${PVEDIFF_XDELTA3_DIR}; run ./setup.sh "
                      "(or scripts/fetch-xdelta3.sh) first")
endif()
add_library(xdelta3 STATIC "${PVEDIFF_XDELTA3_DIR}/xdelta3.c")
target_include_directories(xdelta3 SYSTEM PUBLIC "${PVEDIFF_XDELTA3_DIR}")
target_compile_definitions(xdelta3 PUBLIC
  XD3_USE_LARGEFILE64=1 SIZEOF_SIZE_T=8 SIZEOF_UNSIGNED_LONG=8 SIZEOF_UNSIGNED_LONG_LONG=8
  SECONDARY_DJW=1 SECONDARY_FGK=1 SECONDARY_LZMA=1 HAVE_LZMA_H=1
  XD3_ENCODER=1 XD3_DEBUG=0 REGRESSION_TEST=0 VCDIFF_TOOLS=0 XD3_MAIN=0 XD3_POSIX=1)
target_compile_options(xdelta3 PRIVATE -w)
# xdelta3 3.0.11 itself trips UBSan (misaligned loads in xdelta3.c, a null member access
# in xdelta3-lzma.h); AddressSanitizer still covers it, UBSan covers pvediff's own code.
if(PVEDIFF_SANITIZE)
  target_compile_options(xdelta3 PRIVATE -fno-sanitize=undefined)
endif()
set_target_properties(xdelta3 PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
target_link_libraries(xdelta3 PUBLIC PkgConfig::LZMA)
