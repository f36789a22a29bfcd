/* stdin to stdout (upper-cased), a count on stderr. */
#include <ctype.h>
#include <stdio.h>
int main(void) {
  char line[256];
  int lines = 0;
  while (fgets(line, sizeof line, stdin)) {
    for (char *p = line; *p; p++) *p = (char)toupper((unsigned char)*p);
    fputs(line, stdout);
    lines++;
  }
  fprintf(stderr, "read %d lines\n", lines);
  return lines == 3 ? 0 : 1;
}
