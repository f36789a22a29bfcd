/* argv, the environment and the exit code. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  const char *v = getenv("STUDIO_TEST");
  printf("STUDIO_TEST=%s\n", v ? v : "(unset)");
  printf("MISSING=%s\n", getenv("STUDIO_MISSING") ? "set" : "(unset)");
  return 7;
}
