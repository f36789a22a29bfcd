#include <stdio.h>

int main(void) {
  int x = "not an int";
  printf("%d\n", x)
  return 0;
}
