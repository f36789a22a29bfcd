/* exit codes through exit() and from main, and output flushed before exiting. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  int code = argc > 1 ? atoi(argv[1]) : 0;
  printf("exiting with %d\n", code);
  fprintf(stderr, "to stderr before exit\n");
  if (code > 100) exit(code - 100);
  return code;
}
