# Component boundaries (docs/DEVELOPING.md, "Layout rules").
#
# edgefed_component_headers(<target>
#     [BASE <dir>]          # include names are paths relative to BASE
#                           # (default: the repository root, so
#                           # "server/engine/engine.hpp")
#     PUBLIC  <header>...   # included by other components, tests, the sim,
#                           # benchmarks, or by another PUBLIC header
#     PRIVATE <header>...   # included only inside the component
#     [PARTIAL])            # more targets of this folder declare the rest
#
# One folder may hold several targets (server/http: the socket-free request
# handling and the Beast front end over it): each call but the last says
# PARTIAL, and the last one checks that the calls together declared every
# header of the folder.
#
# Headers are named relative to the calling CMakeLists.txt's folder. Every
# header (*.hpp, *.h, *.inc) of that folder must be in one of the two lists:
# configure stops and names any that is not (new headers are added by hand,
# and a file added without reconfiguring triggers a re-run through the
# CONFIGURE_DEPENDS glob).
#
# The headers are staged as symbolic links (the sources themselves, so edits
# need no re-run) under
#   <build>/include/<target>/public/<name>    PUBLIC include directory
#   <build>/include/<target>/private/<name>   PRIVATE include directory
# and the target gets those two folders instead of the repository root. A
# source then reaches its own component's headers and the PUBLIC headers of
# the targets it links, and nothing else: an agent file that includes
# "server/store/store.hpp", or an HTTP file that includes a private engine
# header, fails to compile. The #include lines stay as they are. Links of
# headers dropped from a list are removed, so a header made private is
# unreachable after the next configure. tests/boundaries checks the result.
#
# Each call is recorded in the global properties EDGEFED_COMPONENTS (the
# targets) and EDGEFED_COMPONENT_HEADERS_<target> ("PUBLIC|name" or
# "PRIVATE|name" entries) for tests/boundaries.
function(edgefed_component_headers target)
  cmake_parse_arguments(PARSE_ARGV 1 H "PARTIAL" "BASE" "PUBLIC;PRIVATE")
  if(H_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "edgefed_component_headers(${target}): unexpected arguments ${H_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "edgefed_component_headers(${target}): no such target (call it after add_library)")
  endif()
  if(NOT H_BASE)
    set(H_BASE ${PROJECT_SOURCE_DIR})
  endif()
  get_filename_component(base ${H_BASE} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  set(here ${CMAKE_CURRENT_SOURCE_DIR})
  file(RELATIVE_PATH here_rel ${PROJECT_SOURCE_DIR} ${here})

  # Every header of this folder is declared, once (by this call and the
  # PARTIAL calls before it in the same folder).
  get_directory_property(earlier EDGEFED_DECLARED_HEADERS)
  set(listed ${earlier} ${H_PUBLIC} ${H_PRIVATE})
  set_directory_properties(PROPERTIES EDGEFED_DECLARED_HEADERS "${listed}")
  set(dups ${listed})
  list(REMOVE_DUPLICATES dups)
  list(LENGTH listed n_listed)
  list(LENGTH dups n_unique)
  if(NOT n_listed EQUAL n_unique)
    message(FATAL_ERROR "edgefed_component_headers(${target}): a header is listed twice in ${here_rel}/CMakeLists.txt")
  endif()
  if(H_PARTIAL)
    set(present)
  else()
    file(GLOB present CONFIGURE_DEPENDS RELATIVE ${here} ${here}/*.hpp ${here}/*.h ${here}/*.inc)
  endif()
  set(missing)
  foreach(h IN LISTS present)
    if(NOT h IN_LIST listed)
      list(APPEND missing ${here_rel}/${h})
    endif()
  endforeach()
  if(missing)
    list(JOIN missing "\n  " missing)
    message(FATAL_ERROR "Not declared in ${here_rel}/CMakeLists.txt: add each to the PUBLIC "
      "(used outside ${target}) or PRIVATE list of edgefed_component_headers(${target}):\n  ${missing}")
  endif()

  set(stage ${PROJECT_BINARY_DIR}/include/${target})
  set(recorded)
  foreach(vis PUBLIC PRIVATE)
    string(TOLOWER ${vis} sub)
    set(wanted)
    foreach(h IN LISTS H_${vis})
      get_filename_component(abs ${h} ABSOLUTE BASE_DIR ${here})
      if(NOT EXISTS ${abs})
        message(FATAL_ERROR "edgefed_component_headers(${target}): ${here_rel}/${h} does not exist")
      endif()
      file(RELATIVE_PATH name ${base} ${abs})
      if(name MATCHES "^\\.\\./")
        message(FATAL_ERROR "edgefed_component_headers(${target}): ${here_rel}/${h} is outside BASE ${H_BASE}")
      endif()
      set(link ${stage}/${sub}/${name})
      list(APPEND wanted ${link})
      list(APPEND recorded "${vis}|${name}")
      set(current "")
      if(IS_SYMLINK ${link})
        file(READ_SYMLINK ${link} current)
      endif()
      if(NOT current STREQUAL abs)
        get_filename_component(link_dir ${link} DIRECTORY)
        file(MAKE_DIRECTORY ${link_dir})
        file(REMOVE ${link})
        file(CREATE_LINK ${abs} ${link} SYMBOLIC)
      endif()
    endforeach()
    # Drop links of headers no longer in this list.
    file(MAKE_DIRECTORY ${stage}/${sub})
    file(GLOB_RECURSE staged LIST_DIRECTORIES false ${stage}/${sub}/*)
    foreach(link IN LISTS staged)
      if(NOT link IN_LIST wanted)
        file(REMOVE ${link})
      endif()
    endforeach()
  endforeach()

  target_include_directories(${target} PUBLIC ${stage}/public PRIVATE ${stage}/private)
  set_property(GLOBAL APPEND PROPERTY EDGEFED_COMPONENTS ${target})
  set_property(GLOBAL PROPERTY EDGEFED_COMPONENT_HEADERS_${target} ${recorded})
endfunction()
