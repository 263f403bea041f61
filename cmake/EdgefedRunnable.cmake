# edgefed_runnable(VAR TARGET): a command that runs TARGET's executable, for
# tests whose scripts start it themselves (add_test runs a target named as
# its COMMAND through CMAKE_CROSSCOMPILING_EMULATOR by itself, a script
# does not). Natively the executable; in a cross build a small shell
# wrapper next to it that runs it under the emulator (qemu-user).
function(edgefed_runnable var target)
  if(CMAKE_CROSSCOMPILING AND CMAKE_CROSSCOMPILING_EMULATOR)
    set(wrapper ${CMAKE_CURRENT_BINARY_DIR}/${target}.run)
    list(JOIN CMAKE_CROSSCOMPILING_EMULATOR "' '" emulator)
    file(GENERATE OUTPUT ${wrapper}
         CONTENT "#!/bin/sh\nexec '${emulator}' '$<TARGET_FILE:${target}>' \"$@\"\n"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
    set(${var} ${wrapper} PARENT_SCOPE)
  else()
    set(${var} $<TARGET_FILE:${target}> PARENT_SCOPE)
  endif()
endfunction()
