// The compiled R4 definitions (fhir-model/data/r4-definitions.json), embedded so binaries need no data file.
// PLANBRO_R4_DEFINITIONS_PATH is the JSON file's absolute path, set by fhir-model/CMakeLists.txt, which also makes
// this object rebuild when the JSON changes. A NUL byte follows the text; the size does not count it.

  .section .rodata
  .balign 16
  .global planbro_r4_definitions
  .type planbro_r4_definitions, @object
planbro_r4_definitions:
  .incbin PLANBRO_R4_DEFINITIONS_PATH
planbro_r4_definitions_end:
  .byte 0
  .size planbro_r4_definitions, . - planbro_r4_definitions

  .balign 8
  .global planbro_r4_definitions_size
  .type planbro_r4_definitions_size, @object
planbro_r4_definitions_size:
  .quad planbro_r4_definitions_end - planbro_r4_definitions
  .size planbro_r4_definitions_size, 8

  .section .note.GNU-stack,"",@progbits
