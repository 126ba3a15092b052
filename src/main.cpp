// tlflow — wiring only: configuration, store, pipeline, API.
#include <cstdio>

int main() {
  std::puts("tlflow " TLFLOW_VERSION);
  return 0;
}
