# BPFBOX_SANITIZE=address,undefined or thread: applied to every target of the build.
if(BPFBOX_SANITIZE)
  add_compile_options(-fsanitize=${BPFBOX_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${BPFBOX_SANITIZE})
endif()
