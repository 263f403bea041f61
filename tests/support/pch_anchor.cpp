// The translation unit that carries the test units' precompiled header
// (tests/CMakeLists.txt, edgefed_test_pch); it defines nothing.
