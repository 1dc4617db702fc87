# BPFBOX_SANITIZE=address,undefined or thread: applied to every target of the build.
if(BPFBOX_SANITIZE)
  add_compile_options(-fsanitize=${BPFBOX_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${BPFBOX_SANITIZE})
  if(BPFBOX_SANITIZE MATCHES "address")
    # The runtime's default options, in every target made after this point: an object library,
    # since an archive member would never be pulled in (libasan.so already defines the symbol).
    add_library(bpfbox_asan_default_options OBJECT ${CMAKE_CURRENT_LIST_DIR}/asan_default_options.c)
    link_libraries(bpfbox_asan_default_options)
  endif()
endif()
