# Warnings apply to bpfbox's own targets through this interface library.
add_library(bpfbox_warnings INTERFACE)
target_compile_options(bpfbox_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
                       -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(BPFBOX_WERROR)
  target_compile_options(bpfbox_warnings INTERFACE -Werror)
endif()
